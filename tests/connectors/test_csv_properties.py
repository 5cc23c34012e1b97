"""Properties of the csv connector over generated files (Hypothesis)."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerlink.canonical.records import Change, Deal
from ledgerlink.connectors.base import ConnectorContext
from ledgerlink.connectors.csv.config import CsvConfig
from ledgerlink.connectors.csv.connector import CsvConnector

# Any text but NUL and lone surrogates, which no CSV file can hold as UTF-8.
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40)
TRICKY = st.sampled_from(
    ["", "=1+2", "+41 44", "-x", "@sum", 'a "quote"', "a,b;c\td|e", "l1\r\nl2\rl3\nl4"]
)
CELL = st.one_of(TEXT, TRICKY)
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def read(data: bytes, **settings_: object) -> list[Change]:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "contacts.csv").write_bytes(data)
        config = CsvConfig.model_validate({"type": "csv", "contacts": "contacts.csv", **settings_})
        conn = CsvConnector(config, ConnectorContext("crm", Path(folder)))
        found = list(conn.read("contacts", None))
    assert all(isinstance(c, Change) for c in found)
    return [c for c in found if isinstance(c, Change)]


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(CELL, CELL), max_size=12), delimiter=st.sampled_from([",", ";", "\t"])
)
def test_any_rows_written_by_csv_writer_come_back_verbatim(
    rows: list[tuple[str, str]], delimiter: str
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["ID", "Name", "Notes"])
    expected: list[tuple[str, int, str, str]] = []
    for number, (name, notes) in enumerate(rows):
        line = len(LINE_BREAK.findall(buffer.getvalue())) + 1
        writer.writerow([f"C{number}", name, notes])
        expected.append((f"C{number}", line, name, notes))
    found = read(buffer.getvalue().encode("utf-8"), delimiter=delimiter)
    assert [c.key for c in found] == [e[0] for e in expected]
    for change, (_, line, name, notes) in zip(found, expected, strict=True):
        assert change.location == f"contacts.csv:line {line}"
        assert change.raw.get("Name", "") == ("" if name == "0/0/00" else name)
        assert change.raw.get("Notes", "") == ("" if notes == "0/0/00" else notes)


@settings(max_examples=100, deadline=None)
@given(
    name=st.text(
        st.characters(codec="cp1252", exclude_characters="\x00\r\n\"',;\t|"),
        min_size=1,
        max_size=30,
    )
)
def test_cp1252_and_utf8_exports_read_the_same_text(name: str) -> None:
    text = f"ID,Name\nC1,{name}\n"
    shown = "" if name == "0/0/00" else name
    assert read(text.encode("utf-8"))[0].raw.get("Name", "") == shown
    legacy = text.encode("cp1252")
    try:
        legacy.decode("utf-8")
    except UnicodeDecodeError:
        # Not valid UTF-8, so it must be read as Windows-1252, exactly.
        assert read(legacy)[0].raw.get("Name", "") == shown


@settings(max_examples=150, deadline=None)
@given(
    amount=st.decimals(
        min_value=0, max_value=10**12, places=2, allow_nan=False, allow_infinity=False
    ),
    european=st.booleans(),
)
def test_formatted_amounts_parse_to_the_same_decimal(amount: Decimal, european: bool) -> None:
    text = f"{amount:,.2f}"
    if european:
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "deals.csv").write_text(f'id;contact;amount\nD1;a@example.com;"{text}"\n')
        config = CsvConfig.model_validate(
            {"type": "csv", "deals": "deals.csv", "decimal_separator": "," if european else "."}
        )
        [change] = list(
            CsvConnector(config, ConnectorContext("crm", Path(folder))).read("deals", None)
        )
    assert isinstance(change, Change)
    record = change.load()
    assert isinstance(record, Deal)
    assert record.amount == amount
