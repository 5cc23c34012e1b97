"""Secrets at rest: the Fernet key, and the encrypted ``TokenStore`` kept in the state database.

Where the key comes from (``load_secret_key``, called once by the composition root):

1. ``LEDGERLINK_SECRET_KEY``, when set and not blank: a Fernet key (``Fernet.generate_key()``), or
   several separated by commas. The first key encrypts; every key listed decrypts, so a key is
   rotated by putting the new one first and keeping the old one after it until
   ``StateTokenStore.rotate`` has re-encrypted everything.
2. Otherwise, for a SQLite state file, a key file beside the database (``ledgerlink.db`` ->
   ``ledgerlink.db.key``), same format. It is created on first use with mode 0600, written to a
   temporary file and linked into place, so two processes starting at once agree on one key and an
   existing file is never overwritten. It protects the database when it travels alone (sent for
   support, copied to another machine); whoever can read both files can read the tokens, so set
   ``LEDGERLINK_SECRET_KEY`` from a secret manager for more than that.
3. A shared (PostgreSQL) state with no ``LEDGERLINK_SECRET_KEY`` is a ``ConfigError``: every
   machine must use the same key, and one invented per machine would make each unable to read what
   the others stored.

An in-memory SQLite state gets a random key that lives as long as the process, like the database.

Each row holds Fernet ciphertext of a small JSON envelope naming its scope and connection (so a
row copied onto another connection is refused) and the fingerprint of the key that encrypted it
(so a changed key is reported as such, naming the connection). Key material, tokens and
ciphertext never appear in a ``repr``, a message or a log line.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.engine import Connection

from ledgerlink.errors import ConfigError, ErrorContext
from ledgerlink.state.batch import dialect_insert
from ledgerlink.state.db import mask_url, normalise_url, write_engine
from ledgerlink.state.tables import KEY_ID_LEN
from ledgerlink.state.tables import secrets as secrets_table

log = logging.getLogger("ledgerlink.state.secrets")

#: The environment variable holding the Fernet key(s), comma-separated, first one encrypts.
SECRET_KEY_ENV = "LEDGERLINK_SECRET_KEY"  # noqa: S105 - a variable's name, not a secret
#: Appended to the SQLite database's file name to name its key file.
KEY_FILE_SUFFIX = ".key"
#: The scope of OAuth token sets in the ``secrets`` table.
OAUTH_SCOPE = "oauth"

_ENVELOPE_VERSION = 1
_KEY_SEPARATORS = re.compile(r"[,\s]+")
_MAKE_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


def _key_id(key: bytes) -> str:
    # A fingerprint, not the key: a domain-separated hash of the key's 32 raw bytes.
    raw = base64.urlsafe_b64decode(key)
    return hashlib.sha256(b"ledgerlink secret key id\0" + raw).hexdigest()[:KEY_ID_LEN]


class SecretKey:
    """One or more Fernet keys: the first encrypts, all of them decrypt.

    ``source`` says where the keys came from (for messages); ``repr`` shows only that and the
    keys' fingerprints.
    """

    __slots__ = ("_fernet", "_key_ids", "source")

    def __init__(self, keys: Sequence[str | bytes], *, source: str) -> None:
        """Check and hold ``keys``; a malformed key is a ``ConfigError`` naming ``source``."""
        if not keys:
            raise ConfigError(
                f"{source} holds no secret key",
                hint=f"Put a Fernet key there; make one with: {_MAKE_KEY}",
                context=ErrorContext(system="state"),
            )
        fernets: list[Fernet] = []
        ids: list[str] = []
        for position, key in enumerate(keys, start=1):
            raw = key.encode("ascii", "replace") if isinstance(key, str) else key
            try:
                fernets.append(Fernet(raw))
            except (ValueError, TypeError):
                which = f"key {position} of {len(keys)}" if len(keys) > 1 else "the key"
                raise ConfigError(
                    f"{source}: {which} is not a Fernet key (32 bytes, URL-safe base64)",
                    hint=f"Make one with: {_MAKE_KEY}",
                    context=ErrorContext(system="state"),
                ) from None
            ids.append(_key_id(raw))
        self._fernet = MultiFernet(fernets)
        self._key_ids = tuple(ids)
        self.source = source

    @classmethod
    def parse(cls, text: str, *, source: str) -> SecretKey:
        """Keys written as text: separated by commas, spaces or new lines."""
        return cls([part for part in _KEY_SEPARATORS.split(text) if part], source=source)

    @classmethod
    def generate(cls, *, source: str) -> SecretKey:
        """A new random key (for a state that does not outlive the process)."""
        return cls([Fernet.generate_key()], source=source)

    @property
    def key_id(self) -> str:
        """The fingerprint of the key that encrypts."""
        return self._key_ids[0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The fingerprints of every key that decrypts, the encrypting one first."""
        return self._key_ids

    def encrypt(self, plaintext: bytes) -> str:
        """Fernet ciphertext (ASCII) of ``plaintext`` under the first key."""
        return self._fernet.encrypt(plaintext).decode("ascii")

    def decrypt(self, ciphertext: str) -> bytes:
        """The plaintext; raises ``cryptography.fernet.InvalidToken`` when no key opens it."""
        return self._fernet.decrypt(ciphertext.encode("ascii"))

    def reencrypt(self, ciphertext: str) -> str:
        """The same plaintext encrypted under the first key (``InvalidToken`` as ``decrypt``)."""
        return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")

    def __repr__(self) -> str:
        return f"SecretKey(source={self.source!r}, key_ids={self._key_ids!r})"


