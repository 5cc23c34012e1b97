"""The encrypted token store and its key: what a user, a crash or a stolen database would see."""

from __future__ import annotations

import logging
import stat
import threading
from pathlib import Path

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import event, select, text

from ledgerlink.connectors.base import TokenStore
from ledgerlink.errors import ConfigError
from ledgerlink.state import StateStore
from ledgerlink.state.db import alembic_config, create_state_engine, write_engine
from ledgerlink.state.secrets import (
    SECRET_KEY_ENV,
    SecretKey,
    StateTokenStore,
    key_file_path,
    load_secret_key,
)
from ledgerlink.state.tables import secrets

ACCESS = "at-PLAINTEXT-access-7f3a9c"
REFRESH = "rt-PLAINTEXT-refresh-51e0d2"
TOKENS = {"access_token": ACCESS, "refresh_token": REFRESH, "expires_at": "1767225600.0"}


def _new_key() -> str:
    return Fernet.generate_key().decode()


def _key(*keys: str) -> SecretKey:
    return load_secret_key("sqlite://", {SECRET_KEY_ENV: ",".join(keys)})


def _rows(url: str) -> list[dict[str, object]]:
    engine = create_state_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(select(secrets))]
    finally:
        engine.dispose()


def _sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'state.db'}"


# -- the store, on SQLite and PostgreSQL ------------------------------------------------------


def test_saved_tokens_load_back_and_a_save_replaces_them(store: StateStore, state_url: str) -> None:
    tokens = store.token_store(_key(_new_key()))
    assert isinstance(tokens, TokenStore)
    assert tokens.load("books") is None
    tokens.save("books", TOKENS)
    assert tokens.load("books") == TOKENS
    rotated = {**TOKENS, "refresh_token": "rt-rotated"}
    tokens.save("books", rotated)
    assert tokens.load("books") == rotated
    assert tokens.load("crm") is None
    assert len(_rows(state_url)) == 1


def test_the_database_row_holds_ciphertext_not_the_tokens(state_url: str) -> None:
    with StateStore.open(state_url) as store:
        key = _key(_new_key())
        store.token_store(key).save("books", TOKENS)
    [row] = _rows(state_url)
    assert (row["scope"], row["name"], row["key_id"]) == ("oauth", "books", key.key_id)
    for value in row.values():
        assert ACCESS not in str(value)
        assert REFRESH not in str(value)
    assert row["updated_at"].tzinfo is not None  # type: ignore[attr-defined]


def test_the_sqlite_file_never_contains_the_plaintext(tmp_path: Path) -> None:
    url = _sqlite_url(tmp_path)
    with StateStore.open(url) as store:
        store.token_store(load_secret_key(url, {})).save("books", TOKENS)
        on_disk = b"".join(path.read_bytes() for path in tmp_path.glob("state.db*"))
    assert b"PLAINTEXT" not in on_disk


def test_a_save_is_visible_to_another_store_as_soon_as_it_returns(state_url: str) -> None:
    key = _key(_new_key())
    with StateStore.open(state_url) as writer, StateStore.open(state_url) as reader:
        reading = reader.token_store(key)
        assert reading.load("books") is None  # the reader's pool holds an open connection now
        writer.token_store(key).save("books", TOKENS)
        assert reading.load("books") == TOKENS


def test_sqlite_saves_are_fsynced_and_the_connection_is_restored(tmp_path: Path) -> None:
    url = _sqlite_url(tmp_path)
    StateStore.open(url).close()
    engine = create_state_engine(url)
    statements: list[str] = []
    event.listen(engine, "connect", lambda raw, _: raw.set_trace_callback(statements.append))
    store = StateStore(engine)
    try:
        store.token_store(_key(_new_key())).save("books", TOKENS)
        with engine.connect() as conn:
            level = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    finally:
        store.close()
    saved = [s.split()[0].upper() if not s.startswith("PRAGMA") else s for s in statements]
    start = saved.index("PRAGMA synchronous = FULL")
    assert saved[start + 1 : start + 4] == ["BEGIN", "INSERT", "COMMIT"]
    assert saved[start + 4] == "PRAGMA synchronous = NORMAL"
    assert level == 1  # NORMAL again for the pooled connection's next user


