"""The canonical records every connector speaks: contacts, deals, customers, invoices, payments.

Records are frozen data; they know nothing about any vendor, file or database. Money is ``Decimal``
with an ISO 4217 code; dates are ``datetime.date``; timestamps are timezone-aware.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from ledgerlink.errors import RecordError

PartyKind = Literal["person", "company"]
DealStatus = Literal["open", "won", "lost"]
InvoiceStatus = Literal["draft", "issued", "paid", "void"]
TaxMode = Literal["line", "document"]


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address; every part optional because CRMs hold partial ones."""

    kind: str = "billing"
    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""

    def is_empty(self) -> bool:
        """True when no part is filled in."""
        return not (self.street or self.city or self.region or self.postal_code or self.country)


@dataclass(frozen=True, slots=True)
class Contact:
    """A person or a company as a CRM holds it."""

    kind: PartyKind = "person"
    display_name: str = ""
    given_name: str = ""
    family_name: str = ""
    company: str = ""
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    addresses: tuple[Address, ...] = ()
    tax_id: str = ""
    currency: str = ""
    payment_terms_days: int | None = None
    credit_limit: Decimal | None = None
    notes: str = ""
    updated_at: datetime | None = None

    @property
    def email(self) -> str:
        """The primary e-mail address, or an empty string."""
        return self.emails[0] if self.emails else ""


@dataclass(frozen=True, slots=True)
class Item:
    """Something sold: a product or a service."""

    sku: str
    name: str = ""
    unit_price: Decimal | None = None
    tax_rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class DealLine:
    """One line of a deal: what, how many, at what price."""

    description: str
    quantity: Decimal = Decimal(1)
    unit_price: Decimal = Decimal(0)
    sku: str = ""
    discount_percent: Decimal = Decimal(0)
    tax_rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Deal:
    """A CRM opportunity; a won one becomes an invoice."""

    title: str
    contact_key: str
    amount: Decimal
    currency: str
    stage: str = ""
    status: DealStatus = "open"
    close_date: date | None = None
    lines: tuple[DealLine, ...] = ()
    tax_rate: Decimal | None = None
    number: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer in the books: who invoices are addressed to."""

    display_name: str
    kind: PartyKind = "company"
    given_name: str = ""
    family_name: str = ""
    company: str = ""
    email: str = ""
    other_emails: tuple[str, ...] = ()
    phone: str = ""
    billing_address: Address | None = None
    tax_id: str = ""
    currency: str = ""
    payment_terms_days: int | None = None
    credit_limit: Decimal | None = None
    notes: str = ""
    active: bool = True


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One invoice line; ``amount`` is net of discount and before tax, rounded to the currency."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    sku: str = ""
    discount_percent: Decimal = Decimal(0)
    tax_rate: Decimal = Decimal(0)
    tax_amount: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class TaxLine:
    """Tax at one rate across the document."""

    rate: Decimal
    taxable: Decimal
    amount: Decimal
    name: str = ""


@dataclass(frozen=True, slots=True)
class Invoice:
    """A sales invoice; lines, tax lines and totals agree to the minor unit."""

    customer_key: str
    currency: str
    issue_date: date
    lines: tuple[InvoiceLine, ...]
    tax_lines: tuple[TaxLine, ...]
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal
    due_date: date | None = None
    number: str = ""
    status: InvoiceStatus = "issued"
    memo: str = ""
    tax_mode: TaxMode = "line"
    balance: Decimal | None = None
    paid_on: date | None = None


@dataclass(frozen=True, slots=True)
class Payment:
    """Money received against an invoice, as the books report it."""

    invoice_ref: str
    amount: Decimal
    currency: str
    paid_on: date
    reference: str = ""
    customer_ref: str = ""


Record = Contact | Deal | Customer | Invoice | Payment | Item


@dataclass(frozen=True, slots=True)
class Change:
    """One record read from a source, built only when the engine needs it.

    ``key`` identifies the record in its source; ``version`` changes whenever the source record
    does (a digest of the raw row, a modification stamp, a SyncToken), so an unchanged record is
    recognised without building or validating it. ``load`` builds the canonical record and raises
    ``RecordError`` for bad input; ``raw`` is what the source held, kept for the dead-letter queue.
    ``updated_at`` is when the system last modified the record, where it says (two-way pipes use
    it for the ``newest-wins`` policy). A deletion has ``deleted`` set; when the CRM merged the
    record into another (a duplicate removed by a merge), ``merged_into`` names the survivor.
    ``aliases`` are other keys the source may later name the record by (GoldMine's deletion log
    names a contact by its row id, not by its account number): a deletion under an alias is
    matched to the record it stands for.
    """

    key: str
    version: str
    load: Callable[[], Record]
    location: str = ""
    raw: Mapping[str, str] = field(default_factory=dict)
    deleted: bool = False
    updated_at: datetime | None = None
    merged_into: str | None = None
    aliases: tuple[str, ...] = ()

    @classmethod
    def of(cls, key: str, record: Record, *, version: str = "", location: str = "") -> Change:
        """A change around a record that is already built."""
        return cls(key=key, version=version or repr(record), load=lambda: record, location=location)


@dataclass(frozen=True, slots=True)
class ReadFailure:
    """A source row that could not become a record; it is dead-lettered with its raw content."""

    key: str
    location: str
    error: RecordError
    raw: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TargetRecord:
    """A record that already exists in the target system, as read for matching."""

    target_id: str
    record: Record
    ledgerlink_id: str = ""
