"""``sync --full --since`` slices and ``sync --verify`` from the command line: CSV to Beancount."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli import CONFIG, CONTACTS, pipe, run, run_json

DEALS = """\
id,title,contact,amount,currency,stage,close_date,tax_rate
D1,Analytical engine,C1,"1,200.00",USD,Won,2026-10-01,20
D2,TPS reports,C2,99.99,USD,Closed Won,2024-03-02,
"""


def make(tmp_path: Path) -> Path:
    (tmp_path / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    (tmp_path / "ledgerlink.yaml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def test_verify_reports_then_since_slices_backfill_then_verify_agrees(tmp_path: Path) -> None:
    workspace = make(tmp_path)

    code, before = run_json(workspace, "sync", "--verify")
    assert code == 1  # the books are empty: everything would be created
    assert before["status"] == "would-change"
    assert pipe(before, "invoices")["would_create"] == 2
    assert not (workspace / "books.beancount").exists()  # verify wrote nothing

    code, recent = run_json(workspace, "sync", "--full", "--since", "2026-01-01")
    assert code == 0
    assert pipe(recent, "invoices")["created"] == 1
    assert pipe(recent, "invoices")["skipped"] == 1  # D2 closed in 2024: left for its slice

    code, _ = run_json(workspace, "sync", "--verify", "--since", "2026-01-01")
    assert code == 0  # this slice is in the books
    code, whole = run_json(workspace, "sync", "--verify")
    assert code == 1
    [missing] = pipe(whole, "invoices")["changes"]
    assert missing["source_key"] == "D2"
    assert missing["kind"] == "missing"

    code, older = run_json(workspace, "sync", "--full", "--since", "2024-01-01")
    assert code == 0
    assert pipe(older, "invoices")["created"] == 1
    assert pipe(older, "invoices")["unchanged"] == 1

    code, after = run_json(workspace, "sync", "--verify")
    assert code == 0
    assert after["status"] == "agree"


def test_verify_shows_a_field_that_differs_in_the_books(tmp_path: Path) -> None:
    workspace = make(tmp_path)
    assert run(workspace, "sync")[0] == 0
    text = (workspace / "deals.csv").read_text(encoding="utf-8")
    (workspace / "deals.csv").write_text(text.replace("99.99", "149.99"), encoding="utf-8")
    ledger_before = (workspace / "books.beancount").read_text(encoding="utf-8")

    code, stdout, _ = run(workspace, "sync", "--verify")

    assert code == 1
    assert "would update" in stdout
    assert "99.99 → 149.99" in stdout
    assert (workspace / "books.beancount").read_text(encoding="utf-8") == ledger_before