# -- finding the key ---------------------------------------------------------------------------


def key_file_path(state_url: str) -> Path | None:
    """The key file of a SQLite state file (``<db>.key``); ``None`` for any other state."""
    url = normalise_url(state_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = Path(url.database).absolute()
    return database.with_name(database.name + KEY_FILE_SUFFIX)


def load_secret_key(state_url: str, environ: Mapping[str, str]) -> SecretKey:
    """The key that encrypts this state's secrets (see the module docstring for the order).

    Raises ``ConfigError`` for a malformed key, an unreadable key file, or a server database
    without ``LEDGERLINK_SECRET_KEY``.
    """
    configured = environ.get(SECRET_KEY_ENV, "")
    if configured.strip():
        return SecretKey.parse(configured, source=SECRET_KEY_ENV)
    if normalise_url(state_url).get_backend_name() != "sqlite":
        raise ConfigError(
            f"{SECRET_KEY_ENV} is not set, and the state database {mask_url(state_url)} is "
            "shared, so ledgerlink will not invent a secret key on this machine",
            hint=f"Set {SECRET_KEY_ENV} to the same Fernet key on every machine that uses this "
            f"database; make one with: {_MAKE_KEY}",
            context=ErrorContext(system="state"),
        )
    path = key_file_path(state_url)
    if path is None:
        return SecretKey.generate(source="a key of this process (in-memory state)")
    return _read_key_file(path)


def _read_key_file(path: Path) -> SecretKey:
    source = f"the key file {path}"
    try:
        if not path.exists():
            _create_key_file(path)
        if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
            log.warning("%s can be read by other users; make it private: chmod 600 %s", path, path)
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(
            f"cannot use {source}: {reason}",
            hint="Check that its folder is writable and the file readable, "
            f"or set {SECRET_KEY_ENV}",
            context=ErrorContext(system="state"),
        ) from None
    return SecretKey.parse(text, source=source)


def _create_key_file(path: Path) -> None:
    # Write a private temporary file, then link it into place: ``link`` fails if the key file
    # exists, so a key is never overwritten, and readers never see a half-written file.
    text = Fernet.generate_key().decode("ascii") + "\n"
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), 0o600)  # whatever the umask allowed
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return  # another process created it first: its key is the key
        except OSError:
            _create_exclusively(path, text)  # a file system without hard links
        _sync_folder(path.parent)
        log.info("created the secret key file %s (keep it with backups of the database)", path)
    finally:
        temporary.unlink(missing_ok=True)


def _create_exclusively(path: Path, text: str) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _sync_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# -- the token store ---------------------------------------------------------------------------


def _utc_now() -> datetime:
    return datetime.now(UTC)


