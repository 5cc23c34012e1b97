"""GoldMine configuration, connection errors (no password shown) and the pure translation rules."""

from __future__ import annotations

import importlib.util
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ledgerlink.connectors.base import ConnectorContext
from ledgerlink.connectors.goldmine.config import GoldMineConfig
from ledgerlink.connectors.goldmine.connector import GoldMineConnector
from ledgerlink.connectors.goldmine.stamps import local_stamp, parse_clock
from ledgerlink.connectors.goldmine.translate import (
    is_primary,
    ordered_emails,
    payment_terms_days,
    to_decimal,
)
from ledgerlink.connectors.registry import connector_type
from ledgerlink.errors import ConfigError, ConnectionFailedError, RecordError
from tests.emulators.goldmine import GoldMineEmulator

SECRET = "S3cr3t-pa55!"


def config(**values: Any) -> GoldMineConfig:
    return GoldMineConfig.model_validate({"type": "goldmine", **values})


def connector(tmp_path: Path, **values: Any) -> GoldMineConnector:
    return GoldMineConnector(config(**values), ConnectorContext("crm", tmp_path))


def test_registered_type_builds_the_connector(tmp_path: Path) -> None:
    kind = connector_type("goldmine")
    built = kind.build(
        kind.config_model().model_validate({"type": "goldmine", "url": "sqlite:///x.db"}),
        ConnectorContext("crm", tmp_path),
    )
    assert isinstance(built, GoldMineConnector)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "exactly one of `url`"),
        ({"url": "sqlite:///a.db", "dbf_path": "gm"}, "exactly one of `url`"),
        ({"dbf_path": "gm", "password": "x"}, "`password` goes with `url`"),
        ({"url": "sqlite:///a.db", "dbf_encoding": "cp1252"}, "goes with `dbf_path`"),
        ({"dbf_path": "gm", "dbf_encoding": "klingon"}, "unknown encoding"),
        ({"url": "sqlite:///a.db", "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"url": "sqlite:///a.db", "currency": "XYZ"}, "unknown currency"),
        ({"url": "sqlite:///a.db", "user_fields": {"tax_id": "TAX ID"}}, "not a column name"),
        ({"url": "sqlite:///a.db", "user_fields": {"tax_id": "accountno"}}, "GoldMine's own"),
        ({"url": "sqlite:///a.db", "opportunity_fields": {"paid_status": "F1"}}, "different"),
        ({"url": "sqlite:///a.db", "overlap_seconds": -1}, "greater than or equal"),
        ({"url": "sqlite:///a.db", "default_region": "XX"}, "unknown region"),
        ({"url": "sqlite:///a.db", "colour": "blue"}, "Extra inputs"),
    ],
)
def test_invalid_configuration(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        config(**values)


def test_defaults_and_normal_forms() -> None:
    loaded = config(url="sqlite:///gm.db", currency="eur", user_fields={"tax_id": "ugstin"})
    assert loaded.currency == "EUR"
    assert loaded.user_fields.tax_id == "UGSTIN"
    assert loaded.user_fields.read_columns() == {
        "tax_id": "UGSTIN",
        "credit_limit": "UCREDLIMIT",
        "payment_terms": "UTERMS",
    }
    assert (loaded.overlap_seconds, loaded.timezone, loaded.default_region) == (120, "UTC", "US")
    assert config(url="x", user_fields={"credit_limit": None}).user_fields.read_columns() == {
        "tax_id": "UTAXID",
        "payment_terms": "UTERMS",
    }


def test_construction_does_no_io(tmp_path: Path) -> None:
    connector(tmp_path, url=f"postgresql://gm:{SECRET}@127.0.0.1:1/goldmine")
    connector(tmp_path, url="mssql+pymssql://sa@gm-server/GoldMine")
    connector(tmp_path, dbf_path="does/not/exist")


@pytest.mark.skipif(importlib.util.find_spec("pymssql") is not None, reason="pymssql is installed")
def test_missing_pymssql_gives_the_install_hint(tmp_path: Path) -> None:
    gm = connector(tmp_path, url="mssql+pymssql://sa@gm-server/GoldMine", password=SECRET)
    with pytest.raises(ConfigError) as raised:
        gm.check()
    assert "pip install 'ledgerlink[mssql]'" in str(raised.value)
    assert SECRET not in str(raised.value)
    with pytest.raises(ConfigError, match=r"ledgerlink\[mssql\]"):
        list(gm.read("contacts", None))


@pytest.mark.parametrize("where", ["url", "password"])
def test_unreachable_database_hides_the_password(tmp_path: Path, where: str) -> None:
    if where == "url":
        gm = connector(tmp_path, url=f"postgresql://gm:{SECRET}@127.0.0.1:1/goldmine")
    else:
        gm = connector(tmp_path, url="postgresql://gm@127.0.0.1:1/goldmine", password=SECRET)

    with pytest.raises(ConnectionFailedError) as raised:
        gm.check()
    with pytest.raises(ConnectionFailedError) as raised_on_read:
        list(gm.read("contacts", None))

    for error in (raised.value, raised_on_read.value):
        shown = f"{error} {error.context.location} {error.hint}"
        assert SECRET not in shown
        assert "127.0.0.1:1" in shown
    assert SECRET not in repr(config(url="sqlite:///x", password=SECRET))


def test_missing_sqlite_file_and_missing_tables(tmp_path: Path) -> None:
    with pytest.raises(ConnectionFailedError, match="does not exist"):
        connector(tmp_path, url="sqlite:///missing.db").check()
    (tmp_path / "empty.db").touch()
    with pytest.raises(ConfigError, match="no GoldMine table CONTACT1"):
        connector(tmp_path, url="sqlite:///empty.db").check()
    with pytest.raises(ConfigError, match="does not look like GoldMine"):
        list(connector(tmp_path, url="sqlite:///empty.db").read("contacts", None))


def test_relative_sqlite_path_is_relative_to_the_config(tmp_path: Path) -> None:
    GoldMineEmulator(f"sqlite:///{tmp_path / 'gm.db'}").dispose()
    gm = connector(tmp_path, url="sqlite:///gm.db")
    assert "0 contact(s)" in gm.check()
    gm.close()


def test_not_a_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a database URL"):
        connector(tmp_path, url=f"gm:{SECRET}@host").check()


# -- pure translation rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "days"),
    [
        ("30", 30),
        ("Net 30", 30),
        ("net30", 30),
        ("45 days", 45),
        ("Due on receipt", 0),
        (14, 14),
        (Decimal("60"), 60),
        (30.0, 30),
        ("", None),
        (None, None),
    ],
)
def test_payment_terms(value: Any, days: int | None) -> None:
    assert payment_terms_days(value) == days


