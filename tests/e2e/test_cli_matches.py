"""Match review from the command line: a near-duplicate waits, is accepted, and is linked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from beancount import loader
from typer.testing import CliRunner

from ledgerlink.cli.app import app

CONTACTS = """\
id,display_name,email
C1,Ada Lovelace,ada@example.com
C2,Initech Ltd,billing@initech.example
"""
DEALS = "id,title,contact,amount,currency,stage,close_date\n"
BOOKS = """\
option "operating_currency" "USD"

2000-01-01 open Assets:Receivable:Inittech-Limited
  name: "Inittech Limited"
  kind: "company"
"""
CONFIG = """\
version: 1
state: sqlite:///ledgerlink.db
connections:
  crm: {type: csv, contacts: contacts.csv, deals: deals.csv}
  books: {type: beancount, path: books.beancount}
pipes:
  - name: customers
    from: crm.contacts
    to: books.customers
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    (tmp_path / "books.beancount").write_text(BOOKS, encoding="utf-8")
    (tmp_path / "ledgerlink.yaml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def run(workspace: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--config", str(workspace / "ledgerlink.yaml")])
    return result.exit_code, result.stdout, result.stderr


def customer_accounts(workspace: Path) -> list[str]:
    entries, errors, _ = loader.load_file(str(workspace / "books.beancount"))
    assert errors == []
    return sorted(e.account for e in entries if type(e).__name__ == "Open")


def test_list_accept_then_sync_links_without_creating(workspace: Path) -> None:
    code, stdout, _ = run(workspace, "sync", "--json")
    assert code == 0
    customers = json.loads(stdout)["pipes"][0]
    assert (customers["created"], customers["review"]) == (1, 1)
    assert customer_accounts(workspace) == [
        "Assets:Receivable:Ada-Lovelace",
        "Assets:Receivable:Inittech-Limited",
    ]

    code, stdout, _ = run(workspace, "matches", "list", "--json")
    assert code == 0
    (review,) = json.loads(stdout)
    assert review["source_key"] == "C2"
    (candidate,) = review["candidates"]
    assert candidate["name"] == "Inittech Limited"
    code, table, _ = run(workspace, "matches", "list")
    assert "Initech Ltd" in table
    assert "Inittech Limited" in table

    code, _, stderr = run(workspace, "matches", "accept", str(review["id"]), "--candidate", "X")
    assert code == 2
    assert "'X' is not a candidate" in stderr
    code, stdout, _ = run(workspace, "matches", "accept", str(review["id"]))
    assert code == 0
    assert "Accepted" in stdout

    code, stdout, _ = run(workspace, "sync", "--json")
    assert code == 0
    customers = json.loads(stdout)["pipes"][0]
    assert (customers["linked"], customers["created"], customers["review"]) == (1, 0, 0)
    assert customer_accounts(workspace) == [
        "Assets:Receivable:Ada-Lovelace",
        "Assets:Receivable:Inittech-Limited",
    ]
    code, stdout, _ = run(workspace, "matches", "list")
    assert "No record is waiting" in stdout
    code, _, _ = run(workspace, "audit", "verify")
    assert code == 0


def test_reject_then_sync_creates_and_unknown_ids_are_usage_errors(workspace: Path) -> None:
    run(workspace, "sync")
    code, stdout, _ = run(workspace, "matches", "list", "--json")
    (review,) = json.loads(stdout)

    code, _, stderr = run(workspace, "matches", "reject", "999")
    assert code == 2
    assert "no match review 999" in stderr
    code, _, _ = run(workspace, "matches", "reject", str(review["id"]))
    assert code == 0

    code, stdout, _ = run(workspace, "sync", "--json")
    assert json.loads(stdout)["pipes"][0]["created"] == 1
    assert "Assets:Receivable:Initech-Ltd" in customer_accounts(workspace)