@contextlib.contextmanager
def _durable_commit(conn: Connection) -> Iterator[None]:
    """On SQLite, fsync this commit (``synchronous = FULL``) instead of the WAL's usual NORMAL.

    NORMAL survives a crash of the process but may lose the last commits on power loss; losing a
    rotated refresh token that way strands the connection. The pragma cannot change inside a
    transaction, so it is set on the raw connection before ``BEGIN`` and restored after.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    raw: Any = conn.connection.dbapi_connection
    raw.execute("PRAGMA synchronous = FULL")
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # a pooled connection left at FULL is only slower
            raw.execute("PRAGMA synchronous = NORMAL")


class StateTokenStore:
    """A ``TokenStore`` in the state database: each connection's token set, Fernet-encrypted.

    ``save`` commits (fsynced) in its own transaction before it returns. ``load`` of a row
    encrypted with a key no longer configured raises ``ConfigError`` naming the connection.
    """

    def __init__(
        self,
        engine: Engine,
        key: SecretKey,
        *,
        scope: str = OAUTH_SCOPE,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        """Keep secrets of ``scope`` in ``engine``'s database (schema at head) under ``key``."""
        self._engine = engine
        self._writer = write_engine(engine)
        self._key = key
        self._scope = scope
        self._clock = clock

    def __repr__(self) -> str:
        return f"StateTokenStore(scope={self._scope!r}, key={self._key!r})"

    def load(self, connection: str) -> dict[str, str] | None:
        """The stored token set of ``connection``, ``None`` when nothing is stored."""
        table = secrets_table
        query = select(table.c.ciphertext, table.c.key_id).where(
            table.c.scope == self._scope, table.c.name == connection
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            return None
        return self._open(connection, row.ciphertext, row.key_id)

    def save(self, connection: str, tokens: dict[str, str]) -> None:
        """Store (replace) the token set of ``connection``; durable when this returns."""
        for name, value in tokens.items():
            if not isinstance(name, str) or not isinstance(value, str):
                msg = f"token set of {connection!r}: field {name!r} must map a string to a string"
                raise TypeError(msg)
        envelope = {
            "v": _ENVELOPE_VERSION,
            "scope": self._scope,
            "name": connection,
            "tokens": tokens,
        }
        plaintext = json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()
        values = {
            "ciphertext": self._key.encrypt(plaintext),
            "key_id": self._key.key_id,
            "updated_at": self._now(),
        }
        with self._writer.connect() as conn:
            stmt = dialect_insert(conn, secrets_table).values(
                scope=self._scope, name=connection, **values
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[secrets_table.c.scope, secrets_table.c.name], set_=values
            )
            with _durable_commit(conn), conn.begin():
                conn.execute(stmt)

    def forget(self, connection: str) -> bool:
        """Delete the stored token set of ``connection`` (before authorising it again).

        Returns whether there was one.
        """
        table = secrets_table
        with self._writer.begin() as conn:
            result = conn.execute(
                delete(table).where(table.c.scope == self._scope, table.c.name == connection)
            )
        return result.rowcount > 0

    def rotate(self) -> int:
        """Re-encrypt every stored secret (all scopes) under the first key, in one transaction.

        Returns how many rows changed; afterwards the older keys can be removed. A row no
        configured key opens raises ``ConfigError`` and nothing changes.
        """
        table = secrets_table
        now = self._now()
        changed = 0
        with self._writer.connect() as conn, _durable_commit(conn), conn.begin():
            query = select(table.c.scope, table.c.name, table.c.ciphertext, table.c.key_id).where(
                table.c.key_id != self._key.key_id
            )
            for row in conn.execute(query).all():
                if row.key_id not in self._key.key_ids:
                    raise _key_changed(row.scope, row.name, row.key_id, self._key)
                try:
                    ciphertext = self._key.reencrypt(row.ciphertext)
                except InvalidToken:
                    raise _damaged(row.scope, row.name) from None
                conn.execute(
                    update(table)
                    .where(table.c.scope == row.scope, table.c.name == row.name)
                    .values(ciphertext=ciphertext, key_id=self._key.key_id, updated_at=now)
                )
                changed += 1
        return changed

    def _open(self, connection: str, ciphertext: str, key_id: str) -> dict[str, str]:
        if key_id not in self._key.key_ids:
            raise _key_changed(self._scope, connection, key_id, self._key)
        try:
            envelope = json.loads(self._key.decrypt(ciphertext))
        except (InvalidToken, ValueError):
            raise _damaged(self._scope, connection) from None
        if (
            not isinstance(envelope, dict)
            or envelope.get("scope") != self._scope
            or envelope.get("name") != connection
        ):
            raise _damaged(self._scope, connection)
        tokens = envelope.get("tokens")
        if not isinstance(tokens, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tokens.items()
        ):
            raise _damaged(self._scope, connection)
        return cast("dict[str, str]", tokens)

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            msg = "the token store's clock must return timezone-aware datetimes"
            raise ValueError(msg)
        return now


def _what(scope: str, name: str) -> str:
    if scope == OAUTH_SCOPE:
        return f"the stored OAuth tokens of connection {name!r}"
    return f"the stored {scope} secret {name!r}"


def _key_changed(scope: str, name: str, key_id: str, key: SecretKey) -> ConfigError:
    return ConfigError(
        f"{_what(scope, name)} were encrypted with another secret key (id {key_id}); "
        f"the key changed: {key.source} now holds {', '.join(key.key_ids)}",
        hint=f"Restore the previous {SECRET_KEY_ENV} or key file (to change keys, list the new "
        f"key first and keep the old one after a comma), or authorise {name!r} again",
        context=ErrorContext(system="state"),
    )


def _damaged(scope: str, name: str) -> ConfigError:
    return ConfigError(
        f"{_what(scope, name)} cannot be decrypted: the stored row was altered or damaged",
        hint=f"Authorise {name!r} again, which stores a new token set",
        context=ErrorContext(system="state"),
    )
