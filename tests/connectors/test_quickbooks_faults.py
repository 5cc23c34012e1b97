"""QuickBooks failure modes against the emulator: dropped commits, stale tokens, taken names,
inactive references, partial batches."""

from __future__ import annotations

import logging

import pytest

from ledgerlink.connectors.base import WriteOutcome
from ledgerlink.connectors.quickbooks.connector import QuickBooksOnlineConnector
from ledgerlink.errors import ConflictError, RecordError, TransientError
from tests.emulators.qbo import LimitSettings, ManualClock, QboEmulator, QboFault
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


def named(emulator: QboEmulator, name: str) -> list[dict[str, object]]:
    return [c for c in emulator.company.all("Customer") if c["DisplayName"] == name]


# -- exactly once ------------------------------------------------------------------------------


def test_a_connection_dropped_after_commit_is_retried_into_exactly_one_customer(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    emulator.faults.drop_after_commit = 1
    (cid,) = ok(books.apply([request(customer("Acme", "ap@acme.test"), "acme")]))
    assert emulator.stats.dropped == 1
    assert emulator.stats.replays == 1  # the retry was answered with the original response
    assert [c["Id"] for c in named(emulator, "Acme")] == [cid]


def test_when_every_try_is_dropped_the_executors_retry_still_creates_one(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    batch = [request(customer(f"C{i}"), f"c{i}") for i in range(3)]
    emulator.faults.drop_after_commit = books.config.max_attempts
    with pytest.raises(TransientError):
        books.apply(batch)
    assert len(emulator.company.all("Customer")) == 3  # committed, but we never heard back
    ids = ok(books.apply(batch))  # what the executor does after a TransientError
    assert sorted(ids) == sorted(c["Id"] for c in emulator.company.all("Customer"))
    assert len(emulator.company.all("Customer")) == 3


def test_invoices_dropped_on_every_try_are_created_once_by_the_retry_of_the_batch(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    emulator.seed(
        "Item", {"Name": "Services", "Type": "Service", "IncomeAccountRef": {"value": "1"}}
    )
    (cid,) = ok(books.apply([request(customer("Acme"), "acme")]))
    batch = [request(invoice(number=f"N-{i}"), f"i{i}", customer_id=cid) for i in range(5)]
    emulator.faults.drop_after_commit = books.config.max_attempts
    with pytest.raises(TransientError):
        books.apply(batch)
    ids = ok(books.apply(batch))  # invoices have no unique name: only the requestid saves us
    assert sorted(ids) == sorted(i["Id"] for i in emulator.company.all("Invoice"))
    assert len(emulator.company.all("Invoice")) == 5


def test_a_create_replayed_in_another_batch_finds_its_own_stamp(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    first = request(customer("Acme"), "acme")
    ids = ok(books.apply([first, request(customer("Other"), "other")]))
    # After a crash the engine resends the intent in a batch of a different shape: a new
    # requestid, so QuickBooks answers 6240; the stamp says the existing customer is ours.
    again = make_connector(emulator, income_account="1", disambiguate="suffix")
    assert ok(again.apply([first])) == [ids[0]]
    assert len(named(emulator, "Acme")) == 1
    assert named(emulator, "Acme (2)") == []


# -- stale SyncToken ---------------------------------------------------------------------------


def test_a_stale_sync_token_is_read_again_and_retried_once(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    (cid,) = ok(books.apply([request(customer("Acme", "a@acme.test"), "acme")]))
    emulator.change("Customer", cid, {"CompanyName": "Acme Holdings"})  # a person, meanwhile
    update = request(
        customer("Acme", "b@acme.test"), "acme", "update", target_id=cid, changed=("email",)
    )
    assert ok(books.apply([update])) == [cid]
    stored = emulator.company.get("Customer", cid)
    assert stored["PrimaryEmailAddr"] == {"Address": "b@acme.test"}
    assert stored["CompanyName"] == "Acme Holdings"  # their edit survives our sparse update


def test_a_record_that_keeps_changing_becomes_a_conflict(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    (cid,) = ok(books.apply([request(customer("Acme"), "acme")]))
    stale = QboFault("5010", "Stale Object Error", "SyncToken mismatch")
    emulator.faults.fail_item(lambda body: body.get("Id") == cid, stale)
    update = request(
        customer("Acme", "x@acme.test"), "acme", "update", target_id=cid, changed=("email",)
    )
    (outcome,) = books.apply([update])
    assert isinstance(outcome.error, ConflictError)
    assert outcome.error.context.vendor_code == "5010"


# -- duplicate names (6240) --------------------------------------------------------------------


def test_a_taken_name_with_the_same_email_links_to_the_existing_customer(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    existing = emulator.seed(
        "Customer", {"DisplayName": "Acme Ltd", "PrimaryEmailAddr": {"Address": "AP@acme.test"}}
    )
    (target,) = ok(books.apply([request(customer("Acme Ltd", "ap@acme.test"), "acme")]))
    assert target == existing["Id"]
    assert len(emulator.company.all("Customer")) == 1


def test_a_taken_name_of_another_party_is_disambiguated_and_logged(
    emulator: QboEmulator, books: QuickBooksOnlineConnector, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.seed(
        "Customer", {"DisplayName": "Acme Ltd", "PrimaryEmailAddr": {"Address": "x@other.test"}}
    )
    emulator.seed("Customer", {"DisplayName": "Acme Ltd (2)"})
    caplog.set_level(logging.WARNING, logger="ledgerlink.quickbooks")
    (target,) = ok(books.apply([request(customer("Acme Ltd", "ap@acme.test"), "acme")]))
    assert emulator.company.get("Customer", target)["DisplayName"] == "Acme Ltd (3)"
    assert "'Acme Ltd (3)'" in caplog.text


def test_a_disambiguated_create_whose_answer_was_lost_is_not_created_twice(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    emulator.seed(
        "Customer", {"DisplayName": "Acme Ltd", "PrimaryEmailAddr": {"Address": "x@o.test"}}
    )
    emulator.faults.drop_body_contains = b"Acme Ltd (2)"
    emulator.faults.drop_after_commit = books.config.max_attempts
    write = request(customer("Acme Ltd", "ap@acme.test"), "acme")
    with pytest.raises(TransientError):
        books.apply([write])  # "Acme Ltd (2)" was created, but we never heard back
    (target,) = ok(books.apply([write]))  # the executor's retry
    assert emulator.company.get("Customer", target)["DisplayName"] == "Acme Ltd (2)"
    assert len(emulator.company.all("Customer")) == 2


def test_a_batch_quickbooks_refuses_whole_fails_each_record_without_raising() -> None:
    emulator = QboEmulator(clock=ManualClock(), limits=LimitSettings(max_batch_items=10))
    books = make_connector(emulator)
    outcomes = books.apply([request(customer(f"C{i}"), f"c{i}") for i in range(12)])
    assert all(isinstance(o.error, RecordError) for o in outcomes)
    assert "at most 10 items" in str(outcomes[0].error)
    assert emulator.company.all("Customer") == []


def test_disambiguation_by_email_and_by_refusal(emulator: QboEmulator) -> None:
    emulator.seed("Vendor", {"DisplayName": "Acme Ltd"})  # names are shared with vendors
    by_email = make_connector(emulator, disambiguate="email")
    (target,) = ok(by_email.apply([request(customer("Acme Ltd", "ap@acme.test"), "acme")]))
    assert emulator.company.get("Customer", target)["DisplayName"] == "Acme Ltd (ap@acme.test)"

    strict = make_connector(emulator, disambiguate="fail")
    (outcome,) = strict.apply([request(customer("Acme Ltd", "other@acme.test"), "acme2")])
    assert isinstance(outcome.error, RecordError)
    assert "already used" in str(outcome.error)


# -- inactive references (610) -----------------------------------------------------------------


def test_an_invoice_for_an_inactive_customer_fails_with_the_reason(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    (cid,) = ok(books.apply([request(customer("Sleepy Inc"), "sleepy")]))
    ok(books.apply([request(customer("Sleepy Inc"), "sleepy", "deactivate", target_id=cid)]))
    (outcome,) = books.apply([request(invoice(), "inv", customer_id=cid)])
    assert isinstance(outcome.error, RecordError)
    assert "'Sleepy Inc'" in str(outcome.error)
    assert "inactive" in str(outcome.error)
    assert "reactivate_inactive" in str(outcome.error)
    assert emulator.company.all("Invoice") == []


def test_reactivation_when_allowed_lets_the_invoice_through(emulator: QboEmulator) -> None:
    books = make_connector(emulator, income_account="1", reactivate_inactive=True)
    (cid,) = ok(books.apply([request(customer("Sleepy Inc"), "sleepy")]))
    ok(books.apply([request(customer("Sleepy Inc"), "sleepy", "deactivate", target_id=cid)]))
    (iid,) = ok(books.apply([request(invoice(), "inv", customer_id=cid)]))
    assert emulator.company.get("Customer", cid)["Active"] is True
    assert emulator.company.get("Invoice", iid)["CustomerRef"] == {"value": cid}


# -- partial batch failure ---------------------------------------------------------------------


def test_one_bad_record_in_a_batch_fails_alone(
    emulator: QboEmulator, books: QuickBooksOnlineConnector
) -> None:
    emulator.faults.fail_item(lambda body: body.get("DisplayName") == "Bad", None)
    outcomes = books.apply([request(customer(n), n) for n in ("Good 1", "Bad", "Good 2")])
    assert [o.ok for o in outcomes] == [True, False, True]
    assert isinstance(outcomes[1].error, RecordError)
    assert outcomes[1].error.context.record == "ll-Bad"
    assert {c["DisplayName"] for c in emulator.company.all("Customer")} == {"Good 1", "Good 2"}
    emulator.faults.failing_items.clear()
    ok(books.apply([request(customer("Bad"), "Bad")]))  # the dead letter replayed after a fix
    assert len(emulator.company.all("Customer")) == 3
