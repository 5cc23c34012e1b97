"""Builders for the QuickBooks connector tests and benchmark: a token store, connectors, records."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from ledgerlink.canonical.records import Address, Customer, Invoice, InvoiceLine, TaxLine
from ledgerlink.connectors.base import ConnectorContext, WriteAction, WriteRequest
from ledgerlink.connectors.quickbooks.config import QuickBooksOnlineConfig
from ledgerlink.connectors.quickbooks.connector import QuickBooksOnlineConnector
from tests.emulators.qbo.api import QboEmulator
from tests.emulators.qbo.clock import ManualClock
from tests.emulators.qbo.server import MOCK_BASE_URL, MOCK_TOKEN_URL, mock_transport


class MemoryTokenStore:
    """A ``TokenStore`` in a dict; every save is also written to ``journal`` (shared with the
    emulator's, so a test can tell what happened first)."""

    def __init__(self, journal: list[str] | None = None) -> None:
        self.saved: dict[str, dict[str, str]] = {}
        self.journal = journal if journal is not None else []
        self.saves = 0
        self._lock = threading.Lock()

    def load(self, connection: str) -> dict[str, str] | None:
        """The stored token set, as a copy."""
        with self._lock:
            found = self.saved.get(connection)
            return dict(found) if found else None

    def save(self, connection: str, tokens: dict[str, str]) -> None:
        """Replace the stored token set and note it in the journal."""
        with self._lock:
            self.saved[connection] = dict(tokens)
            self.saves += 1
            self.journal.append("store:save")


def make_connector(
    emulator: QboEmulator,
    *,
    clock: ManualClock | None = None,
    store: MemoryTokenStore | None = None,
    refresh_token: str | None = None,
    transport: httpx.BaseTransport | None = None,
    base_url: str = MOCK_BASE_URL,
    token_url: str = MOCK_TOKEN_URL,
    **settings: Any,
) -> QuickBooksOnlineConnector:
    """A connector authorised for the emulator's company, sharing its clock when it is manual.

    It talks to the emulator in-process unless ``base_url`` points elsewhere (a real server).
    """
    if clock is None and isinstance(emulator.clock, ManualClock):
        clock = emulator.clock
    token = refresh_token or emulator.authorise().refresh_token
    config = QuickBooksOnlineConfig(
        type="quickbooks_online",
        realm_id=emulator.realm_id,
        client_id=emulator.client_id,
        client_secret=emulator.client_secret,
        refresh_token=token,
        base_url=base_url,
        token_url=token_url,
        **settings,
    )
    context = ConnectorContext("books", Path(), tokens=store)
    if transport is None and base_url == MOCK_BASE_URL:
        transport = mock_transport(emulator)
    if clock is None:
        return QuickBooksOnlineConnector(config, context, transport=transport)
    return QuickBooksOnlineConnector(
        config,
        context,
        transport=transport,
        clock=clock.epoch,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )


def customer(name: str, email: str = "", **fields: Any) -> Customer:
    """A canonical customer."""
    address = fields.pop("address", None)
    return Customer(
        display_name=name,
        email=email,
        billing_address=Address(street=address) if address else None,
        **fields,
    )


def invoice(
    customer_key: str = "c1",
    lines: list[tuple[str, str, str]] | None = None,
    *,
    number: str = "",
    sku: str = "",
    tax: str = "0",
    currency: str = "USD",
    status: str = "issued",
) -> Invoice:
    """A consistent canonical invoice from (description, quantity, unit price) lines."""
    built: list[InvoiceLine] = []
    for description, quantity, price in lines or [("Consulting", "3", "100.00")]:
        qty, unit = Decimal(quantity), Decimal(price)
        built.append(
            InvoiceLine(description, qty, unit, (qty * unit).quantize(Decimal("0.01")), sku)
        )
    subtotal = sum((line.amount for line in built), Decimal(0))
    tax_total = Decimal(tax)
    tax_lines = (TaxLine(Decimal("0.1"), subtotal, tax_total),) if tax_total else ()
    return Invoice(
        customer_key=customer_key,
        currency=currency,
        issue_date=date(2026, 1, 10),
        lines=tuple(built),
        tax_lines=tax_lines,
        subtotal=subtotal,
        tax_total=tax_total,
        total=subtotal + tax_total,
        due_date=date(2026, 2, 9),
        number=number,
        status=status,  # type: ignore[arg-type]
    )


def request(
    record: Customer | Invoice,
    key: str,
    action: WriteAction = "create",
    *,
    target_id: str | None = None,
    customer_id: str | None = None,
    changed: tuple[str, ...] = (),
    version: str = "v1",
) -> WriteRequest:
    """A write request as the executor builds it (idempotency key from key, version, action)."""
    stream = "customers" if isinstance(record, Customer) else "invoices"
    return WriteRequest(
        action=action,
        stream=stream,
        ledgerlink_id=f"ll-{key}",
        idempotency_key=f"pipe:{stream}:{key}:{version}:{action}",
        record=record,
        target_id=target_id,
        references={"customer": customer_id} if customer_id else {},
        changed_fields=changed,
    )