def test_payment_terms_that_are_not_days() -> None:
    with pytest.raises(RecordError, match="not a number of days"):
        payment_terms_days("end of month")


@pytest.mark.parametrize(
    ("value", "amount"),
    [
        ("5,000.00", Decimal("5000.00")),
        (2500.1, Decimal("2500.1")),
        (7, Decimal(7)),
        (Decimal("1.10"), Decimal("1.10")),
        ("  ", None),
        ("$1,250.75", Decimal("1250.75")),
    ],
)
def test_amounts_are_exact(value: Any, amount: Decimal | None) -> None:
    result = to_decimal(value, "credit limit")
    assert result == amount
    assert result is None or isinstance(result, Decimal)


def test_amount_that_is_not_a_number() -> None:
    with pytest.raises(RecordError, match="credit limit"):
        to_decimal("lots", "credit limit")


def test_primary_flag_is_position_two_of_zip() -> None:
    rows = [
        {"CONTSUPREF": "b@x.com", "ADDRESS1": None, "ZIP": "1001", "recid": "A"},
        {"CONTSUPREF": "a@x.com", "ADDRESS1": None, "ZIP": "0100", "recid": "B"},
        {"CONTSUPREF": "c@x.com", "ADDRESS1": None, "ZIP": None, "recid": "C"},
    ]
    assert [is_primary(r) for r in rows] == [False, True, False]
    assert ordered_emails(rows) == ["a@x.com", "b@x.com", "c@x.com"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:30", (9, 30, 0)),
        ("9:05", (9, 5, 0)),
        ("14:07:59", (14, 7, 59)),
        ("02:15pm", (14, 15, 0)),
        ("12:00am", (0, 0, 0)),
        ("", None),
        ("25:00", None),
        ("noon", None),
    ],
)
def test_lasttime_formats(text: str, expected: tuple[int, int, int] | None) -> None:
    parsed = parse_clock(text)
    assert (None if parsed is None else (parsed.hour, parsed.minute, parsed.second)) == expected


def test_lastdate_plus_lasttime() -> None:
    day = datetime(2026, 3, 2)  # GoldMine's local time
    assert local_stamp(day, "09:30") == datetime(2026, 3, 2, 9, 30)
    assert local_stamp(day, None) == day
    assert local_stamp(None, "09:30") is None
