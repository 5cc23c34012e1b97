"""Two-way GoldMine <-> QuickBooks Online through the CLI: books edits and payments flow back,
and later syncs write nothing (no ping-pong)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledgerlink.cli.app import app
from tests.e2e.goldmine_qbo import (
    Setup,
    customer_id,
    goldmine_and_quickbooks,
    pipe,
    run,
    writes,
)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    with goldmine_and_quickbooks(tmp_path, two_way=True) as opened:
        yield opened


def test_a_phone_edited_in_the_books_reaches_goldmine_without_ping_pong(setup: Setup) -> None:
    code, _ = run(setup, "sync")
    assert code == 0
    ada = customer_id(setup, "Ada")
    setup.qbo.change("Customer", ada, {"PrimaryPhone": {"FreeFormNumber": "+1 415 555 0142"}})
    setup.gm.now = setup.gm.now.replace(hour=15)

    code, report = run(setup, "sync")

    assert code == 0, report
    row = setup.gm.row(setup.gm.tables.contact1, "ACCOUNTNO", setup.accounts["ada"])
    assert row["PHONE1"] == "+1 415 555 0142"
    assert row["LASTUSER"] == "LEDGERLK"
    stamp = (row["LASTDATE"], row["LASTTIME"])
    for _ in range(2):  # a second and a third sync write nothing, in either direction
        before = writes(setup.qbo)
        setup.gm.now = setup.gm.now.replace(hour=setup.gm.now.hour + 1)
        code, report = run(setup, "sync")
        assert code == 0, report
        assert writes(setup.qbo) == before
        again = setup.gm.row(setup.gm.tables.contact1, "ACCOUNTNO", setup.accounts["ada"])
        assert (again["LASTDATE"], again["LASTTIME"]) == stamp


def test_a_payment_in_the_books_shows_paid_in_goldmine(setup: Setup) -> None:
    code, first = run(setup, "sync")
    assert code == 0, first
    (invoice,) = [i for i in setup.qbo.company.all("Invoice") if str(i["TotalAmt"]) == "1200.00"]
    setup.qbo.seed(
        "Payment",
        {
            "CustomerRef": invoice["CustomerRef"],
            "TotalAmt": Decimal("1200.00"),
            "TxnDate": "2026-10-20",
            "Line": [
                {
                    "Amount": Decimal("1200.00"),
                    "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                }
            ],
        },
    )

    code, report = run(setup, "sync")

    assert code == 0, report
    contact2 = setup.gm.row(setup.gm.tables.contact2, "ACCOUNTNO", setup.accounts["ada"])
    assert contact2["UPAID"] == "Paid"
    opportunities = setup.gm.tables.opmgr
    with setup.gm.engine.connect() as conn:
        main = conn.execute(
            opportunities.select().where(
                setup.accounts["ada"] == opportunities.c.ACCOUNTNO, opportunities.c.RECTYPE == "O"
            )
        ).one()
    assert (main.F2, main.F3) == ("Paid", "2026-10-20")
    before = writes(setup.qbo)
    code, _ = run(setup, "sync")
    assert code == 0
    assert writes(setup.qbo) == before


def test_a_phone_changed_on_both_sides_waits_and_is_resolved_from_the_cli(setup: Setup) -> None:
    code, _ = run(setup, "sync")
    assert code == 0
    ada = customer_id(setup, "Ada")
    setup.gm.now = setup.gm.now.replace(hour=15)
    setup.gm.edit_contact(setup.accounts["ada"], PHONE1="+1 415 555 0100")
    setup.qbo.change("Customer", ada, {"PrimaryPhone": {"FreeFormNumber": "+1 415 555 0199"}})
    before = writes(setup.qbo)

    code, report = run(setup, "sync")

    assert code == 0, report
    assert pipe(report, "customers")["conflicts"] == 1
    assert writes(setup.qbo) == before  # the books keep their phone until someone decides
    code, status = run(setup, "status")
    assert pipe(status, "customers")["conflicts"] == 1
    code, waiting = run(setup, "conflicts", "list")
    assert code == 0
    [conflict] = waiting
    assert (conflict["field"], conflict["crm"], conflict["books"]) == (
        "phone",
        "+14155550100",
        "+1 415 555 0199",
    )

    result = CliRunner(env={"QBO_SECRET": setup.qbo.client_secret}).invoke(
        app,
        ["conflicts", "resolve", str(conflict["id"]), "--keep", "books", "-c", str(setup.config)],
    )

    assert result.exit_code == 0, result.output
    assert "resolved" in result.stdout
    row = setup.gm.row(setup.gm.tables.contact1, "ACCOUNTNO", setup.accounts["ada"])
    assert row["PHONE1"] == "+1 415 555 0199"
    code, waiting = run(setup, "conflicts", "list")
    assert waiting == []
    settled = writes(setup.qbo)
    setup.gm.now = setup.gm.now.replace(hour=16)
    code, report = run(setup, "sync")
    assert code == 0, report
    assert writes(setup.qbo) == settled
    again = CliRunner(env={"QBO_SECRET": setup.qbo.client_secret}).invoke(
        app,
        ["conflicts", "resolve", str(conflict["id"]), "--keep", "crm", "-c", str(setup.config)],
    )
    assert again.exit_code == 2
    assert "already resolved" in again.stderr
