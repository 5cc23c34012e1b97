"""A small CRM as CSV exports, and what the books must hold for it (the reliability oracle)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from ledgerlink.planning.plan import ledgerlink_id

CONTACT_HEADER = ("id", "display_name", "email", "phone", "city", "country")
DEAL_HEADER = ("id", "title", "contact", "amount", "currency", "stage", "close_date", "tax_rate")
WON = frozenset({"Won", "Closed Won"})
CENT = Decimal("0.01")


def config_text(batch_size: int, books: str = "books.beancount") -> str:
    """A CSV → Beancount configuration whose ledger takes ``batch_size`` records per write."""
    return f"""\
version: 1
state: sqlite:///ledgerlink.db
connections:
  crm: {{type: csv, contacts: contacts.csv, deals: deals.csv}}
  books: {{type: beancount, path: {books}, batch_size: {batch_size}}}
pipes:
  - name: customers
    from: crm.contacts
    to: books.customers
  - name: invoices
    from: crm.deals
    to: books.invoices
"""


@dataclass(frozen=True, slots=True)
class Contact:
    """One contacts.csv row; ``valid`` says whether ledgerlink should accept it."""

    id: str
    name: str
    email: str
    phone: str = ""
    city: str = ""
    country: str = ""

    @property
    def valid(self) -> bool:
        """An e-mail ledgerlink accepts (the tests' bad rows use ``not-an-email``)."""
        return "@" in self.email

    def cells(self) -> tuple[str, ...]:
        return (self.id, self.name, self.email, self.phone, self.city, self.country)


@dataclass(frozen=True, slots=True)
class Deal:
    """One deals.csv row (one line, net amount, tax on top)."""

    id: str
    title: str
    contact: str
    amount: str
    stage: str = "Won"
    close_date: str = "2026-10-01"
    tax_rate: str = ""
    currency: str = "USD"

    @property
    def won(self) -> bool:
        return self.stage in WON

    @property
    def valid(self) -> bool:
        """A positive amount with at most two decimals (the tests' bad rows are negative)."""
        amount = Decimal(self.amount)
        return amount > 0 and amount == amount.quantize(CENT)

    @property
    def total(self) -> Decimal:
        """Net plus tax, the tax rounded half-up to the cent (the ledger's default rounding)."""
        net = Decimal(self.amount)
        rate = Decimal(self.tax_rate or "0") / 100
        return net + (net * rate).quantize(CENT, rounding=ROUND_HALF_UP)

    def cells(self) -> tuple[str, ...]:
        return (
            self.id,
            self.title,
            self.contact,
            self.amount,
            self.currency,
            self.stage,
            self.close_date,
            self.tax_rate,
        )


@dataclass(frozen=True, slots=True)
class ExpectedCustomer:
    key: str
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class ExpectedInvoice:
    key: str
    customer: str  # the ledgerlink id of its customer
    total: Decimal
    currency: str


@dataclass(slots=True)
class Crm:
    """Contacts and deals, in file order; ``write`` exports them as the CSV connector reads."""

    contacts: dict[str, Contact] = field(default_factory=dict)
    deals: dict[str, Deal] = field(default_factory=dict)

    def copy(self) -> Crm:
        return Crm(dict(self.contacts), dict(self.deals))

    def put_contact(self, contact: Contact) -> None:
        self.contacts[contact.id] = contact

    def put_deal(self, deal: Deal) -> None:
        self.deals[deal.id] = deal

    def edit_contact(self, key: str, **changes: str) -> None:
        self.contacts[key] = replace(self.contacts[key], **changes)

    def edit_deal(self, key: str, **changes: str) -> None:
        self.deals[key] = replace(self.deals[key], **changes)

    def write(self, folder: Path) -> None:
        """Write contacts.csv and deals.csv into ``folder``."""
        (folder / "contacts.csv").write_text(
            _csv(CONTACT_HEADER, [c.cells() for c in self.contacts.values()]), encoding="utf-8"
        )
        (folder / "deals.csv").write_text(
            _csv(DEAL_HEADER, [d.cells() for d in self.deals.values()]), encoding="utf-8"
        )

    # -- the oracle -------------------------------------------------------------------------

    def expected_customers(self) -> dict[str, ExpectedCustomer]:
        """ledgerlink id → the customer every valid contact must be in the books as."""
        return {
            ledgerlink_id("customers", c.id): ExpectedCustomer(c.id, c.email.lower(), c.name)
            for c in self.contacts.values()
            if c.valid
        }

    def expected_invoices(self) -> dict[str, ExpectedInvoice]:
        """ledgerlink id → the invoice every valid won deal of a valid contact must be."""
        found: dict[str, ExpectedInvoice] = {}
        for deal in self.deals.values():
            contact = self.contacts.get(deal.contact)
            if not (deal.won and deal.valid and contact is not None and contact.valid):
                continue
            found[ledgerlink_id("invoices", deal.id)] = ExpectedInvoice(
                deal.id, ledgerlink_id("customers", contact.id), deal.total, deal.currency
            )
        return found

    def invalid_keys(self) -> dict[str, set[str]]:
        """Per pipe, the records that must be dead-lettered (not the open deals: filtered)."""
        bad_contacts = {c.id for c in self.contacts.values() if not c.valid}
        bad_deals = {
            d.id
            for d in self.deals.values()
            if d.won
            and (not d.valid or d.contact in bad_contacts or d.contact not in self.contacts)
        }
        return {"customers": bad_contacts, "invoices": bad_deals}


def _csv(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def sample_crm(contacts: int, deals: int) -> Crm:
    """A deterministic CRM: every fifth deal still open, every other one taxed at 20 %."""
    crm = Crm()
    for i in range(1, contacts + 1):
        crm.put_contact(
            Contact(
                f"C{i:03d}",
                f"Customer {i:03d} Ltd",
                f"c{i:03d}@example.com",
                f"+1 415 555 {i:04d}",
                "Austin",
                "US",
            )
        )
    for i in range(1, deals + 1):
        crm.put_deal(
            Deal(
                f"D{i:03d}",
                f"Deal {i}",
                f"C{(i - 1) % contacts + 1:03d}",
                f"{i * 100}.{i % 100:02d}",
                "Won" if i % 5 else "Negotiation",
                f"2026-10-{i % 28 + 1:02d}",
                "20" if i % 2 else "",
            )
        )
    return crm
