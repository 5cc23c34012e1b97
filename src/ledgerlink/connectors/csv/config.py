"""Configuration of the ``csv`` connection: any CRM's CSV or XLSX export of contacts and deals."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Annotated, Literal

import phonenumbers
from pydantic import AfterValidator, Field, field_validator, model_validator

from ledgerlink.canonical.money import currency
from ledgerlink.connectors.csv.columns import CONTACT_COLUMNS, DEAL_COLUMNS
from ledgerlink.connectors.registry import ConnectorConfig
from ledgerlink.errors import RecordError

DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d")
DEFAULT_WON = ("won", "closed won", "closedwon")
DEFAULT_LOST = ("lost", "closed lost", "closedlost")


def check_encoding(value: str | None) -> str | None:
    """Reject an encoding name Python does not know."""
    if value is not None:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(
                f"unknown encoding {value!r}; use a Python codec name such as utf-8, "
                "utf-8-sig, cp1252 or latin-1, or leave it out to detect it"
            ) from None
    return value


def check_currency(value: str) -> str:
    """An ISO 4217 code, upper-cased."""
    try:
        return currency(value).code
    except RecordError:
        raise ValueError(f"unknown currency {value!r}; use an ISO 4217 code such as USD") from None


def check_optional_currency(value: str | None) -> str | None:
    """An ISO 4217 code, upper-cased, or nothing."""
    return None if value is None else check_currency(value)


def check_region(value: str) -> str:
    """A region code phone numbers understand (US, GB, DE, IN...)."""
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {value!r}; use a two-letter country code such as US")
    return region


Encoding = Annotated[str | None, AfterValidator(check_encoding)]
CurrencyCode = Annotated[str, AfterValidator(check_currency)]
OptionalCurrencyCode = Annotated[str | None, AfterValidator(check_optional_currency)]
Region = Annotated[str, AfterValidator(check_region)]


class CsvConfig(ConnectorConfig):
    """A CRM export as CSV or XLSX files: contacts, deals, or both."""

    type: Literal["csv"] = Field(description="Connection type: a CSV or XLSX export.")
    contacts: Path | None = Field(
        default=None,
        description="The contacts file (.csv, .txt or .xlsx); relative to the config file.",
    )
    deals: Path | None = Field(
        default=None,
        description="The deals file (.csv, .txt or .xlsx); one row per deal, or per deal line.",
    )
    encoding: Encoding = Field(
        default=None,
        description="Text encoding of CSV files, e.g. utf-8 or cp1252; "
        "left out: detected (byte-order mark, else UTF-8, else Windows-1252).",
    )
    delimiter: str | None = Field(
        default=None,
        description="Cell delimiter of CSV files; left out: detected among , ; TAB and |.",
        min_length=1,
        max_length=1,
    )
    decimal_separator: Literal[".", ","] = Field(
        default=".",
        description="Decimal separator of amounts when one is ambiguous (1,234 or 1.234).",
    )
    currency: CurrencyCode = Field(
        default="USD", description="ISO 4217 currency of deals that have no currency column."
    )
    default_region: Region = Field(
        default="US", description="Country assumed for phone numbers without a +country code."
    )
    date_formats: tuple[str, ...] = Field(
        default=DEFAULT_DATE_FORMATS,
        description="strptime formats tried, in order, for dates that are not ISO 8601.",
        min_length=1,
    )
    won_stages: tuple[str, ...] = Field(
        default=DEFAULT_WON, description="Deal stages that mean won (case-insensitive)."
    )
    lost_stages: tuple[str, ...] = Field(
        default=DEFAULT_LOST, description="Deal stages that mean lost (case-insensitive)."
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="ledgerlink column → header in the file, e.g. {email: 'Mail'}; prefix "
        "with contacts. or deals. to apply to one file only.",
    )
    sheet: str | None = Field(
        default=None, description="Worksheet of XLSX files; left out: the first sheet."
    )

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            prefix, _, column = name.rpartition(".")
            allowed = {"contacts": CONTACT_COLUMNS, "deals": DEAL_COLUMNS}.get(
                prefix, CONTACT_COLUMNS + DEAL_COLUMNS
            )
            if prefix not in ("", "contacts", "deals") or column not in allowed:
                names = ", ".join(sorted(set(allowed)))
                raise ValueError(f"unknown column {name!r} in `columns:`; known columns: {names}")
        return value

    @model_validator(mode="after")
    def _some_file(self) -> CsvConfig:
        if self.contacts is None and self.deals is None:
            raise ValueError("give `contacts:`, `deals:` or both: the files to read")
        return self
