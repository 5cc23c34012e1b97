"""The vcard connector: vCard 2.1 (Outlook), 3.0 and 4.0, one or many cards, files or a folder."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from ledgerlink.canonical.records import Change, Contact, ReadFailure
from ledgerlink.connectors.base import ConnectorContext
from ledgerlink.connectors.outlook.config import VcardConfig
from ledgerlink.connectors.outlook.connector import VcardConnector
from ledgerlink.connectors.registry import connector_type
from ledgerlink.errors import ConnectionFailedError, RecordError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "crm"


def connector(path: Path, **settings: object) -> VcardConnector:
    config = VcardConfig.model_validate({"type": "vcard", "path": str(path), **settings})
    return VcardConnector(config, ConnectorContext("cards", path.parent))


def cards(conn: VcardConnector) -> list[tuple[Change, Contact]]:
    result = []
    for item in conn.read("contacts", None):
        assert isinstance(item, Change), item
        record = item.load()
        assert isinstance(record, Contact)
        result.append((item, record))
    return result


def write(tmp_path: Path, text: str, name: str = "cards.vcf", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_outlook_21_card_with_soft_line_breaks_and_a_photo() -> None:
    [(change, john), (_, soren)] = cards(connector(FIXTURES / "outlook-2.1.vcf"))
    assert (change.key, change.location) == ("john.doe@example.com", "outlook-2.1.vcf:card 1")
    assert john.display_name == "John Doe Jr."
    assert (john.given_name, john.family_name, john.company) == ("John", "Doe", "Contoso Ltd.")
    # The quoted-printable note continues after a soft line break ("=" at the end of a line).
    assert john.notes == (
        "First line of a long note.\nSecond line that Outlook wraps with a soft line break."
    )
    assert john.emails == ("john.doe@example.com", "jdoe@example.org")
    assert john.phones == ("+14255550110", "+14255550111", "+14255550112")  # no fax
    [address] = john.addresses
    assert (address.kind, address.street, address.city, address.region) == (
        "billing",
        "1 Contoso Way\nBuilding 4",
        "Redmond",
        "WA",
    )
    assert john.updated_at == datetime(2020, 4, 24, 10, 42, 42, tzinfo=UTC)
    assert "PHOTO" not in change.raw
    assert "X-MS-OL-DESIGN" not in change.raw
    # Quoted-printable with a Windows code page, and 8-bit UTF-8 without any CHARSET.
    assert (soren.given_name, soren.family_name) == ("Sören", "Grün")
    assert soren.display_name == "Sören Grün"
    assert soren.notes == "Möchte Rechnungen per Post."


def test_30_cards_with_escapes_folding_groups_and_preference() -> None:
    [(ann_change, ann), (globex_change, globex), (pat_change, pat)] = cards(
        connector(FIXTURES / "contacts-3.0.vcf")
    )
    assert ann_change.key == "3b8f2c1e-ann-smith"  # the UID
    assert ann.company == "Acme, Inc."
    assert ann.emails == ("Ann@example.org", "ann.smith@example.com")  # the preferred one first
    assert ann.phones == ("+442079460958", "07700 900123")
    assert [(a.kind, a.street) for a in ann.addresses] == [
        ("home", "5 Market St"),
        ("billing", "1 High St\nOld Town\nUnit 2"),
    ]
    assert ann.notes == "Met at the trade fair, 2023.\nWants net 30 terms."
    assert globex_change.key == "accounts@example.com"
    assert globex.kind == "company"
    assert globex.notes.endswith("so that no line is longer than seventy-five octets.")
    assert pat_change.key == "name:pat lee"
    assert (pat.given_name, pat.family_name) == ("Pat", "Lee")


def test_40_organisation_card() -> None:
    [(change, initech)] = cards(connector(FIXTURES / "initech-4.0.vcf"))
    assert change.key == "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1"
    assert initech.kind == "company"
    # 555 is not a real area code: the number is kept as typed rather than made "valid"
    assert initech.phones == ("+1-555-555-5555;ext=5555",)
    assert initech.updated_at == datetime(2024, 2, 1, 9, 30, tzinfo=UTC)


def test_a_folder_of_files_is_read_in_name_order(tmp_path: Path) -> None:
    for name in ("initech-4.0.vcf", "contacts-3.0.vcf"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a card")
    conn = connector(tmp_path)
    assert [c.location for c, _ in cards(conn)] == [
        "contacts-3.0.vcf:card 1",
        "contacts-3.0.vcf:card 2",
        "contacts-3.0.vcf:card 3",
        "initech-4.0.vcf:card 1",
    ]
    assert conn.check() == "2 files: 4 cards (vCard 3.0, vCard 4.0), UTF-8"


def test_without_uid_the_key_is_the_preferred_email(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nEMAIL:old@example.com\r\n"
        "EMAIL;TYPE=INTERNET,PREF:Ann@Example.com\r\nEND:VCARD\r\n",
    )
    [(change, record)] = cards(connector(path))
    assert change.key == "ann@example.com"
    assert record.email == "Ann@example.com"


def test_an_8_bit_windows_file_is_decoded(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Müller;Jürgen\r\nFN:Jürgen Müller\r\nEND:VCARD\r\n",
        encoding="cp1252",
    )
    [(change, record)] = cards(connector(path))
    assert change.key == "name:jurgen muller"
    assert record.display_name == "Jürgen Müller"


def test_exchange_addresses_and_fax_numbers_are_left_out(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Ops\r\nEMAIL;PREF;X400:/o=ExchangeLabs/ou=Group/cn=ops\r\n"
        "EMAIL;INTERNET:ops@example.com\r\nTEL;WORK;FAX:555-0100\r\nTEL;PAGER:555-0101\r\n"
        "TEL;WORK:555-0102\r\nEND:VCARD\r\n",
    )
    [(change, record)] = cards(connector(path, default_region="US"))
    assert change.key == "ops@example.com"
    assert record.emails == ("ops@example.com",)
    assert record.phones == ("555-0102",)  # seven digits: kept as typed, not guessed


def test_a_cut_off_file_and_a_card_without_key_are_failures(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nNOTE:nobody\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bob\r\n",
    )
    nameless, ann, cut = list(connector(path).read("contacts", None))
    assert isinstance(nameless, ReadFailure)
    assert nameless.location == "cards.vcf:card 1"
    assert nameless.raw == {"VERSION": "3.0", "NOTE": "nobody"}
    assert isinstance(ann, Change)
    assert isinstance(cut, ReadFailure)
    assert "card 3 (line 9) has no END:VCARD" in cut.error.message


def test_a_malformed_card_fails_alone_at_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nthis line is garbage\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bob\r\nEND:VCARD\r\n",
    )
    bad, good = list(connector(path).read("contacts", None))
    assert isinstance(bad, Change)
    assert isinstance(good, Change)
    with pytest.raises(RecordError, match="the card cannot be read") as caught:
        bad.load()
    assert caught.value.hint is not None
    assert isinstance(good.load(), Contact)


def test_duplicate_cards(tmp_path: Path) -> None:
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nEMAIL:ann@example.com\r\nEND:VCARD\r\n"
    other = card.replace("FN:Ann", "FN:Annie")
    found = list(connector(write(tmp_path, card + card + other)).read("contacts", None))
    first, second = found
    assert isinstance(first, Change)
    assert isinstance(second, Change)
    assert first.key == second.key == "ann@example.com"
    with pytest.raises(RecordError, match=r"cards.vcf:card 3 has the same key as cards.vcf:card 1"):
        second.load()


def test_an_invalid_email_is_a_record_error(tmp_path: Path) -> None:
    path = write(
        tmp_path, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nEMAIL:ann(at)example\r\nEND:VCARD\r\n"
    )
    [change] = list(connector(path).read("contacts", None))
    assert isinstance(change, Change)
    with pytest.raises(RecordError, match="EMAIL: e-mail 'ann\\(at\\)example' is not valid"):
        change.load()


def test_unchanged_files_read_nothing(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "initech-4.0.vcf", tmp_path / "a.vcf")
    conn = connector(tmp_path)
    first = conn.read("contacts", None)
    assert len(list(first)) == 1
    cursor = first.cursor()
    assert list(conn.read("contacts", cursor)) == []
    shutil.copy(FIXTURES / "contacts-3.0.vcf", tmp_path / "b.vcf")
    assert len(list(conn.read("contacts", cursor))) == 4


def test_an_empty_folder_is_a_connection_failure(tmp_path: Path) -> None:
    with pytest.raises(ConnectionFailedError, match=r"holds no .vcf file"):
        connector(tmp_path).check()


def test_config_is_checked_and_documented(tmp_path: Path) -> None:
    kind = connector_type("vcard")
    model = kind.config_model()
    schema = model.model_json_schema()
    assert all(field.get("description") for field in schema["properties"].values())
    with pytest.raises(ValidationError, match="unknown region 'XX'"):
        model.model_validate({"type": "vcard", "path": "a.vcf", "default_region": "XX"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        model.model_validate({"type": "vcard", "path": "a.vcf", "folder": "x"})
    config = model.model_validate({"type": "vcard", "path": "missing.vcf", "currency": "gbp"})
    built = kind.build(config, ConnectorContext("cards", tmp_path))  # no I/O yet
    assert isinstance(built, VcardConnector)
    with pytest.raises(ConnectionFailedError, match=r"missing.vcf does not exist"):
        built.check()
