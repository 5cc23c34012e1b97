"""Opening the state database: URLs, SQLite pragmas, write transactions and migrations."""

from __future__ import annotations

import re
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.sql import column, table

from ledgerlink.errors import ConfigError, ConnectionFailedError, ErrorContext
from ledgerlink.state import codec
from ledgerlink.state.tables import VERSION_TABLE

if TYPE_CHECKING:
    from alembic.config import Config

#: The newest migration shipped in ``migrations/versions``; a test keeps the two in step.
HEAD_REVISION = "0004"
#: Where Alembic finds ``env.py`` and the versions, as a package resource (works from a wheel).
MIGRATIONS_LOCATION = "ledgerlink.state:migrations"
#: Execution option that makes SQLite take the write lock at ``BEGIN`` (``BEGIN IMMEDIATE``).
WRITE_OPTION = "ledgerlink_write"

SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_TIMEOUT_S = 10

_PASSWORD_IN_QUERY = re.compile(r"(?i)(password=)[^&]*")
_PASSWORD_IN_NETLOC = re.compile(r"(//[^:/@]*:)[^@/]*@")


def mask_url(url: str | URL) -> str:
    """The URL as the user wrote it, with any password replaced by ``***``."""
    raw = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
    masked = _PASSWORD_IN_NETLOC.sub(r"\1***@", raw)
    return _PASSWORD_IN_QUERY.sub(r"\1***", masked)


def normalise_url(url: str) -> URL:
    """Parse a state URL; plain ``postgresql://`` (or ``postgres://``) uses psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"the state database URL {mask_url(url)!r} is not a database URL",
            hint="Write it like sqlite:///ledgerlink.db or postgresql://user:password@host/db",
            context=ErrorContext(system="state"),
        ) from exc
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername=f"postgresql+{driver or 'psycopg'}")
    return parsed


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins (_on_sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    # WAL is a property of the file, set once. Switching needs an exclusive lock and SQLite does
    # not wait for it (no busy handler), so processes opening a new file at once retry briefly.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        mode = str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if mode in ("wal", "memory"):  # an in-memory database cannot use WAL
            return
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _on_sqlite_begin(conn: Connection) -> None:
    # Writers take the lock up front: a deferred transaction that reads and then writes can fail
    # with "database is locked" at once instead of waiting out the busy timeout.
    mode = "IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


def create_state_engine(url: str) -> Engine:
    """An engine for the state database, configured but not yet connected."""
    parsed = normalise_url(url)
    backend = parsed.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        if "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
        if "application_name" not in parsed.query:
            connect_args["application_name"] = "ledgerlink"
    try:
        engine = create_engine(
            parsed,
            connect_args=connect_args,
            json_serializer=codec.dumps,
            json_deserializer=codec.loads,
            pool_pre_ping=backend != "sqlite",
        )
    except (NoSuchModuleError, ModuleNotFoundError, ArgumentError) as exc:
        raise ConfigError(
            f"cannot use the state database {mask_url(url)!r}: {exc}",
            hint="Use sqlite:///FILE or postgresql://...; PostgreSQL needs "
            "`pip install ledgerlink[postgres]`",
            context=ErrorContext(system="state"),
        ) from exc
    if backend == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def write_engine(engine: Engine) -> Engine:
    """The same engine (same pool) whose transactions take SQLite's write lock at ``BEGIN``."""
    return engine.execution_options(**{WRITE_OPTION: True})


def connection_failed(url: str, exc: BaseException) -> ConnectionFailedError:
    """A user-facing error for a state database that could not be opened."""
    masked = mask_url(url)
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()
    reason = detail[0] if detail else type(exc).__name__
    if "database is locked" in reason:
        hint = "Another process is writing to it; try again when that run has finished"
    elif normalise_url(url).get_backend_name() == "sqlite":
        hint = "Check that the folder exists and is writable, or set `state:` in the config"
    else:
        hint = (
            "Check that the database server is running and reachable, and that the user, "
            "password and database name in `state:` are right"
        )
    return ConnectionFailedError(
        f"cannot open the state database {masked}: {reason}",
        hint=hint,
        context=ErrorContext(system="state", location=masked),
    )


_version_table = table(VERSION_TABLE, column("version_num"))


def current_revision(conn: Connection) -> str | None:
    """The schema revision recorded in the database, ``None`` for an empty database."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    value = conn.execute(select(_version_table.c.version_num)).scalar()
    return None if value is None else str(value)


def alembic_config(conn: Connection) -> Config:
    """An Alembic configuration that migrates ``conn`` with the packaged scripts (no .ini)."""
    from alembic.config import Config  # noqa: PLC0415 - Alembic is only needed to migrate

    config = Config()
    config.set_main_option("script_location", MIGRATIONS_LOCATION)
    config.attributes["connection"] = conn
    return config


def _lock_migrations(conn: Connection) -> None:
    # Two processes opening a new PostgreSQL database at once: the second waits, then finds the
    # schema at head. (On SQLite the IMMEDIATE transaction already serialises them.)
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || :purpose))"),
            {"purpose": "/ledgerlink-migrate"},
        )


def upgrade_to_head(engine: Engine, url: str) -> None:
    """Bring the schema to ``HEAD_REVISION`` in one locked transaction."""
    from alembic import command  # noqa: PLC0415 - keeps opening an up-to-date database cheap
    from alembic.util import CommandError  # noqa: PLC0415

    with write_engine(engine).begin() as conn:
        _lock_migrations(conn)
        if current_revision(conn) == HEAD_REVISION:
            return
        try:
            command.upgrade(alembic_config(conn), "head")
        except CommandError as exc:
            raise ConfigError(
                f"the state database {mask_url(url)} has schema revision "
                f"{current_revision(conn)!r}, which this version of ledgerlink does not know",
                hint="It was written by a newer ledgerlink: upgrade ledgerlink, "
                "or point `state:` at another database",
                context=ErrorContext(system="state"),
            ) from exc


def open_engine(url: str) -> Engine:
    """Connect to the state database and make sure its schema is at head.

    The fast path (already at head) costs one connection and one small query; Alembic is imported
    only when there is something to migrate.
    """
    engine = create_state_engine(url)
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
        if revision != HEAD_REVISION:
            upgrade_to_head(engine, url)
    except DBAPIError as exc:
        engine.dispose()
        raise connection_failed(url, exc) from exc
    except BaseException:
        engine.dispose()
        raise
    return engine
