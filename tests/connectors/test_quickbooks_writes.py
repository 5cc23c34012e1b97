"""QuickBooks writes against the emulator: batches, stamps, sparse updates, deactivation, voids."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerlink.connectors.base import WriteOutcome
from ledgerlink.connectors.quickbooks.connector import QuickBooksOnlineConnector
from ledgerlink.errors import RecordError
from tests.emulators.qbo import ManualClock, QboEmulator
from tests.emulators.qbo.harness import customer, invoice, make_connector, request


@pytest.fixture
def emulator() -> QboEmulator:
    return QboEmulator(clock=ManualClock())


@pytest.fixture
def books(emulator: QboEmulator) -> QuickBooksOnlineConnector:
    return make_connector(emulator, income_account="1")


def ok(outcomes: list[WriteOutcome]) -> list[str]:
    assert [o.error for o in outcomes] == [None] * len(outcomes)
    return [o.target_id or "" for o in outcomes]


def customers_named(emulator: QboEmulator, name: str) -> list[dict[str, object]]:
    return [c for c in emulator.company.all("Customer") if c["DisplayName"] == name]


def test_customers_go_in_one_batch_stamped_with_their_ledgerlink_id(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    ids = ok(
        books.apply([request(customer(f"Cust {i}", f"c{i}@x.test"), f"c{i}") for i in range(3)])
    )
    assert emulator.stats.calls.get("batch") == 1
    stored = emulator.company.get("Customer", ids[1])
    assert stored["DisplayName"] == "Cust 1"
    assert stored["PrimaryEmailAddr"] == {"Address": "c1@x.test"}
    assert str(stored["Notes"]).endswith("[ledgerlink:ll-c1]")
    assert "PrimaryPhone" not in stored  # empty fields are left out of a create
    existing = {t.target_id: t.ledgerlink_id for t in books.read_existing("customers")}
    assert existing == {ids[0]: "ll-c0", ids[1]: "ll-c1", ids[2]: "ll-c2"}


def test_every_call_names_the_minor_version_and_writes_carry_a_requestid(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    ok(books.apply([request(customer("A"), "a")]))
    books.apply([request(customer("A"), "a")])  # the same intent again
    assert emulator.stats.without_minor_version == 0
    assert emulator.stats.minor_versions == {"75"}
    assert emulator.stats.request_ids[0] == emulator.stats.request_ids[1]
    assert all(len(r) <= 36 for r in emulator.stats.request_ids)
    assert len(customers_named(emulator, "A")) == 1


def test_more_than_thirty_writes_are_split_into_batches_of_thirty(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    assert books.capabilities().max_batch_size == 30
    assert books.capabilities().idempotency == "key"
    ok(books.apply([request(customer(f"C{i}"), f"c{i}") for i in range(65)]))
    assert emulator.stats.calls["batch"] == 3
    assert len(emulator.company.all("Customer")) == 65


def test_invoices_find_or_create_their_items_once_and_keep_exact_amounts(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    (cid,) = ok(books.apply([request(customer("Acme"), "acme")]))
    lines = [("Design", "2.5", "80.10"), ("Hosting", "1", "19.99")]
    first = invoice(lines=lines, sku="WEB-1", number="INV-1")
    second = invoice(lines=[("Advice", "1", "0.10")], number="INV-2")
    ids = ok(
        books.apply([request(first, "i1", customer_id=cid), request(second, "i2", customer_id=cid)])
    )
    items = {i["Name"] for i in emulator.company.all("Item")}
    assert items == {"WEB-1", "Services"}
    stored = emulator.company.get("Invoice", ids[0])
    assert stored["TotalAmt"] == Decimal("220.24")  # 200.25 + 19.99, to the cent
    assert isinstance(stored["TotalAmt"], Decimal)
    assert stored["DocNumber"] == "INV-1"
    assert str(stored["PrivateNote"]).endswith("[ledgerlink:ll-i1]")
    queries = emulator.stats.calls["query"]
    ok(books.apply([request(invoice(lines=lines, sku="WEB-1"), "i3", customer_id=cid)]))
    assert emulator.stats.calls["query"] == queries  # items are remembered
    assert books.read_existing("invoices").__next__().record.total == Decimal("220.24")


def test_a_missing_item_without_an_income_account_fails_only_its_invoice(
    emulator: QboEmulator,
) -> None:
    emulator.seed(
        "Item", {"Name": "Services", "Type": "Service", "IncomeAccountRef": {"value": "1"}}
    )
    books = make_connector(emulator)
    (cid,) = ok(books.apply([request(customer("Acme"), "acme")]))
    outcomes = books.apply(
        [
            request(invoice(sku="NOPE"), "bad", customer_id=cid),
            request(invoice(), "good", customer_id=cid),
        ]
    )
    assert isinstance(outcomes[0].error, RecordError)
    assert "'NOPE' does not exist" in str(outcomes[0].error)
    assert "income_account" in str(outcomes[0].error)
    assert outcomes[1].ok


def test_an_update_is_sparse_and_keeps_what_a_person_changed_in_quickbooks(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    (cid,) = ok(books.apply([request(customer("Acme", "old@acme.test"), "acme")]))
    emulator.change("Customer", cid, {"PrimaryPhone": {"FreeFormNumber": "+1 555 0100"}})
    fresh = make_connector(emulator)  # a new run: no SyncToken remembered
    changed = customer("Acme", "new@acme.test")
    ok(fresh.apply([request(changed, "acme", "update", target_id=cid, changed=("email",))]))
    stored = emulator.company.get("Customer", cid)
    assert stored["PrimaryEmailAddr"] == {"Address": "new@acme.test"}
    assert stored["PrimaryPhone"] == {"FreeFormNumber": "+1 555 0100"}
    assert stored["SyncToken"] == "2"


def test_an_update_with_nothing_quickbooks_holds_makes_no_call(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    (cid,) = ok(books.apply([request(customer("Acme"), "acme")]))
    calls = dict(emulator.stats.calls)
    changed = request(customer("Acme"), "acme", "update", target_id=cid, changed=("credit_limit",))
    assert ok(books.apply([changed])) == [cid]
    assert emulator.stats.calls == calls


def test_deactivating_a_customer_makes_it_inactive_never_deleted(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    (cid,) = ok(books.apply([request(customer("Gone Ltd"), "gone")]))
    ok(books.apply([request(customer("Gone Ltd"), "gone", "deactivate", target_id=cid)]))
    assert emulator.company.get("Customer", cid)["Active"] is False
    (found,) = [t for t in books.read_existing("customers") if t.target_id == cid]
    assert found.record.active is False  # type: ignore[union-attr]
    batches = emulator.stats.calls["batch"]
    ok(books.apply([request(customer("Gone Ltd"), "gone", "deactivate", target_id=cid)]))
    assert emulator.stats.calls["batch"] == batches  # already inactive: nothing to write


def test_voiding_an_invoice_zeroes_it_and_keeps_the_record(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    (cid,) = ok(books.apply([request(customer("Acme"), "acme")]))
    (iid,) = ok(books.apply([request(invoice(number="INV-9"), "inv", customer_id=cid)]))
    ok(books.apply([request(invoice(number="INV-9"), "inv", "void", target_id=iid)]))
    stored = emulator.company.get("Invoice", iid)
    assert stored["TotalAmt"] == 0
    assert str(stored["PrivateNote"]).startswith("Voided")
    (read,) = [c.load() for c in books.read("invoices", None)]
    assert read.status == "void"  # type: ignore[union-attr]
    assert read.number == "INV-9"  # type: ignore[union-attr]


def test_an_invoice_update_replaces_its_lines_and_quickbooks_recomputes_the_total(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    (cid,) = ok(books.apply([request(customer("Acme"), "acme")]))
    (iid,) = ok(books.apply([request(invoice(number="N-1"), "inv", customer_id=cid)]))
    bigger = invoice(lines=[("Consulting", "5", "100.00")], number="N-1")
    ok(
        books.apply(
            [
                request(
                    bigger,
                    "inv",
                    "update",
                    target_id=iid,
                    customer_id=cid,
                    changed=("lines", "total"),
                )
            ]
        )
    )
    stored = emulator.company.get("Invoice", iid)
    assert stored["TotalAmt"] == Decimal("500.00")
    assert stored["DocNumber"] == "N-1"


def test_tax_is_never_dropped_silently(emulator: QboEmulator) -> None:
    books = make_connector(emulator, income_account="1")
    (cid,) = ok(books.apply([request(customer("Acme"), "acme")]))
    (outcome,) = books.apply([request(invoice(tax="30.00"), "taxed", customer_id=cid)])
    assert isinstance(outcome.error, RecordError)
    assert "txn_tax_code" in str(outcome.error)
    taxing = make_connector(emulator, income_account="1", txn_tax_code="3")
    (iid,) = ok(taxing.apply([request(invoice(tax="30.00"), "taxed", customer_id=cid)]))
    assert emulator.company.get("Invoice", iid)["TotalAmt"] == Decimal("330.00")


def test_an_invoice_without_a_quickbooks_customer_fails_alone(
    books: QuickBooksOnlineConnector,
) -> None:
    (outcome,) = books.apply([request(invoice(), "orphan")])
    assert isinstance(outcome.error, RecordError)
    assert "customer" in str(outcome.error)
