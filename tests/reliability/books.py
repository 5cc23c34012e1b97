"""Read a Beancount ledger the way an auditor would, and list how it differs from the CRM."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from beancount import loader
from beancount.core import data

from tests.reliability.crm import ExpectedCustomer, ExpectedInvoice

RECEIVABLE = "Assets:Receivable:"


@dataclass(frozen=True, slots=True, order=True)
class BookCustomer:
    account: str
    ledgerlink_id: str
    email: str
    name: str


@dataclass(frozen=True, slots=True, order=True)
class BookInvoice:
    ledgerlink_id: str
    account: str
    total: Decimal
    currency: str


@dataclass(slots=True)
class Books:
    """Every customer account and invoice of a ledger, with Beancount's own load errors."""

    errors: list[str] = field(default_factory=list)
    customers: list[BookCustomer] = field(default_factory=list)
    invoices: list[BookInvoice] = field(default_factory=list)

    def customer_ids(self) -> dict[str, BookCustomer]:
        return {c.ledgerlink_id: c for c in self.customers if c.ledgerlink_id}

    def invoice_ids(self) -> dict[str, BookInvoice]:
        return {i.ledgerlink_id: i for i in self.invoices if i.ledgerlink_id}


def _meta(entry: Any, key: str) -> str:
    value = (entry.meta or {}).get(key)
    return "" if value is None else str(value)


def read_books(path: Path) -> Books:
    """Load ``path`` with Beancount's loader (a missing file is an empty ledger)."""
    books = Books()
    if not path.exists():
        return books
    entries, errors, _ = loader.load_file(str(path))
    books.errors = [f"{_meta(e.source, 'lineno')}: {e.message}" for e in errors]
    for entry in entries:
        if isinstance(entry, data.Open) and entry.account.startswith(RECEIVABLE):
            books.customers.append(
                BookCustomer(
                    entry.account,
                    _meta(entry, "ledgerlink"),
                    _meta(entry, "email").lower(),
                    _meta(entry, "name"),
                )
            )
        elif isinstance(entry, data.Transaction) and _meta(entry, "ledgerlink"):
            charged = [p for p in entry.postings if p.account.startswith(RECEIVABLE)]
            if len(charged) != 1 or charged[0].units is None:
                books.errors.append(f"invoice {_meta(entry, 'ledgerlink')} charges {charged}")
                continue
            units = charged[0].units
            books.invoices.append(
                BookInvoice(
                    _meta(entry, "ledgerlink"),
                    charged[0].account,
                    Decimal(str(units.number)),
                    str(units.currency),
                )
            )
    return books


def duplicates(books: Books) -> list[str]:
    """Customers or invoices present twice: by ledgerlink id, by e-mail (the natural key)."""
    found: list[str] = []
    for what, counts in (
        ("customer id", Counter(c.ledgerlink_id for c in books.customers if c.ledgerlink_id)),
        ("customer e-mail", Counter(c.email for c in books.customers if c.email)),
        ("invoice id", Counter(i.ledgerlink_id for i in books.invoices)),
    ):
        found.extend(f"duplicate {what} {key} x{n}" for key, n in counts.items() if n > 1)
    return found


def differences(
    books: Books,
    customers: Mapping[str, ExpectedCustomer],
    invoices: Mapping[str, ExpectedInvoice],
    *,
    exact: bool,
) -> list[str]:
    """Everything that keeps the books from being the image of the CRM; empty when they are.

    ``exact``: nothing stamped by ledgerlink beyond what is expected (nothing left the CRM).
    """
    problems = [f"ledger error {e}" for e in books.errors] + duplicates(books)
    have = books.customer_ids()
    for lid, want in customers.items():
        got = have.get(lid)
        if got is None:
            problems.append(f"lost customer {want.key} ({lid})")
            continue
        if got.email != want.email:
            problems.append(f"customer {want.key}: e-mail {got.email!r}, CRM {want.email!r}")
        if got.name != want.name:
            problems.append(f"customer {want.key}: name {got.name!r}, CRM {want.name!r}")
    have_invoices = books.invoice_ids()
    for lid, invoice in invoices.items():
        got_invoice = have_invoices.get(lid)
        if got_invoice is None:
            problems.append(f"lost invoice {invoice.key} ({lid})")
            continue
        customer = have.get(invoice.customer)
        if customer is None or got_invoice.account != customer.account:
            problems.append(f"invoice {invoice.key} charges {got_invoice.account}")
        if (got_invoice.total, got_invoice.currency) != (invoice.total, invoice.currency):
            problems.append(
                f"invoice {invoice.key}: {got_invoice.total} {got_invoice.currency}, "
                f"CRM {invoice.total} {invoice.currency}"
            )
    if exact:
        problems.extend(f"unexpected customer {lid}" for lid in have.keys() - customers.keys())
        problems.extend(
            f"unexpected invoice {lid}" for lid in have_invoices.keys() - invoices.keys()
        )
    return problems
