"""Headers of CSV exports: aliases, the `columns:` map, and every way a header can be wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ledgerlink.canonical.records import Change, Contact
from ledgerlink.connectors.base import ConnectorContext
from ledgerlink.connectors.csv.columns import (
    CONTACT_ALIASES,
    DEAL_ALIASES,
    alias_lookup,
    header_key,
)
from ledgerlink.connectors.csv.config import CsvConfig
from ledgerlink.connectors.csv.connector import CsvConnector
from ledgerlink.errors import ConfigError


def make(
    tmp_path: Path, contacts: str | None = None, deals: str | None = None, **settings: object
) -> CsvConnector:
    files: dict[str, object] = {}
    for stream, text in (("contacts", contacts), ("deals", deals)):
        if text is not None:
            (tmp_path / f"{stream}.csv").write_text(text, encoding="utf-8")
            files[stream] = f"{stream}.csv"
    config = CsvConfig.model_validate({"type": "csv", **files, **settings})
    return CsvConnector(config, ConnectorContext("crm", tmp_path))


def first_contact(conn: CsvConnector) -> Contact:
    change = next(iter(conn.read("contacts", None)))
    assert isinstance(change, Change)
    record = change.load()
    assert isinstance(record, Contact)
    return record


@pytest.mark.parametrize(
    "header",
    [
        "E-mail,Full Name",
        "EMAIL ADDRESS,name",
        " e_mail ,Contact Name",
        "Primary Email,Customer Name",
    ],
)
def test_headers_match_by_alias_ignoring_case_spaces_and_punctuation(
    tmp_path: Path, header: str
) -> None:
    conn = make(tmp_path, contacts=f"{header}\nann@example.com,Ann Lee\n")
    record = first_contact(conn)
    assert record.emails == ("ann@example.com",)
    assert record.display_name == "Ann Lee"


def test_no_alias_means_two_columns() -> None:
    for aliases in (CONTACT_ALIASES, DEAL_ALIASES):
        spellings = [header_key(s) for column, names in aliases.items() for s in (column, *names)]
        assert len(spellings) == len(set(spellings)) == len(alias_lookup(aliases))


def test_columns_map_names_a_header_the_aliases_do_not_know(tmp_path: Path) -> None:
    conn = make(
        tmp_path,
        contacts="Kundennummer,Mail,Kunde\nK-7,ann@example.com,Ann Lee\n",
        columns={"id": "Kundennummer", "contacts.email": "mail", "display_name": "KUNDE"},
    )
    change = next(iter(conn.read("contacts", None)))
    assert isinstance(change, Change)
    assert change.key == "K-7"
    assert first_contact(conn).emails == ("ann@example.com",)


def test_a_first_row_of_data_is_a_missing_header(tmp_path: Path) -> None:
    conn = make(tmp_path, contacts="ann@example.com,Ann Lee,555-0100\nbob@example.com,Bob,\n")
    with pytest.raises(ConfigError) as caught:
        conn.read("contacts", None)
    error = caught.value
    assert "it looks like data, not a header" in error.message
    assert "'ann@example.com', 'Ann Lee', '555-0100'" in error.message
    assert error.hint is not None
    assert "columns:" in error.hint


def test_duplicate_header_names_of_a_used_column_name_both_positions(tmp_path: Path) -> None:
    conn = make(tmp_path, contacts="Email,Name,Email\na@example.com,A,b@example.com\n")
    with pytest.raises(ConfigError, match="columns 1 and 3 are both named 'Email'"):
        conn.check()


def test_duplicate_names_of_unused_columns_are_harmless(tmp_path: Path) -> None:
    conn = make(tmp_path, contacts="Email,Tag,Tag\na@example.com,x,y\n")
    change = next(iter(conn.read("contacts", None)))
    assert isinstance(change, Change)
    assert dict(change.raw) == {"Email": "a@example.com", "Tag": "x", "Tag (column 3)": "y"}


def test_two_aliases_of_one_column_ask_which_one(tmp_path: Path) -> None:
    conn = make(tmp_path, contacts="Email,E-mail Address\na@example.com,b@example.com\n")
    with pytest.raises(ConfigError) as caught:
        conn.read("contacts", None)
    assert "both look like the email column" in caught.value.message
    assert caught.value.hint is not None
    assert '`columns: {email: "E-mail Address"}`' in caught.value.hint
    chosen = make(
        tmp_path,
        contacts="Email,E-mail Address\na@example.com,b@example.com\n",
        columns={"email": "E-mail Address"},
    )
    assert first_contact(chosen).emails == ("b@example.com",)


def test_a_contacts_file_without_any_key_column_is_refused(tmp_path: Path) -> None:
    conn = make(tmp_path, contacts="Phone,City\n555-0100,Springfield\n")
    with pytest.raises(ConfigError, match="no id, e-mail, name or company column"):
        conn.check()


def test_deals_need_id_contact_and_amount(tmp_path: Path) -> None:
    conn = make(tmp_path, deals="Deal ID,Title,Stage\nD1,Website,won\n")
    with pytest.raises(ConfigError) as caught:
        conn.read("deals", None)
    assert "deals.csv has no contact or amount column" in caught.value.message


def test_a_columns_entry_that_names_no_header_is_an_error(tmp_path: Path) -> None:
    conn = make(
        tmp_path, contacts="Email\na@example.com\n", columns={"contacts.display_name": "Nom"}
    )
    with pytest.raises(
        ConfigError, match=r"maps display_name to 'Nom', but contacts.csv has no such header"
    ):
        conn.read("contacts", None)
    shared = make(tmp_path, contacts="Email\na@example.com\n", columns={"currency": "Devise"})
    with pytest.raises(ConfigError, match="no file has that header"):
        shared.check()


def test_unknown_column_names_in_the_config_are_rejected() -> None:
    with pytest.raises(ValidationError, match=r"unknown column 'contacts.amount'"):
        CsvConfig(type="csv", contacts=Path("c.csv"), columns={"contacts.amount": "Total"})
    with pytest.raises(ValidationError, match="unknown column 'e_mail'"):
        CsvConfig(type="csv", contacts=Path("c.csv"), columns={"e_mail": "Mail"})


def test_an_empty_file_is_a_config_error(tmp_path: Path) -> None:
    conn = make(tmp_path, contacts="")
    with pytest.raises(ConfigError, match=r"contacts.csv is empty"):
        conn.read("contacts", None)


def test_a_connection_needs_at_least_one_file() -> None:
    with pytest.raises(ValidationError, match="give `contacts:`, `deals:` or both"):
        CsvConfig(type="csv")
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        CsvConfig.model_validate({"type": "csv", "contacts": "c.csv", "sheets": "x"})


def test_config_schema_documents_every_field() -> None:
    schema = CsvConfig.model_json_schema()
    assert all(field.get("description") for field in schema["properties"].values())
