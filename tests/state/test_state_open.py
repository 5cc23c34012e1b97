"""Opening the state database: URLs, errors, pragmas, migrations and the schema they produce."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

import ledgerlink
from ledgerlink.errors import ConfigError, ConnectionFailedError
from ledgerlink.state import BatchCommit, LinkWrite, StateStore
from ledgerlink.state.db import (
    HEAD_REVISION,
    MIGRATIONS_LOCATION,
    create_state_engine,
    mask_url,
    normalise_url,
)
from ledgerlink.state.tables import VERSION_TABLE, metadata


def _link(key: str, version: int = 1) -> LinkWrite:
    return LinkWrite(key, f"T-{key}", version, "ab" * 32, {"name": key}, f"ll-{key}")


def test_reopening_keeps_links_cursor_and_fingerprint(state_url: str) -> None:
    with StateStore.open(state_url) as store:
        run = store.start_run("sync")
        store.commit_batch(
            BatchCommit(
                run,
                "customers",
                links=[_link("c1"), _link("c2")],
                cursor=("contacts", "2026-03-01T00:00:00Z"),
                fingerprint="fp-1",
            )
        )
    with StateStore.open(state_url) as again:
        assert again.load_versions("customers") == {"c1": 1, "c2": 1}
        assert again.get_cursor("customers", "contacts") == "2026-03-01T00:00:00Z"
        assert again.get_fingerprint("customers") == "fp-1"
        assert again.list_runs()[0].id == run


def test_migrations_produce_exactly_the_declared_tables(state_url: str) -> None:
    StateStore.open(state_url).close()
    engine = create_state_engine(state_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
            )
            assert compare_metadata(context, metadata) == []
            tables = set(conn.dialect.get_table_names(conn))
    finally:
        engine.dispose()
    assert tables == {*metadata.tables, VERSION_TABLE}


def test_head_revision_constant_matches_the_shipped_migrations() -> None:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_LOCATION)
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD_REVISION]


def test_migration_scripts_ship_inside_the_package() -> None:
    migrations = Path(ledgerlink.__file__).parent / "state" / "migrations"
    assert (migrations / "env.py").is_file()
    assert list((migrations / "versions").glob("rev_*.py"))


def test_sqlite_is_opened_in_wal_mode_with_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    StateStore.open(url).close()
    engine = create_state_engine(url)
    try:
        with engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 30000,
    }


def test_open_is_fast_path_when_schema_is_at_head(tmp_path: Path) -> None:
    """An up-to-date database is opened without loading Alembic at all."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    StateStore.open(url).close()
    script = (
        "import sys\n"
        "from ledgerlink.state import StateStore\n"
        f"StateStore.open({url!r}).close()\n"
        "print('alembic' in sys.modules)\n"
    )
    src = str(Path(ledgerlink.__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "False"


def test_two_processes_opening_a_new_database_at_once_both_succeed(state_url: str) -> None:
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            StateStore.open(state_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with StateStore.open(state_url) as store:
        assert store.count_links("any") == 0


def test_a_newer_schema_revision_is_refused_with_a_clear_error(state_url: str) -> None:
    StateStore.open(state_url).close()
    engine = create_state_engine(state_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    finally:
        engine.dispose()
    with pytest.raises(ConfigError, match="newer ledgerlink") as caught:
        StateStore.open(state_url)
    assert "'9999'" in str(caught.value)


def test_unreachable_postgres_names_the_url_with_the_password_masked() -> None:
    url = "postgresql://ledger:s3cret-pw@127.0.0.1:1/books?connect_timeout=2"
    with pytest.raises(ConnectionFailedError) as caught:
        StateStore.open(url)
    message = str(caught.value)
    assert "s3cret-pw" not in message
    assert "postgresql://ledger:***@127.0.0.1:1/books" in message
    assert "server is running" in message
    assert caught.value.kind == "connection"


def test_sqlite_in_a_missing_folder_is_a_connection_error_with_a_hint(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'folder' / 'state.db'}"
    with pytest.raises(ConnectionFailedError, match="folder exists"):
        StateStore.open(url)


@pytest.mark.parametrize("url", ["not a url", "nosuchdb://x/y"])
def test_unusable_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigError, match="state database"):
        StateStore.open(url)


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2"),
        ("sqlite:///state.db", "sqlite"),
    ],
)
def test_postgres_urls_default_to_psycopg_3(given: str, driver: str) -> None:
    assert normalise_url(given).drivername == driver


def test_mask_url_hides_passwords_in_netloc_and_query() -> None:
    assert mask_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert (
        mask_url("postgresql://h/db?user=u&password=pw") == "postgresql://h/db?user=u&password=***"
    )
