"""Configuration of the ``outlook_csv`` and ``vcard`` connections."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from ledgerlink.connectors.csv.config import Encoding, OptionalCurrencyCode, Region
from ledgerlink.connectors.registry import ConnectorConfig


class OutlookCsvConfig(ConnectorConfig):
    """Outlook's contacts export (File → Export → Comma Separated Values), in any language."""

    type: Literal["outlook_csv"] = Field(description="Connection type: Outlook's CSV export.")
    path: Path = Field(description="The exported .csv file; relative to the config file.")
    encoding: Encoding = Field(
        default=None,
        description="Text encoding, e.g. cp1252; left out: detected (byte-order mark, else "
        "UTF-8, else Windows-1252, which desktop Outlook writes).",
    )
    default_region: Region = Field(
        default="US", description="Country assumed for phone numbers without a +country code."
    )
    currency: OptionalCurrencyCode = Field(
        default=None, description="ISO 4217 currency to give every customer; left out: none."
    )


class VcardConfig(ConnectorConfig):
    """vCard files (.vcf): one file with one or many cards, or a folder of them."""

    type: Literal["vcard"] = Field(description="Connection type: vCard 2.1, 3.0 or 4.0 files.")
    path: Path = Field(
        description="A .vcf file, or a folder whose .vcf files are all read; relative to the "
        "config file."
    )
    encoding: Encoding = Field(
        default=None,
        description="Text encoding; left out: detected (byte-order mark, else UTF-8, else "
        "Windows-1252).",
    )
    default_region: Region = Field(
        default="US", description="Country assumed for phone numbers without a +country code."
    )
    currency: OptionalCurrencyCode = Field(
        default=None, description="ISO 4217 currency to give every customer; left out: none."
    )
