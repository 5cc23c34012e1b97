"""GoldMine incremental reads: LASTDATE+LASTTIME cursor, look-back, boundary dedupe, deletions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ledgerlink.connectors.goldmine.stamps import ReadCursor
from ledgerlink.errors import RecordError
from tests.emulators.goldmine import START, GoldMineEmulator, connector_for, database_url, read_all


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def gm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GoldMineEmulator]:
    """An empty GoldMine database: a SQLite file, or a fresh PostgreSQL schema."""
    with database_url(request.param, tmp_path) as url:
        emulator = GoldMineEmulator(url)
        yield emulator
        emulator.dispose()


def keys(changes: list) -> set[str]:  # type: ignore[type-arg]
    return {c.key for c in changes}


def test_first_read_takes_everything_then_nothing_old(gm: GoldMineEmulator, tmp_path: Path) -> None:
    gm.now = START - timedelta(days=3)
    old = gm.seed(5)  # stamped a minute apart, the newest at START - 3 days
    gm.now = START
    connector = connector_for(gm, tmp_path, overlap_seconds=0)

    first, cursor = read_all(connector, "contacts")
    again, cursor_again = read_all(connector, "contacts", cursor)

    assert keys(first) == set(old)
    assert again == []
    assert cursor_again == cursor
    decoded = ReadCursor.decode(cursor)
    assert decoded is not None
    assert decoded.stamp == START - timedelta(days=3)
    assert set(decoded.at_stamp) == {old[-1]}


def test_look_back_rereads_only_the_window_unchanged(gm: GoldMineEmulator, tmp_path: Path) -> None:
    old = gm.seed(5)  # 09:26 ... 09:30
    connector = connector_for(gm, tmp_path, overlap_seconds=120)
    first, cursor = read_all(connector, "contacts")

    again, _ = read_all(connector, "contacts", cursor)

    assert [c.key for c in again] == old[2:4]  # 09:28 and 09:29; 09:30 is the boundary
    versions = {c.key: c.version for c in first}
    assert all(c.version == versions[c.key] for c in again)  # the engine skips them


def test_edit_after_the_cursor_is_read(gm: GoldMineEmulator, tmp_path: Path) -> None:
    a, b = gm.add_contact("Anna Berg"), gm.add_contact("Mark Smith")
    connector = connector_for(gm, tmp_path)
    _, cursor = read_all(connector, "contacts")

    gm.now += timedelta(hours=1)
    gm.edit_contact(b, PHONE1="(415)555-0199")
    changed, cursor = read_all(connector, "contacts", cursor)

    assert keys(changed) == {b}
    assert ReadCursor.decode(cursor).stamp == gm.now  # type: ignore[union-attr]
    assert a not in keys(changed)


def test_edit_in_the_same_minute_as_the_cursor_is_not_lost(
    gm: GoldMineEmulator, tmp_path: Path
) -> None:
    a, b = gm.add_contact("Anna Berg"), gm.add_contact("Mark Smith")
    connector = connector_for(gm, tmp_path)
    first, cursor = read_all(connector, "contacts")
    versions = {c.key: c.version for c in first}

    gm.now += timedelta(seconds=40)  # still 09:30: GoldMine stamps the same HH:MM
    gm.edit_contact(a, CITY="Lyon")
    late = gm.add_contact("Zoë Kowalski")
    changed, cursor = read_all(connector, "contacts", cursor)

    assert keys(changed) == {a, late}  # b is at the boundary too, unchanged: skipped
    assert next(c for c in changed if c.key == a).version != versions[a]
    assert read_all(connector, "contacts", cursor)[0] == []
    assert b in ReadCursor.decode(cursor).at_stamp  # type: ignore[union-attr]


def test_late_writer_inside_the_overlap_is_read(gm: GoldMineEmulator, tmp_path: Path) -> None:
    gm.add_contact("Anna Berg")
    connector = connector_for(gm, tmp_path, overlap_seconds=120)
    _, cursor = read_all(connector, "contacts")

    gm.now = START - timedelta(minutes=1)  # a workstation whose clock runs a minute behind
    late = gm.add_contact("Priya Iyer")
    gm.now = START - timedelta(minutes=5)  # ... and one five minutes behind: beyond the window
    too_late = gm.add_contact("Liam Nguyen")
    changed, _ = read_all(connector, "contacts", cursor)

    assert late in keys(changed)
    assert too_late not in keys(changed)


def test_unchanged_record_in_the_overlap_keeps_its_version(
    gm: GoldMineEmulator, tmp_path: Path
) -> None:
    gm.now = START - timedelta(minutes=1)
    earlier = gm.add_contact("Chloé Dubois")
    gm.now = START
    gm.add_contact("Anna Berg")
    connector = connector_for(gm, tmp_path)
    first, cursor = read_all(connector, "contacts")

    again, _ = read_all(connector, "contacts", cursor)

    # inside the look-back window it is read again, with the same version: the engine skips it
    assert [(c.key, c.version) for c in again] == [
        (c.key, c.version) for c in first if c.key == earlier
    ]


def test_touch_without_change_keeps_the_version(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Anna Berg", KEY4="REP1")
    connector = connector_for(gm, tmp_path)
    (first,), cursor = read_all(connector, "contacts")

    gm.now += timedelta(hours=2)
    gm.edit_contact(account, KEY4="REP2")  # a field ledgerlink does not map
    (again,), _ = read_all(connector, "contacts", cursor)

    assert again.version == first.version


def test_email_and_user_field_edits_are_read(gm: GoldMineEmulator, tmp_path: Path) -> None:
    a = gm.add_contact("Anna Berg", user={"UTAXID": "SE1"})
    b = gm.add_contact("Mark Smith")
    email = gm.add_email(b, "mark@example.com", primary=True)
    connector = connector_for(gm, tmp_path)
    _, cursor = read_all(connector, "contacts")

    gm.now += timedelta(hours=1)
    gm.edit_user_fields(a, UTAXID="SE556677889901")
    gm.edit_email(email, "mark.smith@example.com")  # only the CONTSUPP row is stamped
    changed, _ = read_all(connector, "contacts", cursor)

    loaded = {c.key: c.load() for c in changed}
    assert loaded[a].tax_id == "SE556677889901"  # type: ignore[union-attr]
    assert loaded[b].emails == ("mark.smith@example.com",)  # type: ignore[union-attr]


def test_clock_in_the_future_does_not_push_the_cursor(gm: GoldMineEmulator, tmp_path: Path) -> None:
    connector = connector_for(gm, tmp_path)
    gm.now = START + timedelta(days=365)  # one workstation's clock is a year ahead
    ahead = gm.add_contact("Anna Berg")
    gm.now = START
    _, cursor = read_all(connector, "contacts")

    gm.now += timedelta(minutes=10)
    normal = gm.add_contact("Mark Smith")
    changed, _ = read_all(connector, "contacts", cursor)

    assert normal in keys(changed)  # not hidden behind the future stamp
    assert ahead in keys(changed)  # re-read (same version) until time catches up


def test_contact_deletions_come_from_conttlog(gm: GoldMineEmulator, tmp_path: Path) -> None:
    gm.now = START - timedelta(days=1)
    gone_before = gm.add_contact("Old Contact")
    gm.delete_contact(gone_before)
    gm.now = START
    keep, drop = gm.add_contact("Anna Berg"), gm.add_contact("Mark Smith")
    connector = connector_for(gm, tmp_path)
    first, cursor = read_all(connector, "contacts")
    assert not [c for c in first if c.deleted]  # a first read reports no old deletions

    recid = gm.delete_contact(drop)
    changed, cursor = read_all(connector, "contacts", cursor)

    (deleted,) = [c for c in changed if c.deleted]
    assert deleted.key == f"RECID:{recid}"
    assert deleted.location == f"CONTTLOG FRECID={recid}"
    assert deleted.raw["FRECID"] == recid
    with pytest.raises(RecordError, match="deleted"):
        deleted.load()
    assert keep not in keys(changed)
    assert read_all(connector, "contacts", cursor)[0] == []  # reported once


def test_deal_deletions_come_from_gmtlog(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Anna Berg")
    kept = gm.add_opportunity(account, "Support", "100")
    dropped = gm.add_opportunity(account, "Licences", "200")
    connector = connector_for(gm, tmp_path)
    _, cursor = read_all(connector, "deals")

    gm.now += timedelta(minutes=1)
    gm.delete_opportunity(dropped)
    changed, cursor = read_all(connector, "deals", cursor)

    deleted = [c.key for c in changed if c.deleted]
    assert dropped in deleted  # OPID is the main row's RECID
    assert {c.key for c in changed if not c.deleted} == {kept}
    assert not [c for c in read_all(connector, "deals", cursor)[0] if c.deleted]


def test_cursor_round_trip_and_foreign_cursor(gm: GoldMineEmulator, tmp_path: Path) -> None:
    cursor = ReadCursor(
        stamp=datetime(2026, 3, 2, 9, 30),
        at_stamp={"A": "abc"},
        log_stamp="0AB",
        log_ids=frozenset({"R1"}),
    )
    assert ReadCursor.decode(cursor.encode()) == cursor
    assert ReadCursor.decode("sha256:deadbeef") is None
    assert ReadCursor.decode("goldmine:1:{not json") is None

    account = gm.add_contact("Anna Berg")
    changed, _ = read_all(connector_for(gm, tmp_path), "contacts", "some-other-connector's-cursor")
    assert keys(changed) == {account}  # an unknown cursor means a full read
