"""Configuration of a ``goldmine`` connection: where the data lives and what its fields mean."""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ledgerlink.canonical.money import MINOR_UNITS
from ledgerlink.connectors.registry import ConnectorConfig

#: A column name as GoldMine makes them (dBase allows 10 characters; SQL builds allow longer).
_COLUMN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,29}$")
#: CONTACT2 columns GoldMine itself owns; a user field must not be one of them.
CONTACT2_SYSTEM_COLUMNS = frozenset(
    (
        *("ACCOUNTNO", "CALLBACKON", "CALLBACKAT", "CALLBKFREQ", "LASTCONTON", "LASTCONTAT"),
        *("LASTATMPON", "LASTATMPAT", "MEETDATEON", "MEETTIMEAT", "COMMENTS", "PREVRESULT"),
        *("NEXTACTION", "ACTIONON", "CLOSEDATE", "RECID"),
    )
)
MAX_OVERLAP_SECONDS = 7 * 24 * 3600


def _column(value: str | None) -> str | None:
    if value is None:
        return None
    name = value.strip().upper()
    if not _COLUMN.match(name):
        raise ValueError(
            f"{value!r} is not a column name: use letters, digits and _ (for example UTAXID)"
        )
    if name in CONTACT2_SYSTEM_COLUMNS:
        raise ValueError(f"{name} is one of GoldMine's own CONTACT2 columns, not a user field")
    return name


class UserFields(BaseModel):
    """Which CONTACT2 user-defined fields hold what; ``null`` switches a field off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tax_id: str | None = Field(
        default="UTAXID", description="CONTACT2 field with the tax id (VAT, GSTIN, EIN...)."
    )
    credit_limit: str | None = Field(
        default="UCREDLIMIT",
        description="CONTACT2 field with the credit limit (a number, or text such as 5,000.00).",
    )
    payment_terms: str | None = Field(
        default="UTERMS",
        description="CONTACT2 field with payment terms in days: 30, 'Net 30', '30 days'.",
    )
    invoice_number: str | None = Field(
        default="UINVOICE",
        description="CONTACT2 field that write-back fills with the latest invoice number.",
    )
    paid_status: str | None = Field(
        default="UPAID", description="CONTACT2 field that write-back fills with the paid status."
    )
    balance: str | None = Field(
        default=None,
        description="CONTACT2 field that write-back fills with the open balance of the latest "
        "invoice (a numeric field, or text); left out: not written.",
    )
    paid_on: str | None = Field(
        default=None,
        description="CONTACT2 field that write-back fills with the date the latest invoice was "
        "paid (a date field, or text: YYYY-MM-DD); left out: not written.",
    )
    paid_text: str = Field(default="Paid", description="Text written for a paid invoice.")
    unpaid_text: str = Field(default="Unpaid", description="Text written for an unpaid invoice.")

    _names = field_validator(
        "tax_id",
        "credit_limit",
        "payment_terms",
        "invoice_number",
        "paid_status",
        "balance",
        "paid_on",
    )(_column)

    def read_columns(self) -> dict[str, str]:
        """Canonical meaning -> CONTACT2 column, for the fields the reader maps."""
        pairs = {
            "tax_id": self.tax_id,
            "credit_limit": self.credit_limit,
            "payment_terms": self.payment_terms,
        }
        return {meaning: column for meaning, column in pairs.items() if column}

    def all_columns(self) -> tuple[str, ...]:
        """Every configured CONTACT2 column, read and write-back, without repeats."""
        names = (
            self.tax_id,
            self.credit_limit,
            self.payment_terms,
            self.invoice_number,
            self.paid_status,
            self.balance,
            self.paid_on,
        )
        return tuple(dict.fromkeys(n for n in names if n))


OpportunityField = Literal["F1", "F2", "F3"]


class OpportunityFields(BaseModel):
    """Which OPMGR user fields (F1-F3) write-back fills for an opportunity's invoice."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    invoice_number: OpportunityField = Field(
        default="F1", description="OPMGR field for the invoice number of the opportunity."
    )
    paid_status: OpportunityField = Field(
        default="F2", description="OPMGR field for the paid status of that invoice."
    )
    balance: OpportunityField | None = Field(
        default=None, description="OPMGR field for the open balance of that invoice (text)."
    )
    paid_on: OpportunityField | None = Field(
        default=None,
        description="OPMGR field for the date that invoice was paid (text, YYYY-MM-DD).",
    )

    @model_validator(mode="after")
    def _distinct(self) -> OpportunityFields:
        used = [f for f in (self.invoice_number, self.paid_status, self.balance, self.paid_on) if f]
        if len(set(used)) != len(used):
            raise ValueError(
                "invoice_number, paid_status, balance and paid_on must be different OPMGR fields"
            )
        return self


