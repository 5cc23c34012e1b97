"""The state schema as SQLAlchemy Core tables; the migrations must produce exactly this."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

# Deterministic constraint names, so that migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Alembic's bookkeeping table; our own name so that a database shared with another
#: Alembic-managed application never mixes the two histories.
VERSION_TABLE = "ledgerlink_alembic_version"

#: ``prev_hash`` of the first audit entry.
GENESIS_HASH = "0" * 64

ID_LEN = 26  # run ids (ULID-like)
HASH_LEN = 64  # sha256 hex
KEY_ID_LEN = 16  # fingerprint of the secret key that encrypted a row (``state.secrets``)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp, always handed back in UTC (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; normalise to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            msg = f"naive datetime {value!r}: the state database stores timezone-aware UTC only"
            raise ValueError(msg)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Attach UTC to what SQLite returns; convert what PostgreSQL returns to UTC."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _json() -> JSON:
    # none_as_null: Python None is SQL NULL, not the JSON literal ``null``.
    return JSON(none_as_null=True)


metadata = MetaData(naming_convention=NAMING_CONVENTION)

runs = Table(
    "runs",
    metadata,
    Column("id", String(ID_LEN), primary_key=True),
    Column("command", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("summary", _json(), nullable=True),
    Index(None, "started_at"),
)

pipe_state = Table(
    "pipe_state",
    metadata,
    Column("pipe", Text, primary_key=True),
    Column("fingerprint", Text, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

cursors = Table(
    "cursors",
    metadata,
    Column("pipe", Text, primary_key=True),
    Column("stream", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

links = Table(
    "links",
    metadata,
    Column("pipe", Text, primary_key=True),
    Column("source_key", Text, primary_key=True),
    Column("target_id", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("desired_hash", String(HASH_LEN), nullable=False),
    Column("snapshot", _json(), nullable=False),
    Column("ledgerlink_id", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_run_id", String(ID_LEN), ForeignKey("runs.id", ondelete="SET NULL")),
    Index(None, "pipe", "target_id"),
)

intents = Table(
    "intents",
    metadata,
    Column("key", Text, primary_key=True),
    Column("run_id", String(ID_LEN), ForeignKey("runs.id", ondelete="SET NULL")),
    Column("pipe", Text, nullable=False),
    Column("source_key", Text, nullable=False),
    Column("action", String(32), nullable=False),
    Column("ledgerlink_id", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),
    Index(None, "pipe", "status"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pipe", Text, nullable=False),
    Column("source_key", Text, nullable=False),
    Column("location", Text, nullable=True),
    Column("stage", String(16), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("hint", Text, nullable=True),
    Column("record", _json(), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("last_run_id", String(ID_LEN), ForeignKey("runs.id", ondelete="SET NULL")),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("resolution", Text, nullable=True),
    Column("next_attempt_at", UTCDateTime, nullable=True),
)

#: At most one *open* dead letter per record: a new failure updates it.
open_dead_letter_index = Index(
    "uq_dead_letters_open",
    dead_letters.c.pipe,
    dead_letters.c.source_key,
    unique=True,
    sqlite_where=dead_letters.c.resolved_at.is_(None),
    postgresql_where=dead_letters.c.resolved_at.is_(None),
)

# ``run_id`` has no foreign key on purpose: the audit trail is append-only, and a cascade from
# pruning old runs must never rewrite (and so break) a hash-chained entry.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("run_id", String(ID_LEN), nullable=True),
    Column("pipe", Text, nullable=False),
    Column("source_key", Text, nullable=True),
    Column("target_id", Text, nullable=True),
    Column("action", String(32), nullable=False),
    Column("before", _json(), nullable=True),
    Column("after", _json(), nullable=True),
    Column("idempotency_key", Text, nullable=True),
    Column("prev_hash", String(HASH_LEN), nullable=False),
    Column("hash", String(HASH_LEN), nullable=False),
)

#: One row (``id`` = 1): the last appended entry. Appenders lock it, which serialises them, and
#: ``audit verify`` compares the chain's end with it, which catches deleted trailing entries.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(HASH_LEN), nullable=False),
)

#: Encrypted secrets (OAuth token sets, ...), one row per (scope, name): Fernet ciphertext only,
#: never plaintext. ``key_id`` fingerprints the key that encrypted the row, so that a changed key
#: is reported as such instead of as damaged data.
secrets = Table(
    "secrets",
    metadata,
    Column("scope", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("ciphertext", Text, nullable=False),
    Column("key_id", String(KEY_ID_LEN), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

#: A field changed on both sides of a two-way pipe that its policy (``manual``) leaves to a person.
#: Open while ``resolved_at`` is NULL; at most one open conflict per record and field.
conflicts = Table(
    "conflicts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pipe", Text, nullable=False),
    Column("source_key", Text, nullable=False),
    Column("target_id", Text, nullable=False),
    Column("field", Text, nullable=False),
    Column("base_value", _json(), nullable=True),
    Column("crm_value", _json(), nullable=True),
    Column("books_value", _json(), nullable=True),
    Column("run_id", String(ID_LEN), ForeignKey("runs.id", ondelete="SET NULL")),
    Column("detected_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("resolution", Text, nullable=True),
    Column("resolved_value", _json(), nullable=True),
)

open_conflict_index = Index(
    "uq_conflicts_open",
    conflicts.c.pipe,
    conflicts.c.source_key,
    conflicts.c.field,
    unique=True,
    sqlite_where=conflicts.c.resolved_at.is_(None),
    postgresql_where=conflicts.c.resolved_at.is_(None),
)

#: A source record whose only match in the target is a fuzzy one: nothing is created for it until a
#: person accepts a candidate (a link) or rejects them all (a create on the next sync).
match_reviews = Table(
    "match_reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pipe", Text, nullable=False),
    Column("source_key", Text, nullable=False),
    Column("location", Text, nullable=True),
    Column("record", _json(), nullable=False),
    Column("candidates", _json(), nullable=False),
    Column("run_id", String(ID_LEN), ForeignKey("runs.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("decision", String(16), nullable=True),
    Column("target_id", Text, nullable=True),
    Index("uq_match_reviews_pipe_source_key", "pipe", "source_key", unique=True),
)

#: Other keys a source names a record by, e.g. GoldMine's ``RECID:<recid>`` of a contact whose
#: key is its ACCOUNTNO: the deletion log only has the former.
source_aliases = Table(
    "source_aliases",
    metadata,
    Column("pipe", Text, primary_key=True),
    Column("alias", Text, primary_key=True),
    Column("source_key", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
