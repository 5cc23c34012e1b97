"""The sample data bundled for `ledgerlink demo` is realistic and entirely valid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from ledgerlink.canonical.records import Change, Contact, Deal
from ledgerlink.connectors.base import ConnectorContext
from ledgerlink.connectors.csv.config import CsvConfig
from ledgerlink.connectors.csv.connector import CsvConnector
from ledgerlink.connectors.outlook.config import OutlookCsvConfig
from ledgerlink.connectors.outlook.connector import OutlookCsvConnector
from ledgerlink.mapping.defaults import InvoiceRules, contact_to_customer, deal_to_invoice

SAMPLES = Path(str(resources.files("ledgerlink.demo") / "samples"))


@pytest.fixture(scope="module")
def contacts() -> dict[str, tuple[Change, Contact]]:
    config = OutlookCsvConfig(type="outlook_csv", path=Path("outlook-contacts.csv"))
    conn = OutlookCsvConnector(config, ConnectorContext("crm", SAMPLES))
    found: dict[str, tuple[Change, Contact]] = {}
    for item in conn.read("contacts", None):
        assert isinstance(item, Change), item
        record = item.load()
        assert isinstance(record, Contact)
        found[item.key] = (item, record)
    return found


@pytest.fixture(scope="module")
def deals() -> dict[str, Deal]:
    config = CsvConfig(type="csv", deals=Path("deals.csv"), currency="USD")
    conn = CsvConnector(config, ConnectorContext("sales", SAMPLES))
    found: dict[str, Deal] = {}
    for item in conn.read("deals", None):
        assert isinstance(item, Change), item
        record = item.load()
        assert isinstance(record, Deal)
        found[item.key] = record
    return found


def test_the_outlook_sample_is_a_realistic_export(
    contacts: dict[str, tuple[Change, Contact]],
) -> None:
    raw = (SAMPLES / "outlook-contacts.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") > len(contacts) + 1  # a note spans several lines
    records = [record for _, record in contacts.values()]
    assert len(records) == 12
    assert {r.kind for r in records} == {"person", "company"}
    assert sum(len(r.emails) == 2 for r in records) >= 2
    assert any("\n" in r.notes for r in records)
    assert any(not (r.given_name or r.family_name) for r in records)
    assert all(r.addresses for r in records)
    for _, record in contacts.values():
        assert contact_to_customer(record).display_name


def test_every_deal_refers_to_a_sample_contact(
    contacts: dict[str, tuple[Change, Contact]], deals: dict[str, Deal]
) -> None:
    assert len(deals) == 12
    assert {d.contact_key for d in deals.values()} <= set(contacts)
    assert {d.status for d in deals.values()} == {"won", "open", "lost"}


def test_every_won_deal_becomes_a_valid_invoice(deals: dict[str, Deal]) -> None:
    won = [d for d in deals.values() if d.status == "won"]
    assert len(won) == 7
    for deal in won:
        invoice = deal_to_invoice(deal, InvoiceRules(), today=date(2024, 6, 1))
        assert invoice.subtotal == deal.amount
    fit_out = deals["D-1003"]
    assert len(fit_out.lines) == 3
    assert {line.tax_rate for line in fit_out.lines} == {Decimal("8.25"), Decimal(0)}
