"""Builders for the Beancount connector tests: connectors on tmp files, records, requests."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from beancount import loader

from ledgerlink.canonical.money import currency, quantize
from ledgerlink.canonical.records import Customer, Invoice, InvoiceLine, Record, TaxLine
from ledgerlink.connectors.base import ConnectorContext, WriteAction, WriteRequest
from ledgerlink.connectors.beancount.config import BeancountConfig
from ledgerlink.connectors.beancount.connector import BeancountConnector

TODAY = date(2026, 6, 1)
LineSpec = tuple[str, str, str, str]  # description, quantity, unit price, tax rate


def make_connector(
    folder: Path, filename: str = "books.beancount", today: date = TODAY, **settings: Any
) -> BeancountConnector:
    """A connector on ``folder/filename`` whose clock says ``today``."""
    config = BeancountConfig(type="beancount", path=filename, **settings)
    return BeancountConnector(config, ConnectorContext("books", folder), today=lambda: today)


def load_ok(path: Path) -> list[Any]:
    """The ledger's entries, asserting that Beancount loads it without a single error."""
    entries, errors, _ = loader._load([(str(path), True)], None, None, None)
    assert errors == [], [e.message for e in errors]
    return list(entries)


def make_invoice(
    lines: list[LineSpec] | None = None,
    code: str = "USD",
    *,
    number: str = "INV-0001",
    issued: date = date(2026, 3, 1),
    due: date | None = date(2026, 3, 31),
    skus: list[str] | None = None,
) -> Invoice:
    """A consistent invoice: amounts rounded to the currency, tax per line, a tax line per rate."""
    cur = currency(code)
    specs = lines if lines is not None else [("Consulting", "3", "100", "0.10")]
    built: list[InvoiceLine] = []
    taxable: dict[Decimal, Decimal] = defaultdict(Decimal)
    taxed: dict[Decimal, Decimal] = defaultdict(Decimal)
    for position, (description, quantity, price, rate) in enumerate(specs):
        qty, unit, tax_rate = Decimal(quantity), Decimal(price), Decimal(rate)
        amount = quantize(qty * unit, cur)
        tax = quantize(amount * tax_rate, cur)
        sku = skus[position] if skus else ""
        built.append(InvoiceLine(description, qty, unit, amount, sku, Decimal(0), tax_rate, tax))
        if tax_rate:
            taxable[tax_rate] += amount
            taxed[tax_rate] += tax
    tax_lines = tuple(
        TaxLine(rate, taxable[rate], taxed[rate], f"Tax {rate * 100:g}%") for rate in taxable
    )
    subtotal = sum((line.amount for line in built), Decimal(0))
    tax_total = sum((t.amount for t in tax_lines), Decimal(0))
    return Invoice(
        customer_key="crm-1",
        currency=code,
        issue_date=issued,
        lines=tuple(built),
        tax_lines=tax_lines,
        subtotal=subtotal,
        tax_total=tax_total,
        total=subtotal + tax_total,
        due_date=due,
        number=number,
    )


def request(
    stream: str,
    ledgerlink_id: str,
    record: Record,
    action: WriteAction = "create",
    *,
    target_id: str | None = None,
    customer: str | None = None,
    changed: tuple[str, ...] = (),
) -> WriteRequest:
    """A write request as the executor builds it."""
    return WriteRequest(
        action=action,
        stream=stream,
        ledgerlink_id=ledgerlink_id,
        idempotency_key=f"pipe|{ledgerlink_id}|1|{action}",
        record=record,
        target_id=target_id,
        references={"customer": customer} if customer else {},
        changed_fields=changed,
    )


def acme(**changes: Any) -> Customer:
    """A company customer with most fields filled in."""
    fields: dict[str, Any] = {
        "display_name": "Acme Ltd.",
        "email": "billing@acme.example",
        "phone": "+14155550100",
        "tax_id": "US-99-1234567",
        "currency": "USD",
        "payment_terms_days": 30,
        "credit_limit": Decimal("5000.00"),
    }
    fields.update(changes)
    return Customer(**fields)
