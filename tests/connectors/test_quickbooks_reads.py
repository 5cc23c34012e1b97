"""QuickBooks reads against the emulator: paging, CDC and its fallbacks, payments, exact amounts,
invoices' balance and paid date, and when each record last changed."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ledgerlink.canonical.records import Change, Customer, Invoice, Payment, ReadFailure
from ledgerlink.connectors.quickbooks.connector import QuickBooksOnlineConnector
from tests.emulators.qbo import ManualClock, QboEmulator, sales
from tests.emulators.qbo.harness import customer, invoice, make_connector, request


@pytest.fixture
def emulator() -> QboEmulator:
    return QboEmulator(clock=ManualClock())


def clock_of(emulator: QboEmulator) -> ManualClock:
    assert isinstance(emulator.clock, ManualClock)
    return emulator.clock


def changes(items: list[Change | ReadFailure]) -> list[Change]:
    assert all(isinstance(i, Change) for i in items)
    return [i for i in items if isinstance(i, Change)]


def seed_customers(emulator: QboEmulator, count: int, prefix: str = "C") -> list[str]:
    return [emulator.seed("Customer", {"DisplayName": f"{prefix}{i}"})["Id"] for i in range(count)]


def test_a_first_read_pages_through_everything_inactive_customers_included(
    emulator: QboEmulator,
) -> None:
    ids = seed_customers(emulator, 25)
    for identifier in ids[:3]:
        emulator.change("Customer", identifier, {"Active": False})
    books = make_connector(emulator, page_size=10)
    read = books.read("customers", None)
    found = changes(list(read))
    assert len(found) == 25
    assert emulator.stats.calls["query"] == 3
    inactive = [c.key for c in found if not isinstance(c.load(), Customer) or not c.load().active]  # type: ignore[union-attr]
    assert sorted(inactive) == sorted(ids[:3])
    assert read.cursor() == "2026-01-15T09:55:00-08:00"  # server time less the 5-minute look-back


def test_paging_stops_on_a_short_or_empty_page(emulator: QboEmulator) -> None:
    seed_customers(emulator, 20)
    books = make_connector(emulator, page_size=10)
    assert len(list(books.read("customers", None))) == 20
    assert emulator.stats.calls["query"] == 3  # 10, 10, then an empty page ends it


def test_the_page_cap_stops_a_read_without_moving_its_cursor(
    emulator: QboEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    seed_customers(emulator, 30)
    books = make_connector(emulator, page_size=10, max_pages=2)
    caplog.set_level(logging.WARNING)
    read = books.read("customers", None)
    assert len(list(read)) == 20
    assert read.cursor() is None  # nothing is skipped: the next read starts over
    assert "max_pages" in caplog.text


def test_a_later_read_asks_cdc_for_just_the_changes(emulator: QboEmulator) -> None:
    ids = seed_customers(emulator, 5)
    clock_of(emulator).advance(600)  # older than the read's 5-minute look-back
    books = make_connector(emulator)
    first = books.read("customers", None)
    list(first)
    clock_of(emulator).advance(3600)
    emulator.change("Customer", ids[2], {"CompanyName": "Renamed"})
    emulator.seed("Customer", {"DisplayName": "Newcomer"})
    queries = emulator.stats.calls["query"]
    second = books.read("customers", first.cursor())
    found = changes(list(second))
    assert {c.load().display_name for c in found} == {"C2", "Newcomer"}  # type: ignore[union-attr]
    assert emulator.stats.calls["cdc"] == 1
    assert emulator.stats.calls["query"] == queries
    assert second.cursor() == "2026-01-15T11:05:00-08:00"


def test_a_cursor_older_than_the_cdc_window_reads_with_a_query(emulator: QboEmulator) -> None:
    ids = seed_customers(emulator, 5)
    clock_of(emulator).advance(600)
    books = make_connector(emulator)
    first = books.read("customers", None)
    list(first)
    clock_of(emulator).advance(timedelta(days=31).total_seconds())
    emulator.change("Customer", ids[0], {"CompanyName": "Changed"})
    found = changes(list(books.read("customers", first.cursor())))
    assert [c.key for c in found] == [ids[0]]
    assert "cdc" not in emulator.stats.calls


def test_a_cdc_window_the_server_refuses_falls_back_to_a_query(emulator: QboEmulator) -> None:
    ids = seed_customers(emulator, 3)
    behind = ManualClock()  # the machine's clock is a month behind QuickBooks'
    books = make_connector(emulator, clock=behind)
    cursor = "2026-01-15T10:05:00-08:00"  # after the seeding
    clock_of(emulator).advance(timedelta(days=40).total_seconds())
    emulator.change("Customer", ids[1], {"CompanyName": "Changed"})
    found = changes(list(books.read("customers", cursor)))
    assert [c.key for c in found] == [ids[1]]
    assert emulator.stats.calls["cdc"] == 1  # asked, was refused (over 30 days) ...
    assert emulator.stats.calls["query"] >= 1  # ... and read with a query instead


def test_cdc_at_its_thousand_object_cap_falls_back_to_paging(emulator: QboEmulator) -> None:
    books = make_connector(emulator)
    first = books.read("customers", None)
    list(first)
    clock_of(emulator).advance(600)
    seed_customers(emulator, 1001, prefix="Bulk ")
    found = changes(list(books.read("customers", first.cursor())))
    assert len(found) == 1001  # not the 1,000 CDC would have given


def _paid_invoices(emulator: QboEmulator) -> tuple[QuickBooksOnlineConnector, list[str], str]:
    books = make_connector(emulator, income_account="1")
    (cid,) = [o.target_id or "" for o in books.apply([request(customer("Acme"), "acme")])]
    outcomes = books.apply(
        [
            request(invoice(lines=[("A", "1", "100.10")]), "i1", customer_id=cid),
            request(invoice(lines=[("B", "1", "50.00")]), "i2", customer_id=cid),
        ]
    )
    ids = [o.target_id or "" for o in outcomes]
    payment = emulator.seed(
        "Payment",
        {
            "CustomerRef": {"value": cid},
            "TotalAmt": Decimal("100.30"),
            "TxnDate": "2026-01-20",
            "PaymentRefNum": "CHK-77",
            "Line": [
                {
                    "Amount": Decimal("100.10"),
                    "LinkedTxn": [{"TxnId": ids[0], "TxnType": "Invoice"}],
                },
                {"Amount": Decimal("0.20"), "LinkedTxn": [{"TxnId": ids[1], "TxnType": "Invoice"}]},
            ],
        },
    )
    return books, ids, str(payment["Id"])


def test_payments_read_back_per_invoice_with_exact_amounts(emulator: QboEmulator) -> None:
    books, ids, pid = _paid_invoices(emulator)
    found = {c.key: c.load() for c in changes(list(books.read("payments", None)))}
    assert set(found) == {f"{pid}:{ids[0]}", f"{pid}:{ids[1]}"}
    first = found[f"{pid}:{ids[0]}"]
    assert isinstance(first, Payment)
    assert first.amount == Decimal("100.10")
    assert str(found[f"{pid}:{ids[1]}"].amount) == "0.20"  # type: ignore[union-attr]
    assert first.reference == "CHK-77"
    invoices: dict[str, Any] = {
        c.key: c.load() for c in changes(list(books.read("invoices", None)))
    }
    assert isinstance(invoices[ids[0]], Invoice)
    assert invoices[ids[0]].status == "paid"
    assert invoices[ids[1]].status == "issued"
    assert isinstance(invoices[ids[1]].total, Decimal)


def test_a_deleted_payment_arrives_as_a_deletion(emulator: QboEmulator) -> None:
    books, _, pid = _paid_invoices(emulator)
    clock_of(emulator).advance(600)
    first = books.read("payments", None)
    list(first)
    clock_of(emulator).advance(60)
    current = emulator.company.get("Payment", pid)
    sales.run(emulator.company, "Payment", "delete", {"Id": pid, "SyncToken": current["SyncToken"]})
    found = changes(list(books.read("payments", first.cursor())))
    assert [(c.key, c.deleted) for c in found] == [(f"{pid}:*", True)]


# -- payment state of invoices: balance, paid date, last update -----------------------------------


def read_invoices(books: QuickBooksOnlineConnector, cursor: str | None = None) -> dict[str, Any]:
    return {c.key: c for c in changes(list(books.read("invoices", cursor)))}


def test_invoices_carry_balance_and_the_date_the_balance_reached_zero(
    emulator: QboEmulator,
) -> None:
    books, ids, _ = _paid_invoices(emulator)  # i1 paid in full on 2026-01-20, i2 0.20 of 50.00
    queries = emulator.stats.calls["query"]

    found = read_invoices(books)

    paid, partly = found[ids[0]].load(), found[ids[1]].load()
    assert isinstance(paid, Invoice)
    assert isinstance(partly, Invoice)
    assert (paid.status, paid.balance, paid.paid_on) == ("paid", Decimal(0), date(2026, 1, 20))
    assert (partly.status, partly.balance, partly.paid_on) == ("issued", Decimal("49.80"), None)
    assert isinstance(partly.balance, Decimal)
    # one page of invoices, one lookup of the paid ones' payments: not one call per invoice
    assert emulator.stats.calls["query"] - queries == 2


def test_the_latest_payment_gives_the_paid_date(emulator: QboEmulator) -> None:
    books, ids, _ = _paid_invoices(emulator)
    customer_id = emulator.company.get("Invoice", ids[1])["CustomerRef"]["value"]
    for day, amount in (("2026-02-03", "29.80"), ("2026-01-28", "20.00")):  # entered out of order
        emulator.seed(
            "Payment",
            {
                "CustomerRef": {"value": customer_id},
                "TotalAmt": Decimal(amount),
                "TxnDate": day,
                "Line": [
                    {
                        "Amount": Decimal(amount),
                        "LinkedTxn": [{"TxnId": ids[1], "TxnType": "Invoice"}],
                    }
                ],
            },
        )
    invoice = read_invoices(books)[ids[1]].load()
    assert (invoice.status, invoice.balance, invoice.paid_on) == (
        "paid",
        Decimal(0),
        date(2026, 2, 3),
    )


def test_a_payment_read_incrementally_brings_the_paid_date(emulator: QboEmulator) -> None:
    books = make_connector(emulator, income_account="1")
    (cid,) = [o.target_id or "" for o in books.apply([request(customer("Acme"), "acme")])]
    (iid,) = [
        o.target_id or ""
        for o in books.apply([request(invoice(lines=[("A", "2", "40.00")]), "i1", customer_id=cid)])
    ]
    first = books.read("invoices", None)
    assert [c.load().paid_on for c in changes(list(first))] == [None]  # type: ignore[union-attr]
    clock_of(emulator).advance(3600)
    emulator.seed(
        "Payment",
        {
            "CustomerRef": {"value": cid},
            "TotalAmt": Decimal("80.00"),
            "TxnDate": "2026-01-16",
            "Line": [
                {"Amount": Decimal("80.00"), "LinkedTxn": [{"TxnId": iid, "TxnType": "Invoice"}]}
            ],
        },
    )

    later = books.read("invoices", first.cursor())
    (change,) = changes(list(later))

    assert later.used_cdc  # type: ignore[attr-defined]
    record = change.load()
    assert isinstance(record, Invoice)
    assert (record.status, record.balance, record.paid_on) == (
        "paid",
        Decimal(0),
        date(2026, 1, 16),
    )
    stored = emulator.company.get("Invoice", iid)
    assert change.updated_at == datetime.fromisoformat(stored["MetaData"]["LastUpdatedTime"])


def test_a_paid_invoice_whose_payment_cannot_be_found_uses_its_last_update(
    emulator: QboEmulator,
) -> None:
    books, ids, _ = _paid_invoices(emulator)
    stored = emulator.company.entities["Invoice"][ids[0]]
    stored["LinkedTxn"] = [{"TxnId": "999", "TxnType": "Payment"}]  # settled by an unknown payment
    clock_of(emulator).advance(2 * 86400)
    emulator.change("Invoice", ids[0], {"PrivateNote": "checked"})  # last updated two days later

    invoice = read_invoices(books)[ids[0]].load()

    updated = datetime.fromisoformat(
        emulator.company.get("Invoice", ids[0])["MetaData"]["LastUpdatedTime"]
    )
    assert invoice.status == "paid"
    assert invoice.paid_on == updated.date() == date(2026, 1, 17)


def test_customers_and_invoices_say_when_quickbooks_last_changed_them(
    emulator: QboEmulator,
) -> None:
    books, ids, _ = _paid_invoices(emulator)
    clock_of(emulator).advance(90)
    (cid,) = seed_customers(emulator, 1, prefix="Later ")
    customers = {c.key: c for c in changes(list(books.read("customers", None)))}
    invoices = read_invoices(books)
    for key, change in [(cid, customers[cid]), (ids[0], invoices[ids[0]])]:
        entity = "Customer" if change is customers.get(key) else "Invoice"
        meta = emulator.company.get(entity, key)["MetaData"]
        assert change.updated_at == datetime.fromisoformat(meta["LastUpdatedTime"])
        assert change.updated_at.tzinfo is not None
    assert customers[cid].updated_at > invoices[ids[0]].updated_at
