"""Builders shared by the Tally tests and benchmark: configs, connectors, customers, invoices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from ledgerlink.canonical.records import Address, Customer, Invoice, InvoiceLine, Payment, TaxLine
from ledgerlink.connectors.base import ConnectorContext, WriteRequest
from ledgerlink.connectors.tally.config import TallyConfig
from ledgerlink.connectors.tally.connector import TallyConnector
from tests.emulators.tally.server import TallyEmulator

COMPANY = "Acme (2025-26)"
COMPANY_GSTIN = "27AAPFU0939F1ZV"  # Maharashtra
KARNATAKA_GSTIN = "29AAGCB7383J1Z4"
TODAY = date(2025, 6, 1)


def config(**overrides: Any) -> TallyConfig:
    """A config for the emulated company, over HTTP unless ``file`` is given."""
    values: dict[str, Any] = {"type": "tally", "company_gstin": COMPANY_GSTIN}
    if "file" not in overrides:
        values.update(url="http://tally.test:9000", company=COMPANY)
    values.update(overrides)
    return TallyConfig.model_validate(values)


def connector(
    emulator: TallyEmulator | None = None, base_dir: Path = Path("."), **overrides: Any
) -> TallyConnector:
    """A connector talking to ``emulator`` in process (or writing files when ``file`` is set)."""
    transport = emulator.transport() if emulator is not None else None
    return TallyConnector(
        config(**overrides),
        ConnectorContext("books", base_dir),
        transport=transport,
        today=lambda: TODAY,
    )


def customer(name: str, *, gstin: str = "", state: str = "", country: str = "India") -> Customer:
    """A company customer with an address in ``state``."""
    return Customer(
        display_name=name,
        email=f"accounts@{name.split(maxsplit=1)[0].lower()}.example",
        phone="+91 22 5550 0100",
        tax_id=gstin,
        billing_address=Address(
            street="1 MG Road", city="Pune", region=state, postal_code="411001", country=country
        ),
    )


def invoice(
    amounts: Sequence[Decimal | str],
    rate: Decimal | str = "18",
    *,
    number: str = "",
    skus: list[str] | None = None,
    quantities: list[int] | None = None,
    issued: date = date(2025, 4, 15),
) -> Invoice:
    """An invoice with one line per amount and GST at ``rate`` on the document total."""
    tax_rate = Decimal(rate)
    lines = []
    for index, amount in enumerate(amounts):
        value = Decimal(amount)
        quantity = Decimal(quantities[index]) if quantities else Decimal(1)
        lines.append(
            InvoiceLine(
                description=f"Line {index + 1}",
                quantity=quantity,
                unit_price=value / quantity,
                amount=value,
                sku=skus[index] if skus else "",
                tax_rate=tax_rate,
            )
        )
    subtotal = sum((line.amount for line in lines), Decimal(0))
    tax = (subtotal * tax_rate / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    tax_lines = (TaxLine(tax_rate, subtotal, tax),) if tax_rate else ()
    return Invoice(
        customer_key="crm-1",
        currency="INR",
        issue_date=issued,
        lines=tuple(lines),
        tax_lines=tax_lines,
        subtotal=subtotal,
        tax_total=tax if tax_rate else Decimal(0),
        total=subtotal + (tax if tax_rate else Decimal(0)),
        due_date=date(2025, 5, 15),
        number=number,
        memo="Steel rods",
    )


def ll_id(number: int) -> str:
    """A ledgerlink id in its real shape."""
    return f"ll-{number:016x}"


def create_customer(number: int, record: Customer) -> WriteRequest:
    """A create request for a customer."""
    return WriteRequest("create", "customers", ll_id(number), f"{ll_id(number)}:create", record)


def create_invoice(number: int, record: Invoice, party: str) -> WriteRequest:
    """A create request for an invoice billed to the party ledger ``party``."""
    return WriteRequest(
        "create",
        "invoices",
        ll_id(number),
        f"{ll_id(number)}:create",
        record,
        references={"customer": party},
    )


def create_payment(
    number: int, bill: str, amount: str, party: str, paid_on: date = date(2025, 5, 2)
) -> WriteRequest:
    """A create request for a payment of ``amount`` against the bill ``bill`` of ``party``."""
    payment = Payment(bill, Decimal(amount), "INR", paid_on, reference=f"UTR-{number}")
    return WriteRequest(
        "create",
        "payments",
        ll_id(number),
        f"{ll_id(number)}:create",
        payment,
        references={"customer": party},
    )
