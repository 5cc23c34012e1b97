"""``ledgerlink reconcile`` as a user meets it: real CSV exports, a real Beancount ledger edited by
hand, and the drift that shows up in the terminal, the JSON, the CSV and the HTML report."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledgerlink.canonical.records import (
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    TargetRecord,
)
from ledgerlink.cli.app import app
from ledgerlink.sync.reconcile_compare import Desired, PipeSides, compare_pipe

CONTACTS = """\
id,display_name,email,phone,city,country
C1,Ada Lovelace,ada@example.com,+44 20 7946 0000,London,GB
C2,Initech Ltd,billing@initech.example,+1 415 555 0100,Austin,US
C3,Grace Hopper,grace@example.com,,,
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
HAND_MADE_GLOBEX = '\n2020-01-01 open Assets:Receivable:Globex USD\n  email: "ap@globex.example"\n'
Report = dict[str, Any]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    (tmp_path / "ledgerlink.yaml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


@pytest.fixture
def synced(workspace: Path) -> Path:
    result = CliRunner().invoke(app, ["sync", "--config", str(workspace / "ledgerlink.yaml")])
    assert result.exit_code == 0, result.stdout
    return workspace


def run(workspace: Path, *args: str) -> tuple[int, str, str]:
    config = ["--config", str(workspace / "ledgerlink.yaml")]
    result = CliRunner().invoke(app, ["reconcile", *args, *config])
    return result.exit_code, result.stdout, result.stderr


def run_json(workspace: Path, *args: str) -> tuple[int, Report]:
    code, stdout, stderr = run(workspace, *args, "--json")
    assert stdout.count("\n") == 1, stdout + stderr  # exactly one JSON object
    return code, json.loads(stdout)


def main_json(workspace: Path, *args: str) -> Any:
    config = ["--config", str(workspace / "ledgerlink.yaml")]
    return json.loads(CliRunner().invoke(app, [*args, *config, "--json"]).stdout)


def edit_ledger(workspace: Path, change: Callable[[str], str]) -> None:
    book = workspace / "books.beancount"
    before = book.read_text(encoding="utf-8")
    after = change(before)
    assert after != before
    book.write_text(after, encoding="utf-8")


def pipe(report: Report, name: str) -> Report:
    return next(p for p in report["pipes"] if p["name"] == name)


def found(report: Report, kind: str, pipe_name: str | None = None) -> list[Report]:
    return [
        f
        for f in report["findings"]
        if f["kind"] == kind and (pipe_name is None or f["pipe"] == pipe_name)
    ]


def fields(finding: Report) -> dict[str, tuple[str, str]]:
    return {f["field"]: (f["books"], f["desired"]) for f in finding["fields"]}


def _link_from_ledger(workspace: Path, memo: str) -> str:
    text = (workspace / "books.beancount").read_text(encoding="utf-8")
    match = re.search(r'"Invoice [^"]*" \^(\S+)\n(?:  .*\n)*?  memo: "' + re.escape(memo), text)
    assert match, text
    return match.group(1)


def test_after_a_sync_nothing_drifts_and_nothing_is_written(synced: Path) -> None:
    book = synced / "books.beancount"
    before = book.read_bytes()
    links_before = main_json(synced, "status")["pipes"]

    code, report = run_json(synced)

    assert code == 0
    assert report["status"] == "ok"
    assert report["findings"] == []
    customers, invoices = pipe(report, "customers"), pipe(report, "invoices")
    assert (customers["in_crm"], customers["in_books"], customers["matched"]) == (3, 3, 3)
    assert (invoices["in_crm"], invoices["in_books"], invoices["matched"]) == (2, 2, 2)
    assert invoices["skipped"] == 1  # the open deal: in the CRM, out of the pipe's scope
    assert book.read_bytes() == before
    assert main_json(synced, "status")["pipes"] == links_before
    last = main_json(synced, "runs")[0]
    assert (last["command"], last["status"]) == ("reconcile", "ok")

    code, text, _ = run(synced)
    assert code == 0
    assert "No drift" in text


def test_an_invoice_amount_edited_in_the_ledger_differs_with_both_values(synced: Path) -> None:
    edit_ledger(
        synced,
        lambda t: t.replace(
            "Assets:Receivable:Ada-Lovelace   1440.00 USD",
            "Assets:Receivable:Ada-Lovelace   1500.00 USD",
        ).replace("-1200.00 USD", "-1260.00 USD"),
    )

    code, report = run_json(synced)

    assert code == 1
    assert report["status"] == "drift"
    [finding] = found(report, "differs")
    assert (finding["pipe"], finding["source_key"]) == ("invoices", "D1")
    assert fields(finding) == {"total": ("1500.00", "1440.00")}
    assert pipe(report, "invoices")["differs"] == 1
    code, text, _ = run(synced)
    assert code == 1
    assert "1500.00" in text
    assert "1440.00" in text


def test_a_customer_whose_open_directive_was_deleted_is_missing(synced: Path) -> None:
    edit_ledger(
        synced,
        lambda t: re.sub(r"2000-01-01 open Assets:Receivable:Grace-Hopper\n(  .*\n)*", "", t),
    )

    code, report = run_json(synced)

    assert code == 1
    [missing] = found(report, "missing")
    assert (missing["pipe"], missing["source_key"], missing["name"]) == (
        "customers",
        "C3",
        "Grace Hopper",
    )
    assert "no longer in the books" in missing["reason"]
    assert found(report, "extra") == []


def test_a_hand_made_customer_nobody_in_the_crm_matches_is_extra(synced: Path) -> None:
    edit_ledger(
        synced,
        lambda t: (
            t + '\n2020-01-01 open Assets:Receivable:Globex USD\n  email: "ap@globex.example"\n'
        ),
    )

    code, report = run_json(synced)

    assert code == 1
    [extra] = found(report, "extra")
    assert (extra["pipe"], extra["target_id"], extra["name"]) == (
        "customers",
        "Assets:Receivable:Globex",
        "Globex",
    )
    assert extra["source_key"] == ""
    assert pipe(report, "customers")["in_books"] == 4


def test_payments_typed_in_the_ledger_show_paid_and_balance_without_drift(synced: Path) -> None:
    analytical, tps = (_link_from_ledger(synced, m) for m in ("Analytical engine", "TPS reports"))
    edit_ledger(
        synced,
        lambda t: (
            t
            + "\n2000-01-01 open Assets:Bank:Checking\n"
            + f'\n2026-10-20 * "Ada Lovelace" "Payment, thank you" ^{analytical}\n'
            + "  Assets:Bank:Checking             1440.00 USD\n"
            + "  Assets:Receivable:Ada-Lovelace  -1440.00 USD\n"
            + f'\n2026-10-21 * "Initech Ltd" "Part payment" ^{tps}\n'
            + "  Assets:Bank:Checking            50.00 USD\n"
            + "  Assets:Receivable:Initech-Ltd  -50.00 USD\n"
        ),
    )

    code, report = run_json(synced)

    assert code == 0  # being paid is how an invoice's life goes on, not drift
    paid = {f["source_key"]: fields(f) for f in found(report, "paid", "invoices")}
    assert paid["D1"] == {"status": ("paid", "issued"), "balance": ("0.00", "1440.00")}
    assert paid["D2"] == {"status": ("part-paid", "issued"), "balance": ("49.99", "99.99")}
    code, text, _ = run(synced)
    assert "paid" in text
    assert "0.00 in the books" in text


def test_an_invoice_voided_by_hand_is_status_drift(synced: Path) -> None:
    link = _link_from_ledger(synced, "TPS reports")
    edit_ledger(
        synced,
        lambda t: (
            t
            + f'\n2026-10-22 * "Initech Ltd" "Void: TPS reports" #void ^{link}\n'
            + "  Assets:Receivable:Initech-Ltd  -99.99 USD\n"
            + "  Income:Sales                    99.99 USD\n"
        ),
    )

    code, report = run_json(synced)

    assert code == 1
    [finding] = found(report, "differs")
    assert finding["source_key"] == "D2"
    assert fields(finding) == {"status": ("void", "issued")}


def test_open_deals_are_never_reported_and_a_lost_deal_left_in_the_books_is_extra(
    workspace: Path,
) -> None:
    code, before_sync = run_json(workspace)
    assert code == 1
    reported = {f["source_key"] for f in before_sync["findings"]}
    assert reported == {"C1", "C2", "C3", "D1", "D2"}  # not D3, the open deal
    assert {f["kind"] for f in before_sync["findings"]} == {"missing"}

    CliRunner().invoke(app, ["sync", "--config", str(workspace / "ledgerlink.yaml")])
    (workspace / "deals.csv").write_text(
        DEALS.replace("Closed Won,2026-10-02", "Lost,2026-10-02"), encoding="utf-8"
    )
    code, report = run_json(workspace)

    assert code == 1
    [extra] = found(report, "extra")
    assert (extra["pipe"], extra["source_key"]) == ("invoices", "D2")
    assert "filter leaves out" in extra["reason"]
    assert pipe(report, "invoices")["skipped"] == 2


def test_a_first_run_pairs_a_hand_made_account_by_its_email(workspace: Path) -> None:
    (workspace / "books.beancount").write_text(
        'option "operating_currency" "USD"\n\n'
        "2020-01-01 open Assets:Receivable:Lovelace-Ada\n"
        '  email: "ADA@example.com"\n'
        '  phone: "+441234"\n',
        encoding="utf-8",
    )

    code, report = run_json(workspace, "--pipe", "customers")

    assert code == 1
    assert [p["name"] for p in report["pipes"]] == ["customers"]
    [differs] = found(report, "differs")
    assert (differs["source_key"], differs["target_id"]) == ("C1", "Assets:Receivable:Lovelace-Ada")
    assert fields(differs)["phone"] == ("+441234", "+442079460000")
    assert {f["source_key"] for f in found(report, "missing")} == {"C2", "C3"}
    assert found(report, "extra") == []


def test_a_customer_account_renamed_by_hand_is_still_paired(synced: Path) -> None:
    edit_ledger(synced, lambda t: t.replace("Receivable:Ada-Lovelace", "Receivable:Countess"))

    code, report = run_json(synced)

    assert code == 0, report["findings"]


def test_the_csv_has_every_finding_and_is_formula_safe(workspace: Path) -> None:
    (workspace / "contacts.csv").write_text(
        CONTACTS + "C4,=1+2,mallory@example.com,,,\n", encoding="utf-8"
    )
    target = workspace / "drift.csv"

    code, _, stderr = run(workspace, "--csv", str(target))

    assert code == 1
    assert "drift.csv" in stderr
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["pipe", "finding", "CRM record"]
    assert len(rows) == 1 + 6  # four customers and two won deals, all missing
    mallory = next(r for r in rows if r[2] == "C4")
    assert "'=1+2" in mallory
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_the_html_report_is_self_contained_and_escapes_names(workspace: Path) -> None:
    (workspace / "contacts.csv").write_text(
        CONTACTS + 'C5,<script>alert("x")</script>,eve@example.com,,,\n', encoding="utf-8"
    )
    target = workspace / "drift.html"

    code, _, _ = run(workspace, "--html", str(target), "--json")

    assert code == 1
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page
    assert "<rect" in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", page, re.IGNORECASE)
    assert "http" not in " ".join(re.findall(r"(?:src|href)\s*=\s*\S+", page))


def test_money_is_reported_as_exact_decimal_strings(synced: Path) -> None:
    edit_ledger(
        synced,
        lambda t: t.replace("   99.99 USD", "  100.10 USD").replace("-99.99 USD", "-100.10 USD"),
    )

    code, report = run_json(synced)

    assert code == 1
    [finding] = found(report, "differs")
    assert fields(finding)["total"] == ("100.10", "99.99")


def test_a_ledger_that_does_not_load_exits_3_and_the_run_is_failed(synced: Path) -> None:
    book = synced / "books.beancount"
    broken = book.read_text(encoding="utf-8") + "\n2026-13-45 * this is not beancount\n"
    book.write_text(broken, encoding="utf-8")

    code, stdout, stderr = run(synced)

    assert code == 3
    assert "books.beancount" in stdout + stderr
    assert book.read_text(encoding="utf-8") == broken
    last = main_json(synced, "runs")[0]
    assert (last["command"], last["status"]) == ("reconcile", "failed")


def test_configuration_errors_exit_2(workspace: Path) -> None:
    code, _, stderr = run(workspace, "--pipe", "nope")
    assert code == 2
    assert "nope" in stderr

    (workspace / "ledgerlink.yaml").write_text(CONFIG.replace("version: 1", "version: 9"))
    code, _, _ = run(workspace)
    assert code == 2


# The comparison itself, without files: rules a user of other books would notice.


def _invoice(total: str, status: InvoiceStatus = "issued") -> Invoice:
    amount = Decimal(total)
    line = InvoiceLine("Work", Decimal(1), amount, amount)
    return Invoice(
        customer_key="C1",
        currency="USD",
        issue_date=date(2026, 10, 1),
        lines=(line,),
        tax_lines=(),
        subtotal=amount,
        tax_total=Decimal("0.00"),
        total=amount,
        status=status,
    )


def _sides(desired: Invoice, books: Invoice, paid: str | None) -> PipeSides:
    settled = None if paid is None else (lambda _id, _inv: Decimal(paid))
    return PipeSides(
        pipe="invoices",
        source="crm.deals",
        target="books.invoices",
        desired=[Desired("D1", desired)],
        existing=[TargetRecord("INV-1", books)],
        links={"D1": _Link("INV-1", "ll-1")},
        settled=settled,
    )


class _Link:
    def __init__(self, target_id: str, ledgerlink_id: str) -> None:
        self.target_id, self.ledgerlink_id = target_id, ledgerlink_id


def test_an_invoice_the_crm_says_is_paid_but_the_books_show_owing_is_drift() -> None:
    compared = compare_pipe(_sides(_invoice("10.00", "paid"), _invoice("10.00"), paid="4.00"))

    [finding] = compared.result.findings
    assert finding.kind == "differs"
    assert {(d.field, d.books, d.desired) for d in finding.fields} == {
        ("status", "issued", "paid"),
        ("balance", "6.00", "0.00"),
    }


def test_a_field_the_books_never_hold_is_not_compared() -> None:
    desired = Customer(display_name="Ada", email="ada@example.com", payment_terms_days=14)
    books = Customer(display_name="Ada", email="ADA@example.com")  # no terms in these books
    sides = PipeSides(
        pipe="customers",
        source="crm.contacts",
        target="books.customers",
        desired=[Desired("C1", desired)],
        existing=[TargetRecord("42", books)],
        links={},
    )

    compared = compare_pipe(sides)

    assert compared.result.findings == []
    assert compared.pairs == {"C1": "42"}