def test_tokens_encrypted_with_another_key_name_the_connection_and_the_fix(
    state_url: str,
) -> None:
    with StateStore.open(state_url) as store:
        store.token_store(_key(_new_key())).save("books", TOKENS)
        [row] = _rows(state_url)
        with pytest.raises(ConfigError) as caught:
            store.token_store(_key(_new_key())).load("books")
    error = caught.value
    message = str(error)
    assert "'books'" in message
    assert "key changed" in message
    assert SECRET_KEY_ENV in message
    assert "authorise 'books' again" in message
    assert str(row["ciphertext"]) not in message
    assert ACCESS not in message
    assert REFRESH not in message
    assert error.kind == "config"
    assert error.__cause__ is None


def test_a_tampered_row_is_refused_as_damaged(state_url: str) -> None:
    key = _key(_new_key())
    with StateStore.open(state_url) as store:
        tokens = store.token_store(key)
        tokens.save("books", TOKENS)
        engine = write_engine(create_state_engine(state_url))
        try:
            with engine.begin() as conn:
                ciphertext = conn.execute(select(secrets.c.ciphertext)).scalar_one()
                flipped = (
                    ciphertext[:-6] + ("A" if ciphertext[-6] != "A" else "B") + ciphertext[-5:]
                )
                conn.execute(secrets.update().values(ciphertext=flipped))
        finally:
            engine.dispose()
        with pytest.raises(ConfigError, match="altered or damaged") as caught:
            tokens.load("books")
    assert flipped not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_row_copied_onto_another_connection_is_refused(state_url: str) -> None:
    key = _key(_new_key())
    with StateStore.open(state_url) as store:
        tokens = store.token_store(key)
        tokens.save("books", TOKENS)
        tokens.save("crm", {"access_token": "other"})
        engine = write_engine(create_state_engine(state_url))
        try:
            with engine.begin() as conn:
                books = select(secrets.c.ciphertext).where(secrets.c.name == "books")
                conn.execute(
                    secrets.update()
                    .where(secrets.c.name == "crm")
                    .values(ciphertext=books.scalar_subquery())
                )
        finally:
            engine.dispose()
        with pytest.raises(ConfigError, match=r"'crm'.*altered"):
            tokens.load("crm")
        assert tokens.load("books") == TOKENS


def test_scopes_keep_separate_secrets(store: StateStore) -> None:
    key = _key(_new_key())
    store.token_store(key).save("books", TOKENS)
    other = store.token_store(key, scope="password")
    assert other.load("books") is None
    other.save("books", {"password": "pw"})
    assert store.token_store(key).load("books") == TOKENS
    assert other.load("books") == {"password": "pw"}


def test_rotation_reads_old_rows_and_writes_with_the_new_key(state_url: str) -> None:
    old, new = _new_key(), _new_key()
    with StateStore.open(state_url) as store:
        store.token_store(_key(old)).save("books", TOKENS)
        store.token_store(_key(old)).save("crm", {"access_token": "crm-token"})
        both = store.token_store(_key(new, old))
        assert both.load("books") == TOKENS  # the old key still decrypts
        both.save("books", {**TOKENS, "refresh_token": "rt-2"})
        key_ids = {row["name"]: row["key_id"] for row in _rows(state_url)}
        assert key_ids == {"books": _key(new).key_id, "crm": _key(old).key_id}
        assert store.token_store(_key(new)).load("books") == {**TOKENS, "refresh_token": "rt-2"}
        with pytest.raises(ConfigError, match=r"'crm'.*key changed"):
            store.token_store(_key(new)).load("crm")

        assert both.rotate() == 1
        assert both.rotate() == 0
        assert {row["key_id"] for row in _rows(state_url)} == {_key(new).key_id}
        assert store.token_store(_key(new)).load("crm") == {"access_token": "crm-token"}
        with pytest.raises(ConfigError, match="key changed"):
            store.token_store(_key(old)).load("crm")


