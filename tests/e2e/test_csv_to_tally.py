"""CSV contacts and INR deals into Tally over XML/HTTP: party ledgers, GST vouchers, re-runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledgerlink.cli.app import app
from ledgerlink.connectors.tally.gst import gstin_check_character
from tests.emulators.tally import TallyEmulator

GSTIN = "29AAACB1234C1Z" + gstin_check_character("29AAACB1234C1Z")  # Karnataka
CONTACTS = f"""\
id,display_name,email,tax_id,street,city,region,postal_code,country
P1,Mumbai Mart,accounts@mumbaimart.example,,12 Marine Drive,Mumbai,Maharashtra,400002,India
P2,Bengaluru Byte Pvt Ltd,ap@bbyte.example,{GSTIN},1 MG Road,Bengaluru,Karnataka,560001,India
"""
DEALS = """\
id,title,contact,amount,currency,stage,close_date,tax_rate,number
D1,Shelving,P1,"1,000.00",INR,Won,2026-10-01,18,INV-001
D2,Servers,P2,"25,000.50",INR,Won,2026-10-02,18,INV-002
D3,Pipeline,P2,"9,999.00",INR,Negotiation,2026-10-03,18,
"""


@pytest.fixture
def tally() -> TallyEmulator:
    return TallyEmulator()


@pytest.fixture
def workspace(tmp_path: Path, tally: TallyEmulator) -> Iterator[Path]:
    (tmp_path / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    with tally.serve() as url:
        (tmp_path / "ledgerlink.yaml").write_text(
            f"""\
version: 1
connections:
  crm: {{type: csv, contacts: contacts.csv, deals: deals.csv, currency: INR, default_region: IN}}
  books:
    type: tally
    url: {url}
    company: "{tally.company().name}"
    company_gstin: {tally.company().gstin}
pipes:
  - name: customers
    from: crm.contacts
    to: books.customers
  - name: invoices
    from: crm.deals
    to: books.invoices
""",
            encoding="utf-8",
        )
        yield tmp_path


def run(workspace: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        app, [*args, "--json", "--config", str(workspace / "ledgerlink.yaml")]
    )
    return result.exit_code, json.loads(result.stdout)


def pipe(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in report["pipes"] if p["name"] == name)


def imports(tally: TallyEmulator) -> int:
    return tally.envelopes.count("import")


def test_plan_shows_each_vouchers_gst_split_and_total(
    workspace: Path, tally: TallyEmulator
) -> None:
    code, report = run(workspace, "plan")
    assert code == 0
    assert imports(tally) == 0
    ops = {op["source_key"]: op for op in pipe(report, "invoices")["ops"]}
    assert set(ops) == {"D1", "D2"}
    assert ops["D1"]["record"]["total"] == "1180.00"
    assert ops["D1"]["note"].startswith("CGST 9% 90.00 + SGST 9% 90.00")
    assert ops["D2"]["record"]["total"] == "29500.59"
    assert ops["D2"]["note"].startswith("IGST 18% 4500.09")


def test_sync_books_ledgers_and_balanced_gst_vouchers_and_reruns_write_nothing(
    workspace: Path, tally: TallyEmulator
) -> None:
    code, report = run(workspace, "sync")
    assert code == 0, report
    assert pipe(report, "customers")["created"] == 2
    assert pipe(report, "invoices")["created"] == 2
    company = tally.company()
    assert company.master("LEDGER", "Bengaluru Byte Pvt Ltd") is not None
    assert len(company.vouchers) == 2
    for voucher in company.vouchers.values():
        amounts = [
            Decimal(e.findtext("AMOUNT") or "0")
            for e in voucher.node.iter("ALLLEDGERENTRIES.LIST", "LEDGERENTRIES.LIST")
        ]
        assert sum(amounts, Decimal(0)) == 0
    before = imports(tally)
    code, again = run(workspace, "sync")
    assert code == 0
    assert pipe(again, "customers")["created"] == 0
    assert imports(tally) == before
    code, full = run(workspace, "sync", "--full")
    assert code == 0
    assert imports(tally) == before
    assert pipe(full, "invoices")["unchanged"] == 2


def test_an_edited_contact_is_one_alter(workspace: Path, tally: TallyEmulator) -> None:
    run(workspace, "sync")
    before = imports(tally)
    edited = CONTACTS.replace("12 Marine Drive", "14 Marine Drive")
    (workspace / "contacts.csv").write_text(edited, encoding="utf-8")
    code, report = run(workspace, "sync")
    assert code == 0
    assert pipe(report, "customers")["updated"] == 1
    assert imports(tally) == before + 1
    ledger = tally.company().master("LEDGER", "Mumbai Mart")
    assert ledger is not None
    address = [e.text for e in ledger.node.iter("ADDRESS")]
    assert "14 Marine Drive" in address
