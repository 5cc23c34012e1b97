"""The csv connector's contacts stream: keys, lazy records, duplicates, ragged rows, cursors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ledgerlink.canonical.records import Change, Contact, ReadFailure
from ledgerlink.connectors.base import ConnectorContext, SourceConnector, StreamRead
from ledgerlink.connectors.csv.config import CsvConfig
from ledgerlink.connectors.csv.connector import CsvConnector
from ledgerlink.connectors.registry import connector_type
from ledgerlink.errors import ConfigError, ConnectionFailedError, RecordError


def make(tmp_path: Path, text: str, name: str = "contacts.csv", **settings: object) -> CsvConnector:
    (tmp_path / name).write_bytes(text.encode("utf-8"))
    config = CsvConfig.model_validate({"type": "csv", "contacts": name, **settings})
    return CsvConnector(config, ConnectorContext("crm", tmp_path))


def items(connector: CsvConnector, cursor: str | None = None) -> list[Change | ReadFailure]:
    return list(connector.read("contacts", cursor))


def changes(connector: CsvConnector) -> list[Change]:
    found = items(connector)
    assert all(isinstance(i, Change) for i in found), found
    return [i for i in found if isinstance(i, Change)]


def contact(change: Change) -> Contact:
    record = change.load()
    assert isinstance(record, Contact)
    return record


def test_registry_builds_a_source_connector_without_touching_the_file(tmp_path: Path) -> None:
    kind = connector_type("csv")
    config = kind.config_model().model_validate({"type": "csv", "contacts": "missing.csv"})
    built = kind.build(config, ConnectorContext("crm", tmp_path))
    assert isinstance(built, SourceConnector)
    assert built.readable_streams() == ("contacts",)
    with pytest.raises(ConnectionFailedError, match=r"missing.csv does not exist"):
        built.check()


def test_keys_come_from_id_then_email_then_name(tmp_path: Path) -> None:
    conn = make(
        tmp_path,
        "ID,Name,Email,Company\n"
        "C-1,Ann Lee,ann@example.com,\n"
        ",Bob Stone, Bob.Stone@Example.COM ,\n"
        ",Zoë Ängström,,\n"
        ",,,ACME Ltd.\n",
    )
    assert [c.key for c in changes(conn)] == [
        "C-1",
        "bob.stone@example.com",
        "name:zoe angstrom",
        "name:acme",
    ]


def test_location_is_the_physical_line_even_after_multi_line_notes(tmp_path: Path) -> None:
    conn = make(
        tmp_path,
        'Email,Notes\r\na@example.com,"first\r\nsecond\r\nthird"\r\n\r\nb@example.com,plain\r\n',
    )
    assert [c.location for c in changes(conn)] == ["contacts.csv:line 2", "contacts.csv:line 6"]


def test_load_builds_the_canonical_contact(tmp_path: Path) -> None:
    conn = make(
        tmp_path,
        "First Name,Last Name,Organisation,E-Mail,Email 2,Phone,Mobile,Street,City,State,Zip,"
        "Country,VAT number,Currency,Payment terms,Credit limit,Notes,Updated\n"
        'Ann,Lee,Lee & Co,Ann@Example.COM,ann@example.com,(415) 555-0100,,"1 Main St\nSuite 2",'
        'Springfield,IL,62701,US,DE123456789,eur,Net 30,"12,500.00",VIP,2024-03-01T10:00:00\n',
    )
    [change] = changes(conn)
    record = contact(change)
    assert record.kind == "person"
    assert record.display_name == "Ann Lee"
    assert record.company == "Lee & Co"
    assert record.emails == ("Ann@example.com",)  # the second is the same address
    assert record.phones == ("+14155550100",)
    [address] = record.addresses
    assert (address.kind, address.street, address.postal_code) == (
        "billing",
        "1 Main St\nSuite 2",
        "62701",
    )
    assert record.tax_id == "DE123456789"
    assert record.currency == "EUR"
    assert record.payment_terms_days == 30
    assert record.credit_limit == Decimal("12500.00")
    assert record.updated_at is not None
    assert record.updated_at.utcoffset() is not None


def test_a_company_alone_is_a_company_and_kind_column_wins(tmp_path: Path) -> None:
    conn = make(
        tmp_path,
        "id,name,company,kind\n1,,Globex,\n2,Globex,Globex,\n"
        "3,Hank Scorpio,Globex,\n4,Solo,,company\n",
    )
    kinds = [contact(c).kind for c in changes(conn)]
    assert kinds == ["company", "company", "person", "company"]


def test_expensive_validation_waits_for_load(tmp_path: Path) -> None:
    conn = make(tmp_path, "Email,E-mail 2\nann@example.com,not-an-address\n")
    [change] = changes(conn)  # reading succeeds: nothing is validated yet
    assert change.key == "ann@example.com"
    with pytest.raises(RecordError) as caught:
        change.load()
    assert "E-mail 2" in caught.value.message
    assert "not-an-address" in caught.value.message
    assert caught.value.hint
    assert caught.value.hint[0].isupper()


@pytest.mark.parametrize(
    ("header", "cell", "message"),
    [
        ("Currency", "Euros", "'Euros' is not a currency"),
        ("Payment terms", "soon", "'soon' is not a number of days"),
        ("Credit limit", "-5", "is negative"),
        ("Kind", "robot", "'robot' is neither person nor company"),
        ("Updated", "next week", "'next week' is not a date"),
    ],
)
def test_bad_cells_are_record_errors_naming_field_and_value(
    tmp_path: Path, header: str, cell: str, message: str
) -> None:
    conn = make(tmp_path, f"Email,{header}\nann@example.com,{cell}\n")
    [change] = changes(conn)
    with pytest.raises(RecordError, match=message) as caught:
        change.load()
    assert header in str(caught.value)
    assert caught.value.hint
    assert caught.value.hint[0].isupper()


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x","y")', "+1 trick", "-minus", "@SUM(A1)"])
def test_formula_looking_cells_arrive_verbatim(tmp_path: Path, name: str) -> None:
    quoted = '"' + name.replace('"', '""') + '"'
    conn = make(tmp_path, f"Email,Name,Notes\nann@example.com,{quoted},{quoted}\n")
    [change] = changes(conn)
    record = contact(change)
    assert record.display_name == name
    assert record.notes == name
    assert change.raw["Name"] == name


def test_the_same_row_twice_is_one_contact(tmp_path: Path) -> None:
    conn = make(
        tmp_path, "Email,Name\nann@example.com,Ann\nann@example.com,Ann\nbob@example.com,Bob\n"
    )
    assert [c.key for c in changes(conn)] == ["ann@example.com", "bob@example.com"]


def test_a_different_row_with_the_same_key_is_dead_lettered(tmp_path: Path) -> None:
    conn = make(
        tmp_path, "Email,Name\nann@example.com,Ann\nbob@example.com,Bob\nANN@example.com,Annie\n"
    )
    first, _, second = changes(conn)
    assert first.key == second.key == "ann@example.com"
    assert contact(first).display_name == "Ann"
    with pytest.raises(RecordError, match="line 4 has the same key as line 2") as caught:
        second.load()
    assert caught.value.hint is not None
    assert "Merge" in caught.value.hint


def test_rows_without_any_key_are_failures_and_empty_rows_are_skipped(tmp_path: Path) -> None:
    conn = make(tmp_path, "Email,Name,Phone\n,,555-0100\n,,\nann@example.com,Ann,\n")
    failure, change = items(conn)
    assert isinstance(failure, ReadFailure)
    assert failure.key == failure.location == "contacts.csv:line 2"
    assert failure.raw == {"Phone": "555-0100"}
    assert failure.error.hint is not None
    assert isinstance(change, Change)


def test_short_rows_get_empty_cells_and_long_rows_with_data_fail(tmp_path: Path) -> None:
    conn = make(
        tmp_path,
        "Email,Name,Notes\nann@example.com\nbob@example.com,Bob,,,\ncid@example.com,Cid,x,extra\n",
    )
    short, padded, long = changes(conn)
    assert contact(short).emails == ("ann@example.com",)
    assert contact(padded).display_name == "Bob"
    with pytest.raises(RecordError, match="4 cells but the header has 3 columns"):
        long.load()
    assert long.raw["column 4"] == "extra"


def test_a_stray_quote_fails_one_row_and_the_rest_is_read(tmp_path: Path) -> None:
    conn = make(tmp_path, 'Email,Name\nann@example.com,"Ann" Lee\nbob@example.com,Bob\n')
    failure, change = items(conn)
    assert isinstance(failure, ReadFailure)
    assert failure.location == "contacts.csv:line 2"
    assert "not valid CSV" in failure.error.message
    assert isinstance(change, Change)
    assert change.key == "bob@example.com"


def test_an_unclosed_quote_names_the_lines_it_swallowed(tmp_path: Path) -> None:
    conn = make(
        tmp_path, 'Email,Name\nann@example.com,Ann\nbob@example.com,"Bob\ncid@example.com,Cid\n'
    )
    change, failure = items(conn)
    assert isinstance(change, Change)
    assert isinstance(failure, ReadFailure)
    assert "opened on line 3 is never closed" in failure.error.message
    assert "lines 3-4" in failure.error.message


def test_raw_holds_the_non_empty_cells_by_header(tmp_path: Path) -> None:
    conn = make(tmp_path, "Email,Name,Birthday,Notes\nann@example.com,Ann,0/0/00,\n")
    [change] = changes(conn)
    assert dict(change.raw) == {"Email": "ann@example.com", "Name": "Ann"}


def test_unchanged_file_reads_nothing_and_keeps_its_cursor(tmp_path: Path) -> None:
    conn = make(tmp_path, "Email\nann@example.com\n")
    first = conn.read("contacts", None)
    assert isinstance(first, StreamRead)
    assert len(list(first)) == 1
    cursor = first.cursor()
    assert cursor is not None
    again = conn.read("contacts", cursor)
    assert list(again) == []
    assert again.cursor() == cursor
    (tmp_path / "contacts.csv").write_text("Email\nann@example.com\nbob@example.com\n")
    changed = conn.read("contacts", cursor)
    assert [c.key for c in changed] == ["ann@example.com", "bob@example.com"]
    assert changed.cursor() not in (None, cursor)


def test_versions_follow_the_row_and_the_settings(tmp_path: Path) -> None:
    conn = make(tmp_path, "Email,Phone\nann@example.com,555-0100\nbob@example.com,555-0101\n")
    before = {c.key: c.version for c in changes(conn)}
    (tmp_path / "contacts.csv").write_text(
        "Email,Phone\nann@example.com,555-0100\nbob@example.com,555-0199\n"
    )
    after = {c.key: c.version for c in changes(conn)}
    assert after["ann@example.com"] == before["ann@example.com"]
    assert after["bob@example.com"] != before["bob@example.com"]
    regional = make(tmp_path, (tmp_path / "contacts.csv").read_text(), default_region="GB")
    assert {c.key: c.version for c in changes(regional)}["ann@example.com"] != after[
        "ann@example.com"
    ]
    cursor = conn.read("contacts", None).cursor()
    assert list(regional.read("contacts", cursor)), "a settings change must re-read the file"


def test_cursor_is_none_when_the_file_changes_during_the_read(tmp_path: Path) -> None:
    conn = make(tmp_path, "Email\nann@example.com\n")
    read = conn.read("contacts", None)
    list(read)
    (tmp_path / "contacts.csv").write_text("Email\nann@example.com\nbob@example.com\n")
    assert read.cursor() is None


def test_streams_that_are_not_configured_are_config_errors(tmp_path: Path) -> None:
    conn = make(tmp_path, "Email\nann@example.com\n")
    assert conn.readable_streams() == ("contacts",)
    with pytest.raises(ConfigError, match="no `deals:` file"):
        conn.read("deals", None)
    with pytest.raises(ConfigError, match="no stream 'invoices'"):
        conn.read("invoices", None)


def test_check_describes_the_file_in_one_line(tmp_path: Path) -> None:
    conn = make(tmp_path, "Email;Name\nann@example.com;Ann\nbob@example.com;Bob\n")
    assert conn.check() == "contacts.csv: 2 contacts, UTF-8, delimiter ';'"


def test_unreadable_file_is_a_connection_failure(tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").mkdir()
    conn = CsvConnector(
        CsvConfig(type="csv", contacts=Path("contacts.csv")), ConnectorContext("crm", tmp_path)
    )
    with pytest.raises(ConnectionFailedError, match="is a directory"):
        conn.read("contacts", None)


def test_an_unclosed_quote_on_the_last_line_names_that_line(tmp_path: Path) -> None:
    conn = make(tmp_path, 'Email,Name\nann@example.com,Ann\nbob@example.com,"Bob\n')
    _, failure = items(conn)
    assert isinstance(failure, ReadFailure)
    assert failure.error.message.endswith("never closed, so line 3 could not be read")
