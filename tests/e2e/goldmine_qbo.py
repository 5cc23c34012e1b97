"""The GoldMine -> QuickBooks Online workspace the end-to-end tests drive through the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

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


@contextmanager
def goldmine_and_quickbooks(tmp_path: Path, *, two_way: bool = False) -> Iterator[Setup]:
    """GoldMine (SQLite) with three contacts and their opportunities, the QuickBooks emulator
    over HTTP, and a configuration with a customers and an invoices pipe between them.

    ``two_way``: both pipes two-way, and GoldMine's opportunity fields take the payment state.
    """
    crm = (
        "\n    opportunity_fields: {invoice_number: F1, paid_status: F2, paid_on: F3}"
        if two_way
        else ""
    )
    direction = "\n    direction: two-way" if two_way else ""
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
    currency: USD{crm}
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
    to: books.customers{direction}
  - name: invoices
    from: crm.deals
    to: books.invoices{direction}
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
    """The QuickBooks id of the one customer whose display name starts with ``name``."""
    found = [c for c in setup.qbo.company.all("Customer") if c["DisplayName"].startswith(name)]
    assert len(found) == 1, found
    return str(found[0]["Id"])
