"""Configuration of a Tally connection: server or file, company, GST ledgers, voucher types."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from ledgerlink.canonical.money import MINOR_UNITS
from ledgerlink.canonical.records import TaxMode
from ledgerlink.connectors.registry import ConnectorConfig
from ledgerlink.connectors.tally.gst import normalise_gstin, state_code, state_name
from ledgerlink.errors import RecordError

# Measured with bench/tally.py (10,000 invoices into the emulator over HTTP): 250 vouchers per
# envelope was the fastest, clean and with 1 bad voucher in 100 (which fails alone at every
# size); 500 was no faster. See docs/connectors/tally.md, Performance.
DEFAULT_BATCH_SIZE = 250


class TallyConfig(ConnectorConfig):
    """TallyPrime or Tally.ERP 9 as the books: over HTTP (Tally as a server) or import files."""

    type: Literal["tally"] = Field(description="Connection type: TallyPrime / Tally.ERP 9.")
    url: str | None = Field(
        default=None,
        description="Tally's XML server, e.g. http://127.0.0.1:9000 (in Tally: F1 Help > "
        "Settings > Connectivity, 'TallyPrime acts as' Server). Give either `url` or `file`.",
    )
    company: str | None = Field(
        default=None,
        description="Name of the company as Tally shows it, e.g. 'Acme (2025-26)'; it must be "
        "loaded in Tally. Required with `url`.",
    )
    file: str | None = Field(
        default=None,
        description="Instead of a server: a path such as tally/ledgerlink.xml. ledgerlink writes "
        "<name>-masters.xml and <name>-vouchers.xml next to it for an accountant to import "
        "(Import > Masters, then Import > Transactions), plus a manifest so that re-runs write "
        "only new or changed objects.",
    )
    company_gstin: str | None = Field(
        default=None,
        description="The company's own GSTIN; its first two digits are the company's state, "
        "which decides CGST+SGST (same state) against IGST (other state).",
    )
    company_state: str | None = Field(
        default=None,
        description="The company's state (name, abbreviation or GST code) when it has no GSTIN.",
    )
    currency: str = Field(default="INR", description="The company's base currency (ISO 4217).")
    party_group: str = Field(
        default="Sundry Debtors", description="Group that customers' party ledgers are under."
    )
    sales_ledger: str = Field(default="Sales", description="Sales ledger credited by invoices.")
    cgst_ledger: str = Field(
        default="Output CGST",
        description="CGST duty ledger; may contain {rate}, e.g. 'Output CGST @{rate}%' "
        "(the CGST rate: half the GST rate).",
    )
    sgst_ledger: str = Field(
        default="Output SGST", description="SGST/UTGST duty ledger; may contain {rate}."
    )
    igst_ledger: str = Field(
        default="Output IGST", description="IGST duty ledger; may contain {rate}."
    )
    round_off_ledger: str = Field(
        default="Round Off", description="Ledger that takes the difference when `round_to` is set."
    )
    receipt_ledger: str = Field(
        default="Cash", description="Cash or bank ledger debited by receipts ledgerlink writes."
    )
    sales_voucher_type: str = Field(default="Sales", description="Voucher type of invoices.")
    receipt_voucher_type: str = Field(default="Receipt", description="Voucher type of payments.")
    credit_note_voucher_type: str = Field(
        default="Credit Note", description="Voucher type that reverses a voided invoice."
    )
    round_to: Decimal | None = Field(
        default=None,
        description="Round every voucher total to this amount (1 = to the rupee, half-up) "
        "and post the difference to `round_off_ledger`. Unset: no round-off line.",
    )
    stock_items: bool = Field(
        default=True,
        description="Write invoices whose lines all have a SKU in Tally's invoice view with "
        "stock items (created when missing); otherwise in the accounting-voucher view.",
    )
    stock_unit: str = Field(default="Nos", description="Unit of stock items ledgerlink creates.")
    tax_mode: TaxMode = Field(
        default="document",
        description="'document': GST per rate on the invoice's total (Tally's duty ledgers "
        "compute so); 'line': per line, then summed.",
    )
    batch_size: int = Field(
        default=DEFAULT_BATCH_SIZE,
        ge=1,
        le=1000,
        description="Vouchers (or ledgers) per import envelope.",
    )
    encoding: Literal["utf-8", "utf-16"] = Field(
        default="utf-8",
        description="Encoding of requests; use utf-16 for names in Indian scripts on "
        "Tally.ERP 9. Responses are read in whichever encoding Tally answers.",
    )
    connect_timeout_seconds: float = Field(
        default=5.0, gt=0, le=300, description="Seconds to wait for Tally to accept a connection."
    )
    timeout_seconds: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description="Seconds to wait for Tally's answer (a large import can take a while).",
    )

    @field_validator("currency")
    @classmethod
    def _valid_currency(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in MINOR_UNITS:
            raise ValueError(f"{value!r} is not an ISO 4217 currency code such as INR")
        return code

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http URL such as http://127.0.0.1:9000")
        return value.strip().rstrip("/")

    @field_validator("company_gstin")
    @classmethod
    def _valid_gstin(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return normalise_gstin(value)
        except RecordError as exc:
            raise ValueError(exc.message) from None

    @field_validator("company_state")
    @classmethod
    def _valid_state(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        code = state_code(value)
        if code is None:
            raise ValueError(
                f"{value!r} is not an Indian state or union territory; write its name "
                "(e.g. Maharashtra) or its GST code (e.g. 27)"
            )
        return state_name(code)

    @field_validator("round_to")
    @classmethod
    def _valid_round_to(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value <= 0:
            raise ValueError("round_to must be positive, e.g. 1 to round totals to the rupee")
        return value

    @model_validator(mode="after")
    def _one_destination(self) -> TallyConfig:
        if (self.url is None) == (self.file is None):
            raise ValueError(
                "give either `url` (Tally running as a server) or `file` (an import file), "
                "not both and not neither"
            )
        if self.url is not None and not (self.company or "").strip():
            raise ValueError("`company` is required with `url`: the company's name in Tally")
        if self.company_gstin is None and self.company_state is None:
            raise ValueError(
                "give `company_gstin` (or `company_state` for an unregistered business): "
                "GST on an invoice depends on whether the customer is in the company's state"
            )
        if self.company_gstin and self.company_state:
            from_gstin = state_name(self.company_gstin[:2])
            if from_gstin != self.company_state:
                raise ValueError(
                    f"company_state {self.company_state!r} disagrees with company_gstin, "
                    f"which is registered in {from_gstin}; remove company_state"
                )
        return self

    @property
    def state_code(self) -> str:
        """The company's GST state code."""
        if self.company_gstin:
            return self.company_gstin[:2]
        code = state_code(self.company_state or "")
        assert code is not None  # validated above
        return code
