"""The engine over in-memory connectors: plan, sync, re-sync, edits, failures, recovery."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ledgerlink.canonical.records import Contact, Customer, Deal, DealLine
from ledgerlink.config.loader import parse_config
from ledgerlink.connectors.base import WriteRequest
from ledgerlink.errors import FatalError, RateLimitedError
from ledgerlink.planning.plan import ledgerlink_id
from ledgerlink.state.records import IntentWrite
from ledgerlink.state.store import StateStore
from ledgerlink.sync.run import Workspace, execute_run
from tests.fakes import FakeBooks, FakeCrm

CONFIG = """
version: 1
state: sqlite:///state.db
connections:
  crm: {type: beancount, path: unused-crm.beancount}
  books: {type: beancount, path: unused.beancount}
pipes:
  - name: customers
    from: crm.contacts
    to: books.customers
  - name: invoices
    from: crm.deals
    to: books.invoices
"""
TODAY = date(2026, 11, 24)


def contact(name: str, email: str, **changes: object) -> Contact:
    return dataclasses.replace(Contact(display_name=name, emails=(email,)), **changes)


def deal(contact_key: str, amount: str, status: str = "won", **changes: object) -> Deal:
    base = Deal(
        title=f"Deal for {contact_key}",
        contact_key=contact_key,
        amount=Decimal(amount),
        currency="USD",
        status=status,  # type: ignore[arg-type]
        close_date=date(2026, 11, 1),
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def crm() -> FakeCrm:
    return FakeCrm(
        streams={
            "contacts": {
                "ada@example.com": contact("Ada Lovelace", "ada@example.com"),
                "alan@example.com": contact(
                    "Alan Turing", "alan@example.com", payment_terms_days=14
                ),
            },
            "deals": {
                "D1": deal("ada@example.com", "1200.00", tax_rate=Decimal("20")),
                "D2": deal("alan@example.com", "99.99"),
                "D3": deal("alan@example.com", "500.00", status="open"),
            },
        }
    )


@pytest.fixture
def books() -> FakeBooks:
    return FakeBooks()


@pytest.fixture
def workspace(
    tmp_path: Path, state_url: str, crm: FakeCrm, books: FakeBooks
) -> Iterator[Workspace]:
    """A workspace over the fakes, its state on SQLite and (again) on PostgreSQL."""
    loaded = parse_config(CONFIG.replace("sqlite:///state.db", state_url), tmp_path / "l.yaml", {})
    store = StateStore.open(loaded.state_url())
    yield Workspace(loaded, store, {"crm": crm, "books": books})
    store.close()


def sync(workspace: Workspace, **kwargs: object):  # type: ignore[no-untyped-def]
    return execute_run(workspace, command="sync", today=TODAY, **kwargs)  # type: ignore[arg-type]


def counts(report, pipe: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return next(p.plan.counts() for p in report.pipes if p.plan.name == pipe)


def test_plan_previews_everything_and_writes_nothing(
    workspace: Workspace, books: FakeBooks
) -> None:
    report = execute_run(workspace, command="plan", today=TODAY)

    assert books.writes == 0
    assert counts(report, "customers")["created"] == 2
    invoices = next(p.plan for p in report.pipes if p.plan.name == "invoices")
    assert sorted(op.record.total for op in invoices.ops) == [Decimal("99.99"), Decimal("1440.00")]  # type: ignore[union-attr]
    assert invoices.filtered == 1  # the open deal is not invoiced
    assert workspace.store.count_links("customers") == 0


def test_sync_creates_then_a_second_sync_writes_nothing(
    workspace: Workspace, books: FakeBooks, crm: FakeCrm
) -> None:
    first = sync(workspace)
    assert first.exit_code == 0
    assert books.writes == 4
    assert counts(first, "invoices")["created"] == 2

    second = sync(workspace)
    assert second.exit_code == 0
    assert books.writes == 4
    assert books.apply_calls == 2  # one batch per pipe in the first run, none since
    assert counts(second, "customers")["created"] == 0
    assert counts(second, "customers")["updated"] == 0


def test_full_resync_with_no_change_writes_nothing(workspace: Workspace, books: FakeBooks) -> None:
    sync(workspace)
    report = sync(workspace, full=True)
    assert books.writes == 4
    assert counts(report, "customers")["unchanged"] == 2


def test_an_edited_contact_becomes_exactly_one_update(
    workspace: Workspace, books: FakeBooks, crm: FakeCrm
) -> None:
    sync(workspace)
    crm.streams["contacts"]["ada@example.com"] = contact(
        "Ada Lovelace", "ada@example.com", phones=("+441234567890",)
    )
    report = sync(workspace)
    assert counts(report, "customers")["updated"] == 1
    assert counts(report, "customers")["unchanged"] == 1
    assert books.writes == 5
    customer = next(
        c for c in books.records["customers"].values() if isinstance(c, Customer) and c.phone
    )
    assert customer.phone == "+441234567890"


def test_invoice_due_date_uses_the_customers_terms(workspace: Workspace, books: FakeBooks) -> None:
    sync(workspace)
    invoices = {inv.customer_key: inv for inv in books.records["invoices"].values()}  # type: ignore[union-attr]
    assert invoices["alan@example.com"].due_date == date(2026, 11, 15)  # type: ignore[union-attr]
    assert invoices["ada@example.com"].due_date == date(2026, 12, 1)  # type: ignore[union-attr]


def test_negative_deal_is_dead_lettered_and_the_rest_sync(
    workspace: Workspace, books: FakeBooks, crm: FakeCrm
) -> None:
    crm.streams["deals"]["D4"] = deal("ada@example.com", "-50.00")
    report = sync(workspace)

    assert report.exit_code == 1
    assert report.status == "partial"
    assert counts(report, "invoices")["created"] == 2
    letters = workspace.store.list_dead_letters("invoices")
    assert [d.source_key for d in letters] == ["D4"]
    assert "negative" in letters[0].message
    assert letters[0].hint

    crm.streams["deals"]["D4"] = deal("ada@example.com", "50.00")
    retried = execute_run(
        workspace, command="dlq retry", only_keys={"invoices": frozenset({"D4"})}, today=TODAY
    )
    assert retried.exit_code == 0
    assert workspace.store.list_dead_letters("invoices") == []
    assert len(books.records["invoices"]) == 3


def test_deal_whose_customer_failed_waits_in_the_dlq(
    workspace: Workspace, books: FakeBooks, crm: FakeCrm
) -> None:
    books.reject = lambda r: (
        "refused by the books" if r.stream == "customers" and "ada" in r.record.email else None
    )  # type: ignore[union-attr]
    report = sync(workspace)
    assert report.exit_code == 1
    keys = {(d.pipe, d.source_key) for d in workspace.store.list_dead_letters()}
    assert keys == {("customers", "ada@example.com"), ("invoices", "D1")}
    assert len(books.records["invoices"]) == 1


def test_same_person_twice_is_one_customer(
    workspace: Workspace, books: FakeBooks, crm: FakeCrm
) -> None:
    crm.streams["contacts"]["ada-2"] = contact("Ada Lovelace", "ADA@example.com")
    report = sync(workspace)
    assert counts(report, "customers")["created"] == 2
    assert counts(report, "customers")["linked"] == 1
    assert len(books.records["customers"]) == 2
    links = workspace.store.get_links("customers", ["ada@example.com", "ada-2"])
    assert links["ada@example.com"].target_id == links["ada-2"].target_id


def test_first_sync_matches_customers_already_in_the_books(
    workspace: Workspace, books: FakeBooks
) -> None:
    books.records["customers"]["hand-1"] = Customer(
        display_name="ALAN TURING", email="alan@EXAMPLE.com"
    )
    report = sync(workspace)
    assert counts(report, "customers")["linked"] == 1
    assert counts(report, "customers")["created"] == 1
    assert (
        workspace.store.get_links("customers", ["alan@example.com"])["alan@example.com"].target_id
        == "hand-1"
    )


@pytest.mark.parametrize("state_url", ["sqlite"], indirect=True)
def test_lost_state_does_not_duplicate(
    tmp_path: Path, workspace: Workspace, books: FakeBooks, crm: FakeCrm
) -> None:
    sync(workspace)
    workspace.store.close()
    Path(workspace.loaded.state_url().removeprefix("sqlite:///")).unlink()
    loaded = workspace.loaded
    fresh = Workspace(loaded, StateStore.open(loaded.state_url()), {"crm": crm, "books": books})
    report = sync(fresh)
    fresh.store.close()
    assert books.writes == 4
    assert counts(report, "customers")["linked"] == 2
    assert ledgerlink_id("customers", "ada@example.com") in books.stamps


def test_transient_errors_are_retried(
    workspace: Workspace, books: FakeBooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ledgerlink.execution.executor.time.sleep", lambda _s: None)
    books.raise_on_apply = [RateLimitedError("slow down", retry_after=0.0)] * 2
    report = sync(workspace)
    assert report.exit_code == 0
    assert len(books.records["customers"]) == 2


def test_a_fatal_target_error_stops_the_pipe_and_keeps_the_cursor(
    workspace: Workspace, books: FakeBooks, crm: FakeCrm
) -> None:
    books.raise_on_apply = [FatalError("ledger is broken")]
    report = sync(workspace, pipes=["customers"])
    assert report.exit_code == 3
    assert workspace.store.get_cursor("customers", "contacts") is None
    again = sync(workspace, pipes=["customers"])
    assert again.exit_code == 0
    assert len(books.records["customers"]) == 2


def test_changing_the_mapping_rediffs_without_rewriting_unchanged_records(
    tmp_path: Path, workspace: Workspace, books: FakeBooks, crm: FakeCrm
) -> None:
    sync(workspace)
    changed = CONFIG.replace(
        "    to: books.customers\n",
        "    to: books.customers\n    fields:\n      notes: {default: 'from the CRM'}\n",
    )
    loaded = parse_config(
        changed.replace("sqlite:///state.db", workspace.loaded.state_url()), tmp_path / "l.yaml", {}
    )
    again = Workspace(loaded, workspace.store, {"crm": crm, "books": books})
    report = sync(again)
    assert counts(report, "customers")["updated"] == 2
    assert all(c.notes == "from the CRM" for c in books.records["customers"].values())  # type: ignore[union-attr]
    assert counts(sync(again), "customers")["updated"] == 0


def test_deal_lines_and_tax_reach_the_books(
    workspace: Workspace, books: FakeBooks, crm: FakeCrm
) -> None:
    crm.streams["deals"] = {
        "D9": deal(
            "ada@example.com",
            "300.00",
            lines=(
                DealLine("Consulting", Decimal(2), Decimal("100.00"), tax_rate=Decimal("10")),
                DealLine("Licence", Decimal(1), Decimal("100.00")),
            ),
        )
    }
    sync(workspace)
    (invoice,) = books.records["invoices"].values()
    assert invoice.subtotal == Decimal("300.00")  # type: ignore[union-attr]
    assert invoice.tax_total == Decimal("20.00")  # type: ignore[union-attr]
    assert invoice.total == Decimal("320.00")  # type: ignore[union-attr]


def test_audit_records_every_write_and_verifies(workspace: Workspace) -> None:
    sync(workspace)
    entries = list(workspace.store.iter_audit())
    assert sum(1 for e in entries if e.action == "create") == 4
    assert workspace.store.verify_audit().ok


def test_a_write_whose_state_commit_was_lost_is_linked_not_repeated(
    workspace: Workspace, books: FakeBooks, crm: FakeCrm
) -> None:
    sync(workspace)
    crm.streams["deals"]["D4"] = deal("ada@example.com", "10.00")
    # what a crash between the books' commit and ledgerlink's leaves: an intent, a written invoice
    store = workspace.store
    key = ledgerlink_id("invoices", "D4")
    customer = store.get_links("customers", ["ada@example.com"])["ada@example.com"].target_id
    request = WriteRequest(
        action="create",
        stream="invoices",
        ledgerlink_id=key,
        idempotency_key=f"{key}:create",
        record=crm.streams["deals"]["D4"],
        references={"customer": customer},
    )
    store.record_intents(
        store.start_run("sync"),
        [IntentWrite(request.idempotency_key, "invoices", "D4", "create", key)],
    )
    books.apply([request])
    assert len(books.records["invoices"]) == 3

    report = sync(workspace)
    assert counts(report, "invoices")["linked"] == 1
    assert counts(report, "invoices")["created"] == 0
    assert len(books.records["invoices"]) == 3
