"""Test plumbing around the GoldMine emulator: PostgreSQL schemas, connectors, whole reads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ledgerlink.canonical.records import Change, ReadFailure
from ledgerlink.connectors.base import ConnectorContext
from ledgerlink.connectors.goldmine.config import GoldMineConfig
from ledgerlink.connectors.goldmine.connector import GoldMineConnector
from tests.emulators.goldmine.database import GoldMineEmulator, engine_url
from tests.services import require_postgres


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A URL whose connections work in a fresh, uniquely named schema, dropped afterwards."""
    schema = f"ll_gm_{uuid.uuid4().hex[:16]}"
    admin = create_engine(engine_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def database_url(kind: str, folder: Path) -> Iterator[str]:
    """An empty database: a SQLite file in ``folder`` or a fresh PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'goldmine.db'}"
    else:
        with postgres_schema(require_postgres()) as url:
            yield url


def connector_for(gm: GoldMineEmulator, base: Path, **settings: Any) -> GoldMineConnector:
    """A connector on the emulator's database (currency USD unless given) whose clock is the
    emulator's ``now`` in the configured time zone."""
    raw = {"type": "goldmine", "url": gm.url, "currency": "USD", **settings}
    config = GoldMineConfig.model_validate(raw)
    zone = ZoneInfo(config.timezone)
    connector = GoldMineConnector(
        config, ConnectorContext("crm", base), clock=lambda: gm.now.replace(tzinfo=zone)
    )
    gm.connectors.append(connector)  # closed with the emulator
    return connector


def read_all(
    connector: GoldMineConnector, stream: str, cursor: str | None = None
) -> tuple[list[Change], str | None]:
    """Every change of one read (no read failures expected) and the cursor after it."""
    read = connector.read(stream, cursor)
    items = list(read)
    assert not [i for i in items if isinstance(i, ReadFailure)]
    return [i for i in items if isinstance(i, Change)], read.cursor()
