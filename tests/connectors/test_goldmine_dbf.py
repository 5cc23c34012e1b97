"""GoldMine's dBase files as a source: same records as SQL, code pages, memos, cursors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledgerlink.canonical.records import Contact
from ledgerlink.connectors.base import ConnectorContext
from ledgerlink.connectors.goldmine.config import GoldMineConfig
from ledgerlink.connectors.goldmine.connector import GoldMineConnector
from ledgerlink.connectors.goldmine.dbf import open_table
from ledgerlink.errors import ConfigError
from tests.emulators.goldmine import START, GoldMineEmulator, connector_for, read_all, write_dbf


@pytest.fixture
def gm(tmp_path: Path) -> Iterator[GoldMineEmulator]:
    """A GoldMine SQL database to export dBase files from."""
    emulator = GoldMineEmulator(f"sqlite:///{tmp_path / 'goldmine.db'}")
    yield emulator
    emulator.dispose()


def dbf_connector(gm: GoldMineEmulator, folder: Path, **settings: Any) -> GoldMineConnector:
    raw = {"type": "goldmine", "dbf_path": str(folder), "currency": "USD", **settings}
    return GoldMineConnector(
        GoldMineConfig.model_validate(raw),
        ConnectorContext("crm", folder.parent),
        clock=lambda: gm.now.replace(tzinfo=UTC),
    )


def loaded(connector: GoldMineConnector, stream: str) -> dict[str, Any]:
    return {c.key: c.load() for c in read_all(connector, stream)[0]}


def test_dbase_files_give_the_same_records_as_sql(gm: GoldMineEmulator, tmp_path: Path) -> None:
    gm.seed(60)
    account = gm.add_contact(
        "José Müller",
        "Société Générale",
        emails=["jose@example.com", "jm@home.example.org"],
        user={"UTAXID": "FR1", "UCREDLIMIT": 12345.67, "UTERMS": "Net 30"},
        NOTES="Première visite.\nTél. demandé.",
    )
    gm.add_opportunity(account, "Maintenance", "1234.56", status="Won", closed_amount="1200.10")
    gm.export_dbf(tmp_path / "COMMON")

    from_sql = connector_for(gm, tmp_path)
    from_dbf = dbf_connector(gm, tmp_path / "COMMON")

    assert loaded(from_dbf, "contacts") == loaded(from_sql, "contacts")
    assert loaded(from_dbf, "deals") == loaded(from_sql, "deals")
    contact = loaded(from_dbf, "contacts")[account]
    assert contact.credit_limit == Decimal("12345.67")
    assert contact.notes == "Première visite.\nTél. demandé."


@pytest.mark.parametrize(
    ("encoding", "language_driver", "configured"),
    [
        ("cp1252", 0x03, None),  # the header says Windows ANSI
        ("cp1252", 0x00, None),  # the header says nothing: Windows-1252 is assumed
        ("cp437", 0x01, None),  # a DOS-era file that says so
        ("cp437", 0x00, "cp437"),  # ... or that does not, with `dbf_encoding:` set
    ],
)
def test_code_pages(
    gm: GoldMineEmulator,
    tmp_path: Path,
    encoding: str,
    language_driver: int,
    configured: str | None,
) -> None:
    account = gm.add_contact("Zoë Groß", "Bäckerei Groß", CITY="Zürich")
    gm.export_dbf(tmp_path / "COMMON", encoding=encoding, language_driver=language_driver)
    connector = dbf_connector(gm, tmp_path / "COMMON", dbf_encoding=configured)

    contact: Contact = loaded(connector, "contacts")[account]

    assert (contact.display_name, contact.company) == ("Zoë Groß", "Bäckerei Groß")
    assert contact.addresses[0].city == "Zürich"


def test_wrong_code_page_asks_for_dbf_encoding(gm: GoldMineEmulator, tmp_path: Path) -> None:
    gm.add_contact("Bad\x81Name")  # 0x81 means nothing in Windows-1252
    gm.export_dbf(tmp_path / "COMMON", encoding="latin-1", language_driver=0x03)
    read = dbf_connector(gm, tmp_path / "COMMON").read("contacts", None)
    with pytest.raises(ConfigError, match="dbf_encoding"):
        list(read)


def test_fields_ledgerlink_does_not_read_are_not_decoded(
    gm: GoldMineEmulator, tmp_path: Path
) -> None:
    account = gm.add_contact("Anna Berg", KEY4="Rep\x81")  # garbage in a field nobody maps
    gm.export_dbf(tmp_path / "COMMON", encoding="latin-1", language_driver=0x03)
    assert set(loaded(dbf_connector(gm, tmp_path / "COMMON"), "contacts")) == {account}


def test_long_memo_spans_blocks(gm: GoldMineEmulator, tmp_path: Path) -> None:
    notes = "\n".join(
        f"Line {n}: call back about the renewal — ask for Mr. Dubois." for n in range(40)
    )
    account = gm.add_contact("Chloé Dubois", NOTES=notes)
    gm.add_contact("Mark Smith", NOTES="short")
    gm.export_dbf(tmp_path / "COMMON")
    assert len(notes.encode("cp1252")) > 1024
    assert loaded(dbf_connector(gm, tmp_path / "COMMON"), "contacts")[account].notes == notes


def test_numbers_are_exact_decimals(tmp_path: Path) -> None:
    path = tmp_path / "AMOUNTS.DBF"
    write_dbf(path, [("AMOUNT", "N", 15, 2)], [{"AMOUNT": Decimal("0.10")}, {"AMOUNT": None}])
    values = [r["AMOUNT"] for r in open_table(path, None)]
    assert values == [Decimal("0.10"), None]
    assert isinstance(values[0], Decimal)


def test_incremental_reads_and_unchanged_files(gm: GoldMineEmulator, tmp_path: Path) -> None:
    first_account = gm.add_contact("Anna Berg")
    other = gm.add_contact("Mark Smith")
    folder = tmp_path / "COMMON"
    gm.export_dbf(folder)
    connector = dbf_connector(gm, folder)
    first, cursor = read_all(connector, "contacts")
    assert {c.key for c in first} == {first_account, other}

    nothing, same = read_all(connector, "contacts", cursor)  # not one byte changed: no scan
    assert (nothing, same) == ([], cursor)

    gm.now = START + timedelta(hours=1)
    gm.edit_contact(other, CITY="Lyon")
    recid = gm.delete_contact(first_account)
    gm.export_dbf(folder)
    changed, _ = read_all(connector, "contacts", cursor)

    assert {(c.key, c.deleted) for c in changed} == {(other, False), (f"RECID:{recid}", True)}


def test_check_counts_contacts_and_names_missing_files(
    gm: GoldMineEmulator, tmp_path: Path
) -> None:
    gm.seed(4)
    gm.export_dbf(tmp_path / "COMMON")
    assert "4 contact(s)" in dbf_connector(gm, tmp_path / "COMMON").check()

    (tmp_path / "COMMON" / "OPMGR.DBF").unlink()
    with pytest.raises(ConfigError, match=r"OPMGR\.DBF"):
        dbf_connector(gm, tmp_path / "COMMON").check()
    with pytest.raises(ConfigError, match="does not exist"):
        dbf_connector(gm, tmp_path / "nowhere").check()


def test_lower_case_file_names(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Anna Berg")
    folder = tmp_path / "common"
    gm.export_dbf(folder)
    for path in folder.iterdir():
        path.rename(path.with_name(path.name.lower()))
    assert set(loaded(dbf_connector(gm, folder), "contacts")) == {account}
