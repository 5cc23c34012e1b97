"""GoldMine contacts and won opportunities into QuickBooks Online, through the CLI, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.e2e.goldmine_qbo import (
    Setup,
    calls,
    goldmine_and_quickbooks,
    pipe,
    run,
    writes,
)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    with goldmine_and_quickbooks(tmp_path) as opened:
        yield opened


def test_plan_shows_totals_and_writes_nothing(setup: Setup) -> None:
    code, report = run(setup, "plan")
    assert code == 0
    totals = sorted(op["record"]["total"] for op in pipe(report, "invoices")["ops"])
    assert totals == ["1200.00", "99.99"]
    assert pipe(report, "invoices")["skipped"] == 1
    assert writes(setup.qbo) == 0


def test_sync_creates_then_a_resync_makes_no_writes(setup: Setup) -> None:
    code, report = run(setup, "sync")
    assert code == 0, report
    assert pipe(report, "customers")["created"] == 3
    assert pipe(report, "invoices")["created"] == 2
    company = setup.qbo.company
    assert len(company.all("Customer")) == 3
    invoices = company.all("Invoice")
    assert sorted(str(i["TotalAmt"]) for i in invoices) == ["1200.00", "99.99"]

    before = calls(setup.qbo)
    code, again = run(setup, "sync")
    assert code == 0
    after = calls(setup.qbo)
    assert writes(setup.qbo) == before.get("batch", 0) + before.get("write", 0)
    assert sum(after.values()) - sum(before.values()) <= 2
    assert pipe(again, "customers")["created"] == 0


def test_an_edit_in_goldmine_is_one_sparse_update(setup: Setup) -> None:
    run(setup, "sync")
    before = writes(setup.qbo)
    setup.gm.now = setup.gm.now.replace(hour=setup.gm.now.hour + 1)
    setup.gm.edit_contact(setup.accounts["ada"], PHONE1="(212) 555-0147")
    code, report = run(setup, "sync")
    assert code == 0
    assert pipe(report, "customers")["updated"] == 1
    assert writes(setup.qbo) == before + 1
    ada = next(c for c in setup.qbo.company.all("Customer") if "Ada" in c["DisplayName"])
    assert ada["PrimaryPhone"]["FreeFormNumber"] == "+12125550147"
    assert ada["SyncToken"] == "1"


def test_a_negative_deal_is_dead_lettered_while_the_rest_sync(setup: Setup) -> None:
    setup.gm.add_opportunity(
        setup.accounts["grace"], "Refund", "-50.00", status="Won",
        closed_on=date(2026, 10, 3), closed_amount="-50.00",
    )  # fmt: skip
    code, report = run(setup, "sync")
    assert code == 1
    assert pipe(report, "invoices")["created"] == 2
    (failure,) = pipe(report, "invoices")["failures"]
    assert "negative" in failure["message"]
    assert failure["hint"]
    assert len(setup.qbo.company.all("Invoice")) == 2


def test_a_contact_deleted_in_goldmine_deactivates_its_customer(setup: Setup) -> None:
    text = setup.config.read_text(encoding="utf-8")
    setup.config.write_text(
        text.replace(
            "    to: books.customers\n", "    to: books.customers\n    on_delete: deactivate\n"
        ),
        encoding="utf-8",
    )
    code, _ = run(setup, "sync")
    assert code == 0
    [grace] = [c for c in setup.qbo.company.all("Customer") if c["DisplayName"].startswith("Grace")]
    setup.gm.delete_contact(setup.accounts["grace"])  # logged in CONTTLOG by RECID only

    code, report = run(setup, "sync")

    assert code == 0, report
    assert pipe(report, "customers")["deleted"] == 1
    assert setup.qbo.company.get("Customer", grace["Id"])["Active"] is False
    before = writes(setup.qbo)
    code, report = run(setup, "sync")  # the same log entry again: nothing more to do
    assert code == 0
    assert writes(setup.qbo) == before