def test_rotation_stops_at_a_row_no_key_opens(store: StateStore) -> None:
    lost, old, new = _new_key(), _new_key(), _new_key()
    store.token_store(_key(old)).save("books", TOKENS)
    store.token_store(_key(lost)).save("crm", TOKENS)
    with pytest.raises(ConfigError, match=r"'crm'.*key changed"):
        store.token_store(_key(new, old)).rotate()
    assert store.token_store(_key(old)).load("books") == TOKENS  # nothing was re-encrypted


def test_forget_deletes_one_connection(store: StateStore) -> None:
    tokens = store.token_store(_key(_new_key()))
    tokens.save("books", TOKENS)
    tokens.save("crm", TOKENS)
    assert tokens.forget("books") is True
    assert tokens.forget("books") is False
    assert tokens.load("books") is None
    assert tokens.load("crm") == TOKENS


def test_token_sets_must_be_strings(store: StateStore) -> None:
    with pytest.raises(TypeError, match="'expires_at'"):
        store.token_store(_key(_new_key())).save("books", {"expires_at": 12.0})  # type: ignore[dict-item]


def test_upgrading_a_0001_database_keeps_its_data_and_adds_secrets(state_url: str) -> None:
    engine = create_state_engine(state_url)
    try:
        with write_engine(engine).begin() as conn:
            command.upgrade(alembic_config(conn), "0001")
            conn.execute(
                text(
                    "INSERT INTO runs (id, command, status, started_at) "
                    "VALUES ('01JRUN0000000000000000000A', 'sync', 'ok', :at)"
                ),
                {"at": "2026-03-01 00:00:00+00:00"},
            )
    finally:
        engine.dispose()
    with StateStore.open(state_url) as store:
        assert [run.id for run in store.list_runs()] == ["01JRUN0000000000000000000A"]
        tokens = store.token_store(_key(_new_key()))
        tokens.save("books", TOKENS)
        assert tokens.load("books") == TOKENS


# -- finding the key --------------------------------------------------------------------------


def test_sqlite_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    url = _sqlite_url(tmp_path)
    path = tmp_path / "state.db.key"
    assert key_file_path(url) == path
    first = load_secret_key(url, {})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_bytes()
    again = load_secret_key(url, {})
    assert again.key_id == first.key_id
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db.key"]  # no temporary left
    with StateStore.open(url) as store:
        store.token_store(first).save("books", TOKENS)
        assert store.token_store(again).load("books") == TOKENS


def test_an_existing_key_file_is_used_and_never_overwritten(tmp_path: Path) -> None:
    existing = _new_key()
    path = tmp_path / "state.db.key"
    path.write_text(existing + "\n")
    path.chmod(0o600)
    key = load_secret_key(_sqlite_url(tmp_path), {})
    assert key.key_id == _key(existing).key_id
    assert path.read_text() == existing + "\n"


