"""GoldMine write-back: invoice number and paid status into CONTACT2 and OPMGR, stamped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledgerlink.connectors.base import ConnectorContext
from ledgerlink.connectors.goldmine.config import GoldMineConfig
from ledgerlink.connectors.goldmine.connector import GoldMineConnector
from ledgerlink.connectors.goldmine.writer import InvoiceStatus, new_recid
from ledgerlink.errors import ConfigError, RecordError
from tests.emulators.goldmine import START, GoldMineEmulator, connector_for, database_url, read_all

OPPORTUNITY_FIELDS = {"invoice_number": "F1", "paid_status": "F2"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def gm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GoldMineEmulator]:
    """An empty GoldMine database: a SQLite file, or a fresh PostgreSQL schema."""
    with database_url(request.param, tmp_path) as url:
        emulator = GoldMineEmulator(url)
        yield emulator
        emulator.dispose()


def test_invoice_number_and_paid_status_go_to_contact2(
    gm: GoldMineEmulator, tmp_path: Path
) -> None:
    account = gm.add_contact("Anna Berg", user={"UTAXID": "SE1"})
    gm.now = START + timedelta(hours=3, minutes=7, seconds=42)
    writer = connector_for(gm, tmp_path).write_back()

    stamp = writer.record_invoice(InvoiceStatus(account, "INV-2026-0042", paid=False))

    contact2 = gm.row(gm.tables.contact2, "ACCOUNTNO", account)
    assert (contact2["UINVOICE"], contact2["UPAID"], contact2["UTAXID"]) == (
        "INV-2026-0042",
        "Unpaid",
        "SE1",
    )
    contact1 = gm.row(gm.tables.contact1, "ACCOUNTNO", account)
    assert contact1["LASTDATE"] == datetime(2026, 3, 2)  # the date at midnight ...
    assert contact1["LASTTIME"] == "12:37"  # ... and HH:MM, as GoldMine writes them
    assert contact1["LASTUSER"] == "LEDGERLK"
    assert stamp == datetime(2026, 3, 2, 12, 37, tzinfo=UTC)

    writer.record_invoice(InvoiceStatus(account, "INV-2026-0042", paid=True))
    assert gm.row(gm.tables.contact2, "ACCOUNTNO", account)["UPAID"] == "Paid"


def test_stamp_is_in_goldmines_time_zone(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Priya Iyer")
    config = GoldMineConfig(type="goldmine", url=gm.url, timezone="Asia/Kolkata", write_user="acct")
    utc_now = datetime(2026, 3, 2, 18, 20, 5, tzinfo=UTC)  # 23:50 in Kolkata
    connector = GoldMineConnector(config, ConnectorContext("crm", tmp_path), clock=lambda: utc_now)
    gm.connectors.append(connector)

    connector.write_back().record_invoice(InvoiceStatus(account, "7", paid=True))

    contact1 = gm.row(gm.tables.contact1, "ACCOUNTNO", account)
    assert (contact1["LASTDATE"], contact1["LASTTIME"], contact1["LASTUSER"]) == (
        datetime(2026, 3, 2),
        "23:50",
        "ACCT",
    )


def test_contact2_row_is_created_when_missing(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Mark Smith")  # GoldMine creates CONTACT2 rows lazily
    connector_for(gm, tmp_path).write_back().record_invoice(
        InvoiceStatus(account, "A-1", paid=True)
    )
    contact2 = gm.row(gm.tables.contact2, "ACCOUNTNO", account)
    assert (contact2["UINVOICE"], contact2["UPAID"]) == ("A-1", "Paid")
    assert len(contact2["recid"]) == 15


def test_opportunity_fields(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Sofia Müller")
    opid = gm.add_opportunity(account, "Support", "100", stage="Won")
    connector = connector_for(gm, tmp_path, opportunity_fields=OPPORTUNITY_FIELDS)

    connector.write_back().record_invoice(
        InvoiceStatus(account, "INV-9", paid=True, opportunity=opid)
    )

    main = gm.row(gm.tables.opmgr, "RECID", opid)
    assert (main["F1"], main["F2"]) == ("INV-9", "Paid")
    assert gm.row(gm.tables.contact2, "ACCOUNTNO", account)["UINVOICE"] == "INV-9"


def test_unknown_opportunity_writes_nothing(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Sofia Müller", user={})
    other = gm.add_contact("Jürgen Berg")
    foreign = gm.add_opportunity(other, "Not hers", "100")
    before = gm.row(gm.tables.contact1, "ACCOUNTNO", account)
    gm.now += timedelta(hours=1)
    writer = connector_for(gm, tmp_path, opportunity_fields=OPPORTUNITY_FIELDS).write_back()

    with pytest.raises(RecordError, match="no opportunity"):
        writer.record_invoice(InvoiceStatus(account, "INV-1", paid=False, opportunity=foreign))

    assert gm.row(gm.tables.contact1, "ACCOUNTNO", account)["LASTTIME"] == before["LASTTIME"]
    assert gm.row(gm.tables.contact2, "ACCOUNTNO", account)["UINVOICE"] is None  # rolled back


def test_opportunity_write_back_needs_its_fields(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Anna Berg")
    opid = gm.add_opportunity(account, "Support", "100")
    with pytest.raises(ConfigError, match="opportunity_fields"):
        connector_for(gm, tmp_path).write_back().record_invoice(
            InvoiceStatus(account, "1", paid=True, opportunity=opid)
        )


def test_unknown_account_and_batch_outcomes(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Anna Berg")
    writer = connector_for(gm, tmp_path).write_back()

    with pytest.raises(RecordError, match="no contact with ACCOUNTNO 'NOPE'"):
        writer.record_invoice(InvoiceStatus("NOPE", "1", paid=True))
    outcomes = writer.record_invoices(
        [InvoiceStatus("NOPE", "1", paid=True), InvoiceStatus(account, "2", paid=False)]
    )

    assert isinstance(outcomes[0], RecordError)
    assert outcomes[1] is None
    assert gm.row(gm.tables.contact2, "ACCOUNTNO", account)["UINVOICE"] == "2"


def test_own_write_back_is_not_read_as_a_change(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Anna Berg", user={"UTAXID": "SE1"}, emails=["anna@example.com"])
    connector = connector_for(gm, tmp_path)
    (first,), cursor = read_all(connector, "contacts")

    gm.now += timedelta(hours=1)
    connector.write_back().record_invoice(InvoiceStatus(account, "INV-1", paid=True))
    (again,), _ = read_all(connector, "contacts", cursor)

    assert again.key == account  # the stamp moved, so it is read again ...
    assert again.version == first.version  # ... and recognised as unchanged


def test_dbase_files_are_read_only(tmp_path: Path) -> None:
    config = GoldMineConfig(type="goldmine", dbf_path=tmp_path)
    with pytest.raises(ConfigError, match="read only"):
        GoldMineConnector(config, ConnectorContext("crm", tmp_path)).write_back()


def test_new_recids_are_unique_and_fifteen_characters() -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    recids = {new_recid(now) for _ in range(1_000)}
    assert len(recids) == 1_000
    assert {len(r) for r in recids} == {15}
