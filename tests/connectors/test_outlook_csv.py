"""The outlook_csv connector over Outlook exports in English, German, French and Spanish."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from ledgerlink.canonical.records import Change, Contact
from ledgerlink.connectors.base import ConnectorContext
from ledgerlink.connectors.csv.columns import header_key
from ledgerlink.connectors.outlook.config import OutlookCsvConfig
from ledgerlink.connectors.outlook.connector import OutlookCsvConnector
from ledgerlink.connectors.outlook.headers import LANGUAGES
from ledgerlink.connectors.registry import connector_type
from ledgerlink.errors import ConfigError, RecordError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "crm"


def connector(path: Path, **settings: object) -> OutlookCsvConnector:
    config = OutlookCsvConfig.model_validate({"type": "outlook_csv", "path": str(path), **settings})
    return OutlookCsvConnector(config, ConnectorContext("outlook", path.parent))


def contacts(conn: OutlookCsvConnector) -> list[tuple[Change, Contact]]:
    result = []
    for item in conn.read("contacts", None):
        assert isinstance(item, Change), item
        record = item.load()
        assert isinstance(record, Contact)
        result.append((item, record))
    return result


@pytest.fixture(scope="module")
def english() -> list[tuple[Change, Contact]]:
    return contacts(connector(FIXTURES / "outlook-en-cp1252.csv"))


def test_the_92_column_export_in_cp1252(english: list[tuple[Change, Contact]]) -> None:
    assert [(c.key, c.location) for c, _ in english] == [
        ("renee.mueller@example.com", "outlook-en-cp1252.csv:line 2"),
        ("billing@example.net", "outlook-en-cp1252.csv:line 4"),  # the note took two lines
        ("kofi.mensah@example.com", "outlook-en-cp1252.csv:line 5"),
        # line 6 is Renée exported a second time: the same customer, dropped
        ("name:ana lucia ortega jr", "outlook-en-cp1252.csv:line 8"),
    ]


def test_a_person_with_two_emails_a_multi_line_note_and_addresses(
    english: list[tuple[Change, Contact]],
) -> None:
    change, renee = english[0]
    assert renee.kind == "person"
    assert (renee.display_name, renee.given_name, renee.family_name) == (
        "Renée Müller",
        "Renée",
        "Müller",
    )
    assert renee.company == "Fjord Analytics"
    assert renee.emails == ("Renee.Mueller@example.com", "renee@example.org")
    assert renee.phones == ("+15035550142", "+15035550199")
    billing, home = renee.addresses
    assert (billing.kind, billing.street, billing.city, billing.postal_code) == (
        "billing",
        "12 Harbour Road\nFloor 3",
        "Portland",
        "97201",
    )
    assert (home.kind, home.city) == ("home", "Beaverton")
    assert renee.notes == "Prefers invoices by e-mail.\nAccounts payable: ap@example.com"
    assert "Birthday" not in change.raw  # 0/0/00 means no date
    assert change.raw["Gender"] == "Unspecified"


def test_a_company_whose_first_address_is_exchange_internal(
    english: list[tuple[Change, Contact]],
) -> None:
    change, northwind = english[1]
    assert northwind.kind == "company"
    assert northwind.display_name == "Northwind Traders"
    assert northwind.emails == ("billing@example.net",)  # the X.500 address is skipped
    assert northwind.phones == ("+12065550100",)
    assert change.raw["E-mail Type"] == "EX"


def test_a_short_row_and_a_person_without_email(english: list[tuple[Change, Contact]]) -> None:
    _, kofi = english[2]
    assert kofi.emails == ("kofi.mensah@example.com",)
    assert [(a.kind, a.street) for a in kofi.addresses] == [("home", "7 Elm Close")]
    _, ana = english[3]
    assert ana.display_name == "Ana Lucía Ortega Jr."
    assert ana.emails == ()
    assert ana.phones == ("+442079460958",)


def test_default_region_and_currency(tmp_path: Path) -> None:
    source = tmp_path / "de.csv"
    shutil.copy(FIXTURES / "outlook-de-cp1252.csv", source)
    [(_, record)] = contacts(connector(source, default_region="DE", currency="eur"))
    assert record.phones == ("+49891234567",)
    assert record.currency == "EUR"


@pytest.mark.parametrize(
    ("name", "language", "email", "display", "city"),
    [
        ("outlook-en-legacy.csv", "English", "lars@example.no", "Lars Berg", "Oslo"),
        ("outlook-de-cp1252.csv", "German", "juergen.weiss@example.de", "Jürgen Weiß", "München"),
        ("outlook-fr-utf8bom.csv", "French", "helene@example.fr", "Hélène Lefèvre", "Lyon"),
        (
            "outlook-es-cp1252.csv",
            "Spanish",
            "mj.garcia@example.es",
            "María José García López",
            "Sevilla",
        ),
    ],
)
def test_localised_and_older_headers(
    name: str, language: str, email: str, display: str, city: str
) -> None:
    conn = connector(FIXTURES / name)
    assert conn.check().endswith(f"{language} headers")
    [(change, record)] = contacts(conn)
    assert change.key == email
    assert record.display_name == display
    assert record.addresses[0].kind == "billing"
    assert record.addresses[0].city == city


def test_the_german_export_keeps_ort_out_of_the_address() -> None:
    # "Ort" alone is Outlook's Location field; the business city is "Ort geschäftlich".
    [(change, record)] = contacts(connector(FIXTURES / "outlook-de-cp1252.csv"))
    assert change.raw["Ort"] == "Filiale Nord"
    assert record.addresses[0].city == "München"


def test_no_header_means_two_fields() -> None:
    seen: dict[str, str] = {}
    for table in LANGUAGES.values():
        for field, names in table.items():
            for name in names:
                assert seen.setdefault(header_key(name), field) == field, name


def test_a_file_that_is_not_an_outlook_export(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("Kunde,Telefon\nAnn,555\n")
    with pytest.raises(ConfigError) as caught:
        connector(tmp_path / "x.csv").read("contacts", None)
    assert "does not look like an Outlook contacts export" in caught.value.message
    assert caught.value.hint is not None
    assert "type: csv" in caught.value.hint


def test_bad_email_is_a_record_error_at_load(tmp_path: Path) -> None:
    (tmp_path / "o.csv").write_text(
        "First Name,E-mail Address,E-mail 2 Address\nAnn,ann@example.com,ann@@x\n"
    )
    [change] = list(connector(tmp_path / "o.csv").read("contacts", None))
    assert isinstance(change, Change)
    with pytest.raises(RecordError, match="E-mail 2 Address: e-mail 'ann@@x' is not valid"):
        change.load()


def test_only_contacts_can_be_read(tmp_path: Path) -> None:
    conn = connector(FIXTURES / "outlook-en-legacy.csv")
    assert conn.readable_streams() == ("contacts",)
    with pytest.raises(ConfigError, match="has no stream 'deals'"):
        conn.read("deals", None)


def test_registry_and_unchanged_cursor() -> None:
    kind = connector_type("outlook_csv")
    config = kind.config_model().model_validate(
        {"type": "outlook_csv", "path": str(FIXTURES / "outlook-en-legacy.csv")}
    )
    conn = kind.build(config, ConnectorContext("outlook", FIXTURES))
    assert isinstance(conn, OutlookCsvConnector)
    read = conn.read("contacts", None)
    assert len(list(read)) == 1
    assert list(conn.read("contacts", read.cursor())) == []


def test_config_is_checked_and_documented() -> None:
    schema = OutlookCsvConfig.model_json_schema()
    assert all(field.get("description") for field in schema["properties"].values())
    with pytest.raises(ValidationError, match="unknown currency 'EURO'"):
        OutlookCsvConfig.model_validate(
            {"type": "outlook_csv", "path": "a.csv", "currency": "EURO"}
        )
    with pytest.raises(ValidationError, match="unknown encoding 'win-1252'"):
        OutlookCsvConfig.model_validate(
            {"type": "outlook_csv", "path": "a.csv", "encoding": "win-1252"}
        )
    config = OutlookCsvConfig.model_validate(
        {"type": "outlook_csv", "path": "a.csv", "currency": "eur", "default_region": "de"}
    )
    assert (config.currency, config.default_region) == ("EUR", "DE")
