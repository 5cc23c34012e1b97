"""The command line as a user meets it: real CSV exports into a real Beancount ledger."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from beancount import loader
from typer.testing import CliRunner

from ledgerlink.cli.app import app

CONTACTS = """\
id,display_name,email,phone,city,country
C1,Ada Lovelace,ada@example.com,+44 20 7946 0000,London,GB
C2,Initech Ltd,billing@initech.example,+1 415 555 0100,Austin,US
C3,"=HYPERLINK(""http://evil.example"")",formula@example.com,,,
"""
DEALS = """\
id,title,contact,amount,currency,stage,close_date,tax_rate
D1,Analytical engine,C1,"1,200.00",USD,Won,2026-10-01,20
D2,TPS reports,C2,99.99,USD,Closed Won,2026-10-02,
D3,Open deal,C2,500.00,USD,Negotiation,2026-10-03,
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
  - name: invoices
    from: crm.deals
    to: books.invoices
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    (tmp_path / "ledgerlink.yaml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def run(workspace: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--config", str(workspace / "ledgerlink.yaml")])
    return result.exit_code, result.stdout, result.stderr


def run_json(workspace: Path, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code, stdout, _ = run(workspace, *args, "--json")
    return code, json.loads(stdout)


def pipe(report: dict, name: str) -> dict:  # type: ignore[type-arg]
    return next(p for p in report["pipes"] if p["name"] == name)


def ledger(workspace: Path) -> list[object]:
    entries, errors, _ = loader.load_file(str(workspace / "books.beancount"))
    assert errors == []
    return entries  # type: ignore[no-any-return]


def test_plan_writes_nothing_and_shows_invoice_totals(workspace: Path) -> None:
    code, report = run_json(workspace, "plan")
    assert code == 0
    assert not (workspace / "books.beancount").exists()
    invoices = pipe(report, "invoices")
    totals = sorted(op["record"]["total"] for op in invoices["ops"])
    assert totals == ["1440.00", "99.99"]
    assert invoices["skipped"] == 1
    code, text, _ = run(workspace, "plan")
    assert "total 1440.00 USD" in text


def test_sync_then_resync_changes_nothing(workspace: Path) -> None:
    code, first = run_json(workspace, "sync")
    assert code == 0, first
    assert pipe(first, "customers")["created"] == 3
    assert pipe(first, "invoices")["created"] == 2
    before = (workspace / "books.beancount").read_bytes()
    assert len(ledger(workspace)) > 0

    code, second = run_json(workspace, "sync")
    assert code == 0
    assert pipe(second, "customers")["created"] == 0
    assert pipe(second, "invoices")["created"] == 0
    assert (workspace / "books.beancount").read_bytes() == before

    code, full = run_json(workspace, "sync", "--full")
    assert code == 0
    assert pipe(full, "customers")["unchanged"] == 3
    assert (workspace / "books.beancount").read_bytes() == before


def test_formula_looking_names_arrive_as_plain_text(workspace: Path) -> None:
    run(workspace, "sync")
    text = (workspace / "books.beancount").read_text(encoding="utf-8")
    assert '=HYPERLINK(\\"http://evil.example\\")' in text or "=HYPERLINK(" in text
    ledger(workspace)


def test_bad_deals_are_dead_lettered_and_the_rest_sync(workspace: Path) -> None:
    (workspace / "deals.csv").write_text(
        DEALS
        + "D4,Refund,C1,-50.00,USD,Won,2026-10-04,\n"
        + "D5,Odd money,C1,10.005,USD,Won,2026-10-05,\n"
        + "D6,Martian,C1,10.00,XYZ,Won,2026-10-06,\n",
        encoding="utf-8",
    )
    code, report = run_json(workspace, "sync")
    assert code == 1
    assert report["status"] == "partial"
    assert pipe(report, "invoices")["created"] == 2
    assert pipe(report, "invoices")["failed"] == 3
    code, letters = run_json(workspace, "dlq", "list")
    by_key = {d["source_key"]: d for d in letters}
    assert set(by_key) == {"D4", "D5", "D6"}
    assert "negative" in by_key["D4"]["message"]
    assert "more decimals" in by_key["D5"]["message"]
    assert "XYZ" in by_key["D6"]["message"]
    assert all(d["hint"] for d in letters)
    assert "deals.csv" in by_key["D4"]["location"]

    fixed = (workspace / "deals.csv").read_text(encoding="utf-8").replace("-50.00", "50.00")
    (workspace / "deals.csv").write_text(fixed, encoding="utf-8")
    code, retried = run_json(workspace, "dlq", "retry")
    assert pipe(retried, "invoices")["created"] == 1
    code, letters = run_json(workspace, "dlq", "list")
    assert {d["source_key"] for d in letters} == {"D5", "D6"}


def test_dlq_csv_export_is_formula_safe(workspace: Path) -> None:
    (workspace / "contacts.csv").write_text(
        CONTACTS + "=1+2,Mallory,not-an-email,,,\n", encoding="utf-8"
    )
    code, _ = run_json(workspace, "sync")
    assert code == 1
    target = workspace / "dead.csv"
    run(workspace, "dlq", "list", "--csv", str(target))
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 2
    assert "'=1+2" in rows[1]
    assert "not-an-email" in " ".join(rows[1])
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_edited_contact_is_one_update(workspace: Path) -> None:
    run(workspace, "sync")
    edited = CONTACTS.replace("+44 20 7946 0000", "+44 20 7946 0999")
    (workspace / "contacts.csv").write_text(edited, encoding="utf-8")
    code, report = run_json(workspace, "sync")
    assert code == 0
    assert pipe(report, "customers")["updated"] == 1
    assert pipe(report, "customers")["unchanged"] == 2
    assert "+442079460999" in (workspace / "books.beancount").read_text(encoding="utf-8")


def test_hand_broken_ledger_stops_with_exit_3_and_is_left_alone(workspace: Path) -> None:
    run(workspace, "sync")
    book = workspace / "books.beancount"
    broken = book.read_text(encoding="utf-8") + "\n2026-13-45 * this is not beancount\n"
    book.write_text(broken, encoding="utf-8")
    (workspace / "contacts.csv").write_text(
        CONTACTS + "C4,Grace Hopper,grace@example.com,,,\n", encoding="utf-8"
    )
    code, stdout, stderr = run(workspace, "sync")
    assert code == 3
    assert "books.beancount" in stdout + stderr
    assert book.read_text(encoding="utf-8") == broken


def test_configuration_error_exits_2_with_file_and_line(workspace: Path) -> None:
    (workspace / "ledgerlink.yaml").write_text(
        CONFIG.replace("    to: books.customers", "    to: books.customers\n    wen: x"),
        encoding="utf-8",
    )
    code, _, stderr = run(workspace, "plan")
    assert code == 2
    assert "ledgerlink.yaml:10" in stderr


def test_missing_header_is_a_configuration_error(workspace: Path) -> None:
    (workspace / "deals.csv").write_text(
        "D1,Analytical engine,C1,100.00,USD,Won\n", encoding="utf-8"
    )
    code, _, stderr = run(workspace, "sync", "--pipe", "invoices")
    assert code == 2
    assert "deals.csv" in stderr


def test_cp1252_export_is_read_correctly(workspace: Path) -> None:
    text = "id,display_name,email\nC1,José Müller,jose@example.com\n"
    (workspace / "contacts.csv").write_bytes(text.encode("cp1252"))
    code, _ = run_json(workspace, "sync", "--pipe", "customers")
    assert code == 0
    assert "José Müller" in (workspace / "books.beancount").read_text(encoding="utf-8")


def test_status_runs_and_schema(workspace: Path) -> None:
    run(workspace, "sync")
    code, status = run_json(workspace, "status")
    assert code == 0
    assert {p["name"]: p["links"] for p in status["pipes"]} == {"customers": 3, "invoices": 2}
    code, runs = run_json(workspace, "runs")
    assert runs[0]["status"] == "ok"
    result = CliRunner().invoke(app, ["config", "schema"])
    assert json.loads(result.stdout)["title"] == "ledgerlink.yaml"


def test_init_then_check_reports_each_connection(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 0
    assert (tmp_path / "ledgerlink.yaml").exists()
    result = CliRunner().invoke(app, ["check", "--config", str(tmp_path / "ledgerlink.yaml")])
    assert (
        result.exit_code == 3
    )  # the starter's files do not exist yet: check says so per connection
    assert "contacts.csv" in result.stdout


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.stdout
    text = result.stdout
    assert "4. edit one contact" in text
    entries = loader.load_file(str(tmp_path / "demo" / "books.beancount"))
    assert entries[1] == []
    again = CliRunner().invoke(app, ["demo", str(tmp_path / "demo")])
    assert again.exit_code == 0


def test_audit_verify_and_export(workspace: Path) -> None:
    run(workspace, "sync")
    code, verdict = run_json(workspace, "audit", "verify")
    assert code == 0
    assert verdict["ok"]
    assert verdict["checked"] >= 5
    target = workspace / "audit.csv"
    CliRunner().invoke(
        app, ["audit", "export", str(target), "--config", str(workspace / "ledgerlink.yaml")]
    )
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows[0][0] == "seq"
    assert sum(1 for r in rows[1:] if r[4] == "create") == 5
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    with sqlite3.connect(workspace / "ledgerlink.db") as db:
        db.execute("UPDATE audit_log SET action = 'update' WHERE seq = 2")
    code, verdict = run_json(workspace, "audit", "verify")
    assert code == 1
    assert verdict["first_bad_seq"] == 2