class GoldMineConfig(ConnectorConfig):
    """GoldMine as a CRM: its SQL database (SQL Server in the field) or its dBase files."""

    type: Literal["goldmine"] = Field(description="Connection type: GoldMine.")
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the GoldMine database, for example "
        "mssql+pymssql://user@host/GoldMine (needs `pip install 'ledgerlink[mssql]'`); "
        "any SQLAlchemy URL with the same schema works (sqlite:///, postgresql://).",
    )
    password: SecretStr | None = Field(
        default=None,
        description="Database password, merged into `url` (write ${GM_PASSWORD}); never logged.",
    )
    dbf_path: Path | None = Field(
        default=None,
        description="Instead of `url`: the folder of an older GoldMine's dBase files "
        "(CONTACT1.DBF, CONTACT2.DBF, CONTSUPP.DBF, OPMGR.DBF); relative to the config file.",
    )
    dbf_encoding: str | None = Field(
        default=None,
        description="Code page of the dBase files, e.g. cp1252 or cp437; left out: the code page "
        "in each file's header, Windows-1252 when the header names none.",
    )
    gmbase_schema: str | None = Field(
        default=None,
        description="Schema of OPMGR and GMTLOG when GoldMine keeps them apart from the contact "
        "set (SQL Server: database.owner, e.g. GMBase.dbo); left out: the same database.",
    )
    currency: str | None = Field(
        default=None,
        description="ISO 4217 code of opportunity amounts (GoldMine stores none); required to "
        "read deals.",
    )
    timezone: str = Field(
        default="UTC",
        description="IANA time zone of GoldMine's LASTDATE/LASTTIME stamps (local time of the "
        "GoldMine users), e.g. Europe/London.",
    )
    overlap_seconds: int = Field(
        default=120,
        ge=0,
        le=MAX_OVERLAP_SECONDS,
        description="Each incremental read looks back this far before the last stamp seen, for "
        "workstations whose clocks run behind; unchanged records found again are skipped.",
    )
    user_fields: UserFields = Field(
        default_factory=UserFields,
        description="CONTACT2 user fields for tax id, credit limit, payment terms and write-back.",
    )
    opportunity_fields: OpportunityFields | None = Field(
        default=None,
        description="OPMGR fields write-back fills per opportunity; left out: only CONTACT2.",
    )
    won_stages: tuple[str, ...] = Field(
        default=("Won", "Closed Won"),
        description="OPMGR STATUS or STAGE values that mean won (case and punctuation ignored).",
    )
    lost_stages: tuple[str, ...] = Field(
        default=("Lost", "Closed Lost"),
        description="OPMGR STATUS or STAGE values that mean lost (case and punctuation ignored).",
    )
    default_region: str = Field(
        default="US", description="Country assumed for phone numbers written without +code."
    )
    write_user: str = Field(
        default="LEDGERLK",
        max_length=8,
        description="GoldMine user name stamped as LASTUSER on records write-back changes.",
    )

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if code not in MINOR_UNITS:
            raise ValueError(f"unknown currency {value!r}; use an ISO 4217 code such as USD")
        return code

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as UTC or Europe/Paris"
            ) from None
        return value

    @field_validator("dbf_encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(
                    f"unknown encoding {value!r}; use cp1252, cp437 or cp850"
                ) from None
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r}; use a two-letter country code")
        return region

    @field_validator("write_user")
    @classmethod
    def _user(cls, value: str) -> str:
        return value.strip().upper()

    @model_validator(mode="after")
    def _one_source(self) -> GoldMineConfig:
        if (self.url is None) == (self.dbf_path is None):
            raise ValueError("set exactly one of `url` (SQL database) or `dbf_path` (dBase files)")
        if self.password is not None and self.url is None:
            raise ValueError("`password` goes with `url`; dBase files have none")
        if self.dbf_encoding is not None and self.dbf_path is None:
            raise ValueError("`dbf_encoding` goes with `dbf_path`")
        if self.gmbase_schema is not None and self.url is None:
            raise ValueError("`gmbase_schema` goes with `url`; dBase files are all in one folder")
        return self

    def zone(self) -> ZoneInfo:
        """The time zone of GoldMine's stamps."""
        return ZoneInfo(self.timezone)
