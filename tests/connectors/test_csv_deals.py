"""The csv connector's deals stream: amounts, stages, line items, contacts and what goes wrong."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ledgerlink.canonical.records import Change, Deal, ReadFailure
from ledgerlink.connectors.base import ConnectorContext
from ledgerlink.connectors.csv.config import CsvConfig
from ledgerlink.connectors.csv.connector import CsvConnector
from ledgerlink.errors import RecordError
from ledgerlink.mapping.defaults import InvoiceRules, deal_to_invoice


def make(tmp_path: Path, text: str, **settings: object) -> CsvConnector:
    (tmp_path / "deals.csv").write_text(text, encoding="utf-8")
    config = CsvConfig.model_validate({"type": "csv", "deals": "deals.csv", **settings})
    return CsvConnector(config, ConnectorContext("crm", tmp_path))


def changes(conn: CsvConnector) -> list[Change]:
    found = list(conn.read("deals", None))
    assert all(isinstance(i, Change) for i in found), found
    return [i for i in found if isinstance(i, Change)]


def deal(change: Change) -> Deal:
    record = change.load()
    assert isinstance(record, Deal)
    return record


def deals(conn: CsvConnector) -> dict[str, Deal]:
    return {c.key: deal(c) for c in changes(conn)}


def test_a_one_row_deal(tmp_path: Path) -> None:
    conn = make(
        tmp_path,
        "Deal ID,Deal Name,Contact Email,Amount,Currency,Stage,Close Date,Tax Rate,Invoice Number\n"
        'D-1,Website redesign,Ann@Example.com,"12,500.00",eur,Closed Won,2024-03-31,19%,INV-7\n',
    )
    [change] = changes(conn)
    assert (change.key, change.location) == ("D-1", "deals.csv:line 2")
    record = deal(change)
    assert record.title == "Website redesign"
    assert record.contact_key == "ann@example.com"
    assert record.amount == Decimal("12500.00")
    assert record.currency == "EUR"
    assert (record.stage, record.status) == ("Closed Won", "won")
    assert record.close_date == date(2024, 3, 31)
    assert record.tax_rate == Decimal(19)
    assert record.number == "INV-7"
    assert record.lines == ()


@pytest.mark.parametrize(
    ("text", "separator", "expected"),
    [
        ("1,234.50", ".", "1234.50"),
        ("1.234,50", ".", "1234.50"),
        ("1 234,50", ",", "1234.50"),
        ("1.234", ",", "1234"),
        ("$12,000", ".", "12000"),
        ("1234.5678", ".", "1234.5678"),  # kept exact: rounding is the mapping's business
        ("-250", ".", "-250"),
    ],
)
def test_amounts_parse_exactly(tmp_path: Path, text: str, separator: str, expected: str) -> None:
    conn = make(
        tmp_path, f'id;contact;amount\nD1;a@example.com;"{text}"\n', decimal_separator=separator
    )
    assert deals(conn)["D1"].amount == Decimal(expected)
    assert str(deals(conn)["D1"].amount) == expected


@pytest.mark.parametrize(
    ("stage", "status"),
    [
        ("won", "won"),
        ("CLOSED WON", "won"),
        ("closed_won", "won"),
        ("Closed Lost", "lost"),
        ("lost", "lost"),
        ("Proposal", "open"),
        ("", "open"),
    ],
)
def test_status_follows_the_stage(tmp_path: Path, stage: str, status: str) -> None:
    conn = make(tmp_path, f"id,contact,amount,stage\nD1,a@example.com,10,{stage}\n")
    assert deals(conn)["D1"].status == status


def test_won_and_lost_stages_are_configurable(tmp_path: Path) -> None:
    conn = make(
        tmp_path,
        "id,contact,amount,stage\nD1,a@example.com,10,Signed\nD2,a@example.com,10,won\n"
        "D3,a@example.com,10,Dropped\n",
        won_stages=["Signed"],
        lost_stages=["dropped"],
    )
    assert [d.status for d in deals(conn).values()] == ["won", "open", "lost"]


def test_contact_key_is_an_email_or_an_id(tmp_path: Path) -> None:
    conn = make(tmp_path, "id,contact,amount\nD1, Ann@Example.COM ,1\nD2,C-17,1\n")
    assert [d.contact_key for d in deals(conn).values()] == ["ann@example.com", "C-17"]


def test_consecutive_rows_of_a_deal_are_its_lines(tmp_path: Path) -> None:
    conn = make(
        tmp_path,
        "Deal ID,Title,Contact,Amount,Stage,Description,Qty,Unit Price,SKU,Discount,Line Tax\n"
        'D1,Fit-out,a@example.com,"2,250.00",won,Desk,2,"1,000.00",DSK,10,18%\n'
        "D1,,,,,Chair,1,250.00,CHR,,5\n"
        "D1,,,,,Delivery,1,200.00,,,\n"
        "D2,Repair,b@example.com,80,open,Labour,2,40,,,\n",
    )
    found = changes(conn)
    assert [(c.key, c.location) for c in found] == [
        ("D1", "deals.csv:line 2"),
        ("D2", "deals.csv:line 5"),
    ]
    record = deal(found[0])
    assert [
        (line.description, line.quantity, line.unit_price, line.sku) for line in record.lines
    ] == [
        ("Desk", Decimal(2), Decimal("1000.00"), "DSK"),
        ("Chair", Decimal(1), Decimal("250.00"), "CHR"),
        ("Delivery", Decimal(1), Decimal("200.00"), ""),
    ]
    assert record.lines[0].discount_percent == Decimal(10)
    assert [line.tax_rate for line in record.lines] == [Decimal(18), Decimal(5), None]
    assert found[0].raw["Description (line 3)"] == "Chair"
    invoice = deal_to_invoice(record, InvoiceRules(), today=date(2024, 1, 1))
    assert invoice.subtotal == record.amount
    assert invoice.tax_total == Decimal("336.50")  # 1,800 x 18% + 250 x 5%


def test_changing_one_line_changes_the_deal_version(tmp_path: Path) -> None:
    text = "id,contact,amount,description,unit price\nD1,a@example.com,3,A,1\nD1,,,B,2\n"
    before = changes(make(tmp_path, text))[0].version
    after = changes(make(tmp_path, text.replace("B,2", "B,3")))[0].version
    assert before != after


def test_a_deal_split_across_the_file_must_be_sorted(tmp_path: Path) -> None:
    conn = make(
        tmp_path,
        "id,contact,amount,description,unit price\n"
        "D1,a@example.com,3,A,1\nD2,b@example.com,5,C,5\nD1,,,B,2\n",
    )
    found = changes(conn)
    assert [c.key for c in found] == ["D1", "D2"]
    with pytest.raises(
        RecordError, match="deal 'D1' is split: its rows start at lines 2 and 4"
    ) as caught:
        found[0].load()
    assert caught.value.hint is not None
    assert "Sort the export by deal id" in caught.value.hint
    assert deal(found[1]).amount == Decimal(5)


def test_rows_of_one_deal_must_agree(tmp_path: Path) -> None:
    conn = make(
        tmp_path,
        "id,contact,amount,description,unit price\n"
        "D1,a@example.com,3,A,1\nD1,a@example.com,4,B,2\n",
    )
    [change] = changes(conn)
    with pytest.raises(RecordError, match="amount is '3' on line 2 but '4' on line 3"):
        change.load()


def test_a_line_needs_a_unit_price(tmp_path: Path) -> None:
    conn = make(tmp_path, "id,contact,amount,description,unit price\nD1,a@example.com,3,A,\n")
    [change] = changes(conn)
    with pytest.raises(RecordError, match="line 2 has no unit price"):
        change.load()


def test_without_a_unit_price_column_a_description_is_no_line(tmp_path: Path) -> None:
    conn = make(tmp_path, "id,contact,amount,description\nD1,a@example.com,3,Consulting\n")
    assert deals(conn)["D1"].lines == ()


def test_an_amount_formula_is_refused_with_the_fix(tmp_path: Path) -> None:
    conn = make(tmp_path, 'id,contact,amount\nD1,a@example.com,"=SUM(C2:C4)"\n')
    [change] = changes(conn)
    with pytest.raises(RecordError, match="cell holds a formula") as caught:
        change.load()
    assert "export values instead" in caught.value.message
    assert caught.value.hint
    assert caught.value.hint.startswith("Export the values")


@pytest.mark.parametrize(
    ("header", "cell", "message"),
    [
        ("currency", "Dollars", "currency 'Dollars' is not a currency ledgerlink knows"),
        ("amount", "12 apples", "amount '12 apples' is not an amount"),
        ("amount", "1,23,4", "is not an amount"),
        ("tax rate", "18 percent", "tax rate '18 percent' is not a percentage"),
        ("tax rate", "180", "is not between 0% and 100%"),
        ("close date", "31/02/2024", "close date '31/02/2024' is not a date"),
    ],
)
def test_bad_deal_cells_name_field_and_value(
    tmp_path: Path, header: str, cell: str, message: str
) -> None:
    columns = "id,contact,amount" + ("" if header == "amount" else f",{header}")
    values = f"D1,a@example.com,{'10' if header != 'amount' else ''}"
    row = f'{values}"{cell}"' if header == "amount" else f'{values},"{cell}"'
    conn = make(tmp_path, f"{columns}\n{row}\n")
    [change] = changes(conn)
    with pytest.raises(RecordError, match=message) as caught:
        change.load()
    assert caught.value.hint
    assert caught.value.hint[0].isupper()


def test_a_deal_without_contact_or_amount_is_a_record_error(tmp_path: Path) -> None:
    conn = make(tmp_path, "id,contact,amount\nD1,,10\nD2,a@example.com,\n")
    first, second = changes(conn)
    with pytest.raises(RecordError, match="deal 'D1' has no contact"):
        first.load()
    with pytest.raises(RecordError, match="deal 'D2' has no amount"):
        second.load()


def test_currency_defaults_to_the_connection_currency(tmp_path: Path) -> None:
    conn = make(tmp_path, "id,contact,amount\nD1,a@example.com,10\n", currency="inr")
    assert deals(conn)["D1"].currency == "INR"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2024-03-31", date(2024, 3, 31)),
        ("03/31/2024", date(2024, 3, 31)),
        ("31.03.2024", date(2024, 3, 31)),
        ("2024-03-31T17:00:00Z", date(2024, 3, 31)),
        ("0/0/00", None),
        ("", None),
    ],
)
def test_close_dates_in_common_formats(tmp_path: Path, cell: str, expected: date | None) -> None:
    conn = make(tmp_path, f"id,contact,amount,close date\nD1,a@example.com,10,{cell}\n")
    assert deals(conn)["D1"].close_date == expected


def test_date_formats_are_configurable(tmp_path: Path) -> None:
    conn = make(
        tmp_path,
        "id,contact,amount,close date\nD1,a@example.com,10,31/03/2024\n",
        date_formats=["%d/%m/%Y"],
    )
    assert deals(conn)["D1"].close_date == date(2024, 3, 31)


def test_duplicate_deal_rows_without_line_items(tmp_path: Path) -> None:
    conn = make(
        tmp_path,
        "id,contact,amount\nD1,a@example.com,10\nD1,a@example.com,10\nD1,a@example.com,12\n",
    )
    first, second = changes(conn)
    assert deal(first).amount == Decimal(10)
    with pytest.raises(RecordError, match="duplicate deal: line 4 has the same key as line 2"):
        second.load()


def test_a_row_without_deal_id_is_a_failure(tmp_path: Path) -> None:
    conn = make(tmp_path, "id,contact,amount\n,a@example.com,10\nD2,b@example.com,5\n")
    failure, change = list(conn.read("deals", None))
    assert isinstance(failure, ReadFailure)
    assert failure.location == "deals.csv:line 2"
    assert "no deal id" in failure.error.message
    assert isinstance(change, Change)
