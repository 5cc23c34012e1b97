"""Encodings and delimiters of CSV exports: detected, or configured and checked."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from ledgerlink.canonical.records import Change, Contact
from ledgerlink.connectors.base import ConnectorContext
from ledgerlink.connectors.csv.config import CsvConfig
from ledgerlink.connectors.csv.connector import CsvConnector
from ledgerlink.connectors.files import CHUNK_SIZE, scan_text_file
from ledgerlink.errors import ConfigError

ROWS = "Email,Name\nmueller@example.de,Jürgen Müller\nzoe@example.fr,Zoë Ængström\n"


def make(tmp_path: Path, data: bytes, **settings: object) -> CsvConnector:
    (tmp_path / "contacts.csv").write_bytes(data)
    config = CsvConfig.model_validate({"type": "csv", "contacts": "contacts.csv", **settings})
    return CsvConnector(config, ConnectorContext("crm", tmp_path))


def names(conn: CsvConnector) -> list[str]:
    found = []
    for item in conn.read("contacts", None):
        assert isinstance(item, Change)
        record = item.load()
        assert isinstance(record, Contact)
        found.append(record.display_name)
    return found


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (ROWS.encode("utf-8"), "UTF-8"),
        (codecs.BOM_UTF8 + ROWS.encode("utf-8"), "UTF-8 with BOM"),
        (ROWS.encode("utf-16"), "UTF-16"),
        (ROWS.encode("cp1252"), "Windows-1252 (cp1252)"),
    ],
)
def test_encoding_is_detected(tmp_path: Path, data: bytes, label: str) -> None:
    conn = make(tmp_path, data)
    assert names(conn) == ["Jürgen Müller", "Zoë Ængström"]
    assert label in conn.check()


def test_a_byte_order_mark_never_reaches_the_first_header(tmp_path: Path) -> None:
    conn = make(tmp_path, codecs.BOM_UTF8 + ROWS.encode("utf-8"), encoding="utf-8")
    assert [c.key for c in conn.read("contacts", None)] == ["mueller@example.de", "zoe@example.fr"]


def test_a_wrong_configured_encoding_names_line_byte_and_the_fix(tmp_path: Path) -> None:
    conn = make(tmp_path, ROWS.encode("cp1252"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        conn.read("contacts", None)
    error = caught.value
    assert "contacts.csv is not utf-8" in error.message
    assert "byte 0xFC on line 2" in error.message
    assert error.hint is not None
    assert "`encoding: cp1252`" in error.hint


def test_an_undecodable_file_says_what_it_is_not(tmp_path: Path) -> None:
    # 0x81 is undefined in Windows-1252 and not UTF-8 either.
    conn = make(tmp_path, b"Email,Name\nann@example.com,An\x81n\n")
    with pytest.raises(ConfigError) as caught:
        conn.check()
    assert "cannot tell the encoding of contacts.csv" in caught.value.message
    assert "not UTF-8 (byte 0x81 on line 2)" in caught.value.message
    assert "not Windows-1252" in caught.value.message
    assert caught.value.hint
    assert caught.value.hint.startswith("Save the file as UTF-8")


def test_a_configured_legacy_code_page_reads_the_file(tmp_path: Path) -> None:
    conn = make(
        tmp_path, "Email,Name\nann@example.com,Łukasz Żółw\n".encode("cp1250"), encoding="cp1250"
    )
    assert names(conn) == ["Łukasz Żółw"]


def test_an_unknown_encoding_is_rejected_with_the_config(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown encoding 'utf-9'"):
        CsvConfig(type="csv", contacts=Path("c.csv"), encoding="utf-9")


def test_a_character_split_across_read_chunks_is_still_utf8(tmp_path: Path) -> None:
    head = b"Email,Notes\nann@example.com,"
    padding = b"x" * (CHUNK_SIZE - len(head) - 1)
    data = head + padding + "é\n".encode()  # é's two bytes straddle the chunk boundary
    (tmp_path / "big.csv").write_bytes(data)
    assert scan_text_file(tmp_path / "big.csv", None).encoding == "utf-8"


def test_an_invalid_byte_deep_in_a_large_file_is_found_with_its_line(tmp_path: Path) -> None:
    line = b"ann@example.com,plain ascii\n"
    count = CHUNK_SIZE // len(line) + 10
    data = b"Email,Notes\n" + line * count + b"bob@example.com,caf\xe9\n"
    conn = make(tmp_path, data, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"byte 0xE9 on line {count + 2}"):
        conn.read("contacts", None)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    text = f"Email{delimiter}Name{delimiter}Amount\nann@example.com{delimiter}Ann{delimiter}1,5\n"
    conn = make(tmp_path, text.encode())
    [change] = list(conn.read("contacts", None))
    assert isinstance(change, Change)
    assert change.raw["Name"] == "Ann"
    assert f"delimiter {delimiter!r}" in conn.check()


def test_a_configured_delimiter_is_used_as_is(tmp_path: Path) -> None:
    # Sniffing would pick the comma (first of the tied candidates); the configuration says "|".
    conn = make(tmp_path, b"Email|Name,Notes\nann@example.com|Ann\n", delimiter="|")
    [change] = list(conn.read("contacts", None))
    assert isinstance(change, Change)
    assert dict(change.raw) == {"Email": "ann@example.com", "Name,Notes": "Ann"}


def test_excel_sep_line_declares_the_delimiter(tmp_path: Path) -> None:
    conn = make(tmp_path, b"sep=;\r\nEmail;Name\r\nann@example.com;Lee, Ann\r\n")
    [change] = list(conn.read("contacts", None))
    assert isinstance(change, Change)
    assert change.location == "contacts.csv:line 3"
    assert dict(change.raw) == {"Email": "ann@example.com", "Name": "Lee, Ann"}
    assert "delimiter ';'" in conn.check()


def test_a_long_note_is_one_cell(tmp_path: Path) -> None:
    note = 'a pasted e-mail, with commas, "quotes"\n' * 5000  # 200 kB, over csv's default limit
    quoted = '"' + note.replace('"', '""') + '"'
    conn = make(tmp_path, f"Email,Notes\nann@example.com,{quoted}\nbob@example.com,x\n".encode())
    first, second = list(conn.read("contacts", None))
    assert isinstance(first, Change)
    assert isinstance(second, Change)
    assert first.raw["Notes"] == note
    assert second.location == "contacts.csv:line 5003"
