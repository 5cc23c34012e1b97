"""Deletes, deactivations and merges per ``on_delete``; ``--since`` slices; SQLite and Postgres."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ledgerlink.canonical.records import Contact, Customer, Deal, Invoice
from ledgerlink.config.loader import parse_config
from ledgerlink.state.store import StateStore
from ledgerlink.sync.run import RunReport, Workspace, execute_run
from tests.fakes import FakeBooks, FakeCrm

CONFIG = """
version: 1
state: STATE
connections:
  crm: {type: beancount, path: unused-crm.beancount}
  books: {type: beancount, path: unused.beancount}
pipes:
  - name: customers
    from: crm.contacts
    to: books.customers
    on_delete: POLICY
  - name: invoices
    from: crm.deals
    to: books.invoices
    on_delete: POLICY
"""
TODAY = date(2026, 11, 24)

MakeWorkspace = Callable[[str], Workspace]


def contact(name: str, email: str) -> Contact:
    return Contact(display_name=name, emails=(email,))


def deal(contact_key: str, amount: str, closed: date = date(2026, 11, 1)) -> Deal:
    return Deal(
        title=f"Deal for {contact_key}",
        contact_key=contact_key,
        amount=Decimal(amount),
        currency="USD",
        status="won",
        close_date=closed,
    )


@pytest.fixture
def crm() -> FakeCrm:
    return FakeCrm(
        streams={
            "contacts": {
                "ada": contact("Ada Lovelace", "ada@example.com"),
                "alan": contact("Alan Turing", "alan@example.com"),
            },
            "deals": {"D1": deal("ada", "1200.00"), "D2": deal("alan", "99.99")},
        }
    )


@pytest.fixture
def books() -> FakeBooks:
    return FakeBooks()


@pytest.fixture
def make_workspace(
    tmp_path: Path, state_url: str, crm: FakeCrm, books: FakeBooks
) -> Iterator[MakeWorkspace]:
    """Workspaces over the fakes with a given ``on_delete``, sharing one state database."""
    stores: list[StateStore] = []

    def make(policy: str) -> Workspace:
        text = CONFIG.replace("STATE", state_url).replace("POLICY", policy)
        loaded = parse_config(text, tmp_path / "l.yaml", {})
        store = StateStore.open(loaded.state_url())
        stores.append(store)
        return Workspace(loaded, store, {"crm": crm, "books": books})

    yield make
    for store in stores:
        store.close()


def sync(workspace: Workspace, **kwargs: object) -> RunReport:
    return execute_run(workspace, command="sync", today=TODAY, **kwargs)  # type: ignore[arg-type]


def plan_of(report: RunReport, pipe: str):  # type: ignore[no-untyped-def]
    return next(p.plan for p in report.pipes if p.plan.name == pipe)


def customer_of(books: FakeBooks, workspace: Workspace, key: str) -> Customer:
    link = workspace.store.get_links("customers", [key])[key]
    record = books.records["customers"][link.target_id]
    assert isinstance(record, Customer)
    return record


def invoice_of(books: FakeBooks, workspace: Workspace, key: str) -> Invoice:
    link = workspace.store.get_links("invoices", [key])[key]
    record = books.records["invoices"][link.target_id]
    assert isinstance(record, Invoice)
    return record


def audit_actions(workspace: Workspace) -> list[tuple[str, str | None]]:
    return [(e.action, e.source_key) for e in workspace.store.iter_audit()]


def test_by_default_a_deleted_contact_leaves_the_books_alone(
    make_workspace: MakeWorkspace, crm: FakeCrm, books: FakeBooks
) -> None:
    workspace = make_workspace("ignore")
    sync(workspace)
    writes = books.writes
    del crm.streams["contacts"]["ada"]
    crm.deleted["contacts"] = {"ada": None}

    report = sync(workspace)

    assert report.exit_code == 0
    assert books.writes == writes
    assert plan_of(report, "customers").deleted_in_source == 1
    assert customer_of(books, workspace, "ada").active


def test_deactivate_makes_the_customer_inactive_once_and_a_return_reactivates_it(
    make_workspace: MakeWorkspace, crm: FakeCrm, books: FakeBooks
) -> None:
    workspace = make_workspace("deactivate")
    sync(workspace)
    writes = books.writes
    ada = crm.streams["contacts"].pop("ada")
    crm.deleted["contacts"] = {"ada": None}

    preview = execute_run(workspace, command="plan", today=TODAY)
    ops = plan_of(preview, "customers").ops
    assert [(op.kind, op.source_key, op.reason) for op in ops] == [
        ("deactivate", "ada", "deleted in the CRM")
    ]
    assert books.writes == writes

    report = sync(workspace)
    assert plan_of(report, "customers").counts()["deleted"] == 1
    assert books.writes == writes + 1
    assert customer_of(books, workspace, "ada").active is False
    assert customer_of(books, workspace, "alan").active
    assert ("deactivate", "ada") in audit_actions(workspace)

    again = sync(workspace, full=True)  # the deletion is reported again: nothing is written
    assert books.writes == writes + 1
    assert plan_of(again, "customers").counts()["deleted"] == 0

    crm.deleted["contacts"] = {}
    crm.streams["contacts"]["ada"] = ada
    back = sync(workspace)
    assert plan_of(back, "customers").counts()["updated"] == 1
    assert customer_of(books, workspace, "ada").active is True


def test_a_deleted_won_deal_voids_its_invoice_but_never_a_paid_one(
    make_workspace: MakeWorkspace, crm: FakeCrm, books: FakeBooks
) -> None:
    workspace = make_workspace("deactivate")
    sync(workspace)
    paid_id = workspace.store.get_links("invoices", ["D2"])["D2"].target_id
    books.records["invoices"][paid_id] = dataclasses.replace(
        invoice_of(books, workspace, "D2"), status="paid"
    )
    for key in ("D1", "D2"):
        del crm.streams["deals"][key]
    crm.deleted["deals"] = {"D1": None, "D2": None}

    report = sync(workspace)

    assert report.exit_code == 1
    assert invoice_of(books, workspace, "D1").status == "void"
    assert invoice_of(books, workspace, "D2").status == "paid"
    [letter] = workspace.store.list_dead_letters("invoices")
    assert letter.source_key == "D2"
    assert "paid in the books" in letter.message
    assert "never voided" in letter.message
    assert letter.hint
    assert ("void", "D1") in audit_actions(workspace)


def test_delete_removes_where_the_books_allow_it(
    make_workspace: MakeWorkspace, crm: FakeCrm, books: FakeBooks
) -> None:
    books.deletes = frozenset({"customers", "invoices"})
    workspace = make_workspace("delete")
    sync(workspace)
    target = workspace.store.get_links("invoices", ["D1"])["D1"].target_id
    del crm.streams["deals"]["D1"]
    crm.deleted["deals"] = {"D1": None}

    report = sync(workspace)

    assert report.exit_code == 0
    assert target not in books.records["invoices"]
    assert len(books.records["invoices"]) == 1
    link = workspace.store.get_links("invoices", ["D1"])["D1"]  # kept, and marked
    assert link.desired_hash.startswith("deleted:")
    writes = books.writes
    sync(workspace, full=True)
    assert books.writes == writes


def test_delete_where_the_books_cannot_is_a_clear_per_record_error(
    make_workspace: MakeWorkspace, crm: FakeCrm, books: FakeBooks
) -> None:
    workspace = make_workspace("delete")
    sync(workspace)
    writes = books.writes
    del crm.streams["contacts"]["ada"]
    crm.deleted["contacts"] = {"ada": None}

    report = sync(workspace)

    assert report.exit_code == 1
    assert books.writes == writes
    [letter] = workspace.store.list_dead_letters("customers")
    assert letter.source_key == "ada"
    assert "cannot delete customers" in letter.message
    assert "on_delete: deactivate" in (letter.hint or "")
    assert customer_of(books, workspace, "ada").active


def test_a_deleted_record_that_was_never_synced_does_nothing(
    make_workspace: MakeWorkspace, crm: FakeCrm, books: FakeBooks
) -> None:
    workspace = make_workspace("deactivate")
    crm.deleted["contacts"] = {"ghost": None}
    report = sync(workspace)
    assert report.exit_code == 0
    assert plan_of(report, "customers").deleted_in_source == 1
    assert all(c.active for c in books.records["customers"].values())  # type: ignore[union-attr]


def test_merge_into_an_unlinked_survivor_moves_the_link_without_a_write(
    make_workspace: MakeWorkspace, crm: FakeCrm, books: FakeBooks
) -> None:
    workspace = make_workspace("ignore")
    sync(workspace)
    target = workspace.store.get_links("customers", ["ada"])["ada"].target_id
    customers_before = dict(books.records["customers"])
    writes = books.writes
    # GoldMine-style Merge/Purge: "ada" is merged into a new survivor "ada-2"; her deal moves
    del crm.streams["contacts"]["ada"]
    crm.streams["contacts"]["ada-2"] = contact("Ada Lovelace", "ada@example.com")
    crm.deleted["contacts"] = {"ada": "ada-2"}
    crm.streams["deals"]["D1"] = deal("ada-2", "1200.00")

    preview = execute_run(workspace, command="plan", today=TODAY)
    shown = [(op.kind, op.source_key) for op in plan_of(preview, "customers").ops]
    assert shown == [("link", "ada-2")]

    report = sync(workspace)

    assert report.exit_code == 0
    assert books.records["customers"] == customers_before
    assert workspace.store.get_links("customers", ["ada-2"])["ada-2"].target_id == target
    assert ("link_repaired", "ada-2") in audit_actions(workspace)
    assert invoice_of(books, workspace, "D1").customer_key == "ada-2"
    assert books.writes == writes + 1  # the invoice names its new contact; no customer write


def test_merge_of_two_linked_contacts_deactivates_the_duplicate_and_moves_its_invoices(
    make_workspace: MakeWorkspace, crm: FakeCrm, books: FakeBooks
) -> None:
    workspace = make_workspace("deactivate")
    crm.streams["contacts"]["ada-dup"] = contact("A. Lovelace", "lovelace@example.org")
    crm.streams["deals"]["D3"] = deal("ada-dup", "10.00")
    sync(workspace)
    ada = workspace.store.get_links("customers", ["ada"])["ada"].target_id
    del crm.streams["contacts"]["ada-dup"]
    crm.deleted["contacts"] = {"ada-dup": "ada"}
    crm.streams["deals"]["D3"] = deal("ada", "10.00")

    report = sync(workspace)

    assert report.exit_code == 0
    duplicate = customer_of(books, workspace, "ada-dup")
    assert duplicate.active is False
    assert customer_of(books, workspace, "ada").active
    moved = workspace.store.get_links("invoices", ["D3"])["D3"]
    assert moved.snapshot["customer_key"] == "ada"
    ops = plan_of(report, "customers").counts()
    assert ops["deleted"] == 1
    assert ada != workspace.store.get_links("customers", ["ada-dup"])["ada-dup"].target_id


def test_since_syncs_only_deals_closed_on_or_after_the_day_and_keeps_the_cursor(
    make_workspace: MakeWorkspace, crm: FakeCrm, books: FakeBooks
) -> None:
    workspace = make_workspace("ignore")
    crm.streams["deals"]["OLD"] = deal("ada", "5.00", closed=date(2024, 3, 1))
    report = sync(workspace, full=True, since=date(2026, 1, 1))
    assert plan_of(report, "invoices").counts()["created"] == 2
    assert plan_of(report, "invoices").counts()["skipped"] == 1
    assert workspace.store.get_links("invoices", ["OLD"]) == {}
    assert workspace.store.get_cursor("invoices", "deals") is None

    older = sync(workspace, full=True, since=date(2024, 1, 1))
    assert plan_of(older, "invoices").counts()["created"] == 1
    assert len(books.records["invoices"]) == 3
