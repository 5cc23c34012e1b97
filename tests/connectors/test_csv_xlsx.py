"""XLSX exports through the csv connector: exact numbers, row numbers, sheets, formulas as text."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from ledgerlink.canonical.records import Change, Contact, Deal
from ledgerlink.connectors.base import ConnectorContext
from ledgerlink.connectors.csv.config import CsvConfig
from ledgerlink.connectors.csv.connector import CsvConnector
from ledgerlink.errors import ConfigError, ConnectionFailedError, RecordError


def workbook(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)


def make(tmp_path: Path, **settings: object) -> CsvConnector:
    config = CsvConfig.model_validate({"type": "csv", **settings})
    return CsvConnector(config, ConnectorContext("crm", tmp_path))


def loaded(conn: CsvConnector, stream: str) -> list[tuple[Change, Contact | Deal]]:
    result = []
    for item in conn.read(stream, None):
        assert isinstance(item, Change)
        record = item.load()
        assert isinstance(record, Contact | Deal)
        result.append((item, record))
    return result


def test_deals_from_a_workbook_keep_amounts_exact(tmp_path: Path) -> None:
    workbook(
        tmp_path / "deals.xlsx",
        {
            "Deals": [
                ["Deal ID", "Contact", "Amount", "Close Date", "Tax Rate", "Stage"],
                ["D1", "ann@example.com", 1234.56, datetime(2024, 3, 31), 18, "Won"],
                [],
                ["D2", "bob@example.com", 0.1, date(2024, 4, 1), 0.5, "open"],
                ["D3", "cid@example.com", 100000000000.01, None, None, "lost"],
            ]
        },
    )
    conn = make(tmp_path, deals="deals.xlsx")
    found = loaded(conn, "deals")
    assert [c.location for c, _ in found] == [
        "deals.xlsx:row 2",
        "deals.xlsx:row 4",
        "deals.xlsx:row 5",
    ]
    records = [r for _, r in found if isinstance(r, Deal)]
    assert [r.amount for r in records] == [
        Decimal("1234.56"),
        Decimal("0.1"),
        Decimal("100000000000.01"),
    ]
    assert records[0].close_date == date(2024, 3, 31)
    assert records[1].tax_rate == Decimal("0.5")
    assert [r.status for r in records] == ["won", "open", "lost"]
    assert conn.check() == "deals.xlsx: 3 deals, sheet 'Deals'"


def test_a_formula_in_an_amount_is_refused(tmp_path: Path) -> None:
    workbook(
        tmp_path / "deals.xlsx",
        {"Deals": [["id", "contact", "amount", "qty"], ["D1", "ann@example.com", "=D2*2", 5]]},
    )
    [(change, _)] = [(c, None) for c in make(tmp_path, deals="deals.xlsx").read("deals", None)]
    assert isinstance(change, Change)
    with pytest.raises(
        RecordError, match=r"cell holds a formula \('=D2\*2'\); export values instead"
    ):
        change.load()


def test_a_formula_in_a_text_cell_is_kept_as_text_never_run(tmp_path: Path) -> None:
    workbook(
        tmp_path / "contacts.xlsx",
        {"Sheet": [["Email", "Name"], ["ann@example.com", '=HYPERLINK("http://x","Ann")']]},
    )
    [(change, record)] = loaded(make(tmp_path, contacts="contacts.xlsx"), "contacts")
    assert isinstance(record, Contact)
    assert record.display_name == '=HYPERLINK("http://x","Ann")'
    assert change.raw["Name"] == '=HYPERLINK("http://x","Ann")'


def test_the_configured_sheet_is_read_and_named_in_locations(tmp_path: Path) -> None:
    workbook(
        tmp_path / "crm.xlsx",
        {
            "Notes": [["nothing", "here"]],
            "People": [["Email", "Phone"], ["ann@example.com", 4155550100]],
        },
    )
    [(change, record)] = loaded(make(tmp_path, contacts="crm.xlsx", sheet="People"), "contacts")
    assert change.location == "crm.xlsx:People row 2"
    assert isinstance(record, Contact)
    assert record.phones == ("+14155550100",)


def test_a_missing_sheet_lists_the_sheets(tmp_path: Path) -> None:
    workbook(tmp_path / "crm.xlsx", {"People": [["Email"], ["a@example.com"]]})
    with pytest.raises(
        ConfigError, match=r"crm.xlsx has no sheet 'Contacts'; its sheets are 'People'"
    ):
        make(tmp_path, contacts="crm.xlsx", sheet="Contacts").check()


def test_a_file_that_is_not_a_workbook_cannot_be_opened(tmp_path: Path) -> None:
    (tmp_path / "crm.xlsx").write_text("Email\nann@example.com\n")
    with pytest.raises(ConnectionFailedError, match="cannot be opened as an XLSX workbook"):
        make(tmp_path, contacts="crm.xlsx").read("contacts", None)


def test_an_unchanged_workbook_reads_nothing(tmp_path: Path) -> None:
    workbook(tmp_path / "crm.xlsx", {"People": [["Email"], ["a@example.com"]]})
    conn = make(tmp_path, contacts="crm.xlsx")
    first = conn.read("contacts", None)
    assert len(list(first)) == 1
    cursor = first.cursor()
    assert list(conn.read("contacts", cursor)) == []


def test_an_old_xls_workbook_is_refused_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "crm.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500))
    with pytest.raises(ConfigError, match=r"crm.xls is an old Excel workbook \(.xls\)") as caught:
        make(tmp_path, contacts="crm.xls").check()
    assert caught.value.hint == "Save it as an Excel workbook (.xlsx) or export it as CSV"
