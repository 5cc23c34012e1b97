"""Two-way GoldMine <-> QuickBooks Online through the CLI: books edits and payments flow back,
and later syncs write nothing (no ping-pong)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledgerlink.cli.app import app
from tests.emulators.goldmine import GoldMineEmulator
from tests.emulators.qbo.api import QboEmulator
from tests.emulators.qbo.server import EmulatorServer


@dataclass
class Setup:
    config: Path
    gm: GoldMineEmulator
    qbo: QboEmulator
    accounts: dict[str, str]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    gm = GoldMineEmulator(f"sqlite:///{tmp_path / 'goldmine.db'}")
    accounts = {
        "ada": gm.add_contact("Ada Lovelace", "Analytical Ltd", emails=["ada@example.com"]),
        "alan": gm.add_contact("Alan Turing", "Bletchley Co", emails=["alan@example.com"]),
        "grace": gm.add_contact("Grace Hopper", "Cobol Inc", emails=["grace@example.com"]),
    }
    gm.add_opportunity(
        accounts["ada"], "Engine design", "1200.00", status="Won",
        closed_on=date(2026, 10, 1), closed_amount="1200.00",
    )  # fmt: skip
    gm.add_opportunity(
        accounts["alan"], "Codebreaking", "99.99", status="Closed Won",
        closed_on=date(2026, 10, 2), closed_amount="99.99",
    )  # fmt: skip
    gm.add_opportunity(accounts["grace"], "Compiler", "5000.00", status="Open")
    qbo = QboEmulator()
    qbo.seed("Item", {"Name": "Services", "Type": "Service", "IncomeAccountRef": {"value": "1"}})
    with EmulatorServer(qbo) as server:
        grant = qbo.authorise()
        config = tmp_path / "ledgerlink.yaml"
        config.write_text(
            f"""\
version: 1
state: sqlite:///state.db
connections:
  crm:
    type: goldmine
    url: "sqlite:///{tmp_path / "goldmine.db"}"
    currency: USD
    opportunity_fields: {{invoice_number: F1, paid_status: F2, paid_on: F3}}
  books:
    type: quickbooks_online
    realm_id: "{grant.realm_id}"
    client_id: {grant.client_id}
    client_secret: ${{QBO_SECRET}}
    refresh_token: {grant.refresh_token}
    base_url: {server.base_url}
    token_url: {server.token_url}
pipes:
  - name: customers
    from: crm.contacts
    to: books.customers
    direction: two-way
  - name: invoices
    from: crm.deals
    to: books.invoices
    direction: two-way
""",
            encoding="utf-8",
        )
        yield Setup(config, gm, qbo, accounts)
    gm.dispose()


def run(setup: Setup, *args: str) -> tuple[int, dict[str, Any]]:
    secret = setup.qbo.client_secret
    result = CliRunner(env={"QBO_SECRET": secret}).invoke(
        app, [*args, "--json", "--config", str(setup.config)]
    )
    assert secret not in result.stdout + result.stderr
    return result.exit_code, json.loads(result.stdout)


def pipe(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in report["pipes"] if p["name"] == name)


def calls(qbo: QboEmulator) -> dict[str, int]:
    return dict(qbo.stats.calls)


def writes(qbo: QboEmulator) -> int:
    return qbo.stats.calls.get("batch", 0) + qbo.stats.calls.get("write", 0)


def customer_id(setup: Setup, name: str) -> str:
    found = [c for c in setup.qbo.company.all("Customer") if c["DisplayName"].startswith(name)]
    assert len(found) == 1, found
    return str(found[0]["Id"])


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