def test_processes_starting_at_once_agree_on_one_key_file(tmp_path: Path) -> None:
    url = _sqlite_url(tmp_path)
    found: list[str] = []
    barrier = threading.Barrier(8)

    def load() -> None:
        barrier.wait()
        found.append(load_secret_key(url, {}).key_id)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8
    assert len(set(found)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db.key"]


def test_the_environment_key_wins_and_no_key_file_is_made(tmp_path: Path) -> None:
    configured = _new_key()
    key = load_secret_key(_sqlite_url(tmp_path), {SECRET_KEY_ENV: f"  {configured}\n"})
    assert key.key_id == _key(configured).key_id
    assert key.source == SECRET_KEY_ENV
    assert list(tmp_path.iterdir()) == []


def test_a_blank_environment_key_falls_back_to_the_key_file(tmp_path: Path) -> None:
    load_secret_key(_sqlite_url(tmp_path), {SECRET_KEY_ENV: "  "})
    assert (tmp_path / "state.db.key").is_file()


def test_a_key_file_holding_several_keys_rotates_like_the_environment(tmp_path: Path) -> None:
    old, new = _new_key(), _new_key()
    (tmp_path / "state.db.key").write_text(f"{new}\n{old}\n")
    key = load_secret_key(_sqlite_url(tmp_path), {})
    assert key.key_ids == (_key(new).key_id, _key(old).key_id)


def test_postgres_without_an_environment_key_is_a_config_error() -> None:
    url = "postgresql://ledger:s3cret-pw@db.example/books"
    with pytest.raises(ConfigError) as caught:
        load_secret_key(url, {"HOME": "/root"})
    message = str(caught.value)
    assert f"Set {SECRET_KEY_ENV}" in message
    assert "every machine" in message
    assert "s3cret-pw" not in message
    assert key_file_path(url) is None


def test_postgres_uses_the_environment_key(postgres_schema_url: str) -> None:
    configured = _new_key()
    key = load_secret_key(postgres_schema_url, {SECRET_KEY_ENV: configured})
    with StateStore.open(postgres_schema_url) as store:
        store.token_store(key).save("books", TOKENS)
        assert store.token_store(_key(configured)).load("books") == TOKENS


@pytest.mark.parametrize(
    ("value", "which"),
    [("not-a-key", "the key is not"), ("{good},short", "key 2 of 2 is not")],
)
def test_a_malformed_environment_key_is_named_but_not_shown(value: str, which: str) -> None:
    value = value.format(good=_new_key())
    with pytest.raises(ConfigError, match=f"{SECRET_KEY_ENV}: {which} a Fernet key") as caught:
        load_secret_key("sqlite://", {SECRET_KEY_ENV: value})
    assert value.split(",")[0] not in str(caught.value)
    assert caught.value.__cause__ is None


def test_an_empty_key_file_is_refused_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "state.db.key"
    path.write_text("")
    with pytest.raises(ConfigError, match="holds no secret key"):
        load_secret_key(_sqlite_url(tmp_path), {})
    assert path.read_text() == ""


def test_a_key_file_that_cannot_be_made_is_a_config_error(tmp_path: Path) -> None:
    url = _sqlite_url(tmp_path / "no" / "such" / "folder")
    with pytest.raises(ConfigError, match=f"cannot use the key file .*{SECRET_KEY_ENV}"):
        load_secret_key(url, {})


def test_an_in_memory_state_gets_a_key_of_its_own(tmp_path: Path) -> None:
    assert key_file_path("sqlite://") is None
    assert load_secret_key("sqlite://", {}).key_id != load_secret_key("sqlite://", {}).key_id


def test_a_readable_key_file_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.db.key"
    path.write_text(_new_key())
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="ledgerlink.state.secrets"):
        load_secret_key(_sqlite_url(tmp_path), {})
    assert "chmod 600" in caplog.text


# -- nothing leaks ----------------------------------------------------------------------------


def test_repr_and_logs_never_show_keys_or_tokens(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = _sqlite_url(tmp_path)
    with caplog.at_level(logging.DEBUG), StateStore.open(url) as store:
        key = load_secret_key(url, {})
        tokens = store.token_store(key)
        tokens.save("books", TOKENS)
        tokens.load("books")
        shown = [repr(key), str(key), repr(tokens), str(tokens)]
    material = (tmp_path / "state.db.key").read_text().strip()
    assert "created the secret key file" in caplog.text
    for text_ in [*shown, caplog.text]:
        assert material not in text_
        assert ACCESS not in text_
        assert REFRESH not in text_
    assert key.key_id in repr(key)
    assert isinstance(tokens, StateTokenStore)
