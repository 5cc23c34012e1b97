"""The engine syncing into a real Beancount ledger: match by hand-made account, create, re-sync."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ledgerlink.canonical.records import Contact, Deal
from ledgerlink.config.loader import parse_config
from ledgerlink.state.store import StateStore
from ledgerlink.sync.run import Workspace, execute_run
from tests.connectors.beancount_support import load_ok, make_connector
from tests.fakes import FakeCrm

CONFIG = """
version: 1
state: sqlite:///state.db
connections:
  crm: {type: beancount, path: unused-crm.beancount}
  books: {type: beancount, path: books.beancount}
pipes:
  - {name: customers, from: crm.contacts, to: books.customers}
  - {name: invoices, from: crm.deals, to: books.invoices}
"""
TODAY = date(2026, 11, 24)
HAND_MADE = '2020-01-01 open Assets:Receivable:Turing USD\n  email: "alan@example.com"\n'


def _deal(contact: str, amount: str) -> Deal:
    return Deal(
        title=f"Deal for {contact}",
        contact_key=contact,
        amount=Decimal(amount),
        currency="USD",
        status="won",
        close_date=date(2026, 11, 1),
    )


@pytest.fixture
def crm() -> FakeCrm:
    return FakeCrm(
        streams={
            "contacts": {
                "ada@example.com": Contact(
                    display_name="Ada Lovelace", emails=("ada@example.com",)
                ),
                "alan@example.com": Contact(
                    display_name="Alan Turing", emails=("alan@example.com",)
                ),
            },
            "deals": {
                "D1": _deal("ada@example.com", "1200.00"),
                "D2": _deal("alan@example.com", "99.99"),
            },
        }
    )


@pytest.fixture
def workspace(tmp_path: Path, crm: FakeCrm) -> Iterator[Workspace]:
    (tmp_path / "books.beancount").write_text(HAND_MADE)
    loaded = parse_config(CONFIG, tmp_path / "ledgerlink.yaml", {})
    store = StateStore.open(loaded.state_url())
    yield Workspace(loaded, store, {"crm": crm, "books": make_connector(tmp_path, today=TODAY)})
    store.close()


def test_sync_matches_creates_and_a_full_resync_writes_nothing(
    workspace: Workspace, tmp_path: Path
) -> None:
    ledger = tmp_path / "books.beancount"
    first = execute_run(workspace, command="sync", today=TODAY)
    assert first.exit_code == 0
    customers = next(p.plan.counts() for p in first.pipes if p.plan.name == "customers")
    assert (customers["created"], customers["linked"]) == (1, 1)  # Turing matched by e-mail
    assert ledger.read_text().startswith(HAND_MADE)
    invoices = [e for e in load_ok(ledger) if type(e).__name__ == "Transaction"]
    assert sorted(t.postings[0].account for t in invoices) == [
        "Assets:Receivable:Ada-Lovelace",
        "Assets:Receivable:Turing",
    ]

    before = ledger.read_bytes()
    second = execute_run(workspace, command="sync", today=TODAY, full=True)
    assert second.exit_code == 0
    assert ledger.read_bytes() == before
