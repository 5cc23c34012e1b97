"""``StateStore``: the one facade the engine uses for runs, links, intents, dead letters, audit."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast

from sqlalchemy import Engine, Row, Select, func, insert, select, update
from sqlalchemy.engine import Connection

from ledgerlink.compact import Int64Map
from ledgerlink.state import audit as audit_chain
from ledgerlink.state import batch as batches
from ledgerlink.state import conflicts as conflict_queue
from ledgerlink.state import retry_schedule
from ledgerlink.state import reviews as review_queue
from ledgerlink.state.db import mask_url, open_engine, write_engine
from ledgerlink.state.ids import RunIdFactory
from ledgerlink.state.records import (
    FINAL_RUN_STATUSES,
    AuditEntry,
    AuditVerdict,
    BatchCommit,
    ConflictRow,
    DeadLetter,
    Intent,
    IntentWrite,
    Link,
    MatchReview,
    ReviewDecision,
    RunRow,
)
from ledgerlink.state.tables import (
    cursors,
    dead_letters,
    links,
    pipe_state,
    runs,
    source_aliases,
)
from ledgerlink.state.tables import intents as intents_table

if TYPE_CHECKING:
    from ledgerlink.state.secrets import SecretKey, StateTokenStore

Clock = Callable[[], datetime]

#: Rows fetched per round trip by ``load_versions`` (bounds the driver's buffers).
VERSIONS_FETCH = 20_000


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _fetch_pairs_into(
    conn: Connection,
    query: Select[Any],
    into: dict[str, int] | Int64Map,
    key: Callable[[str], Any] | None = None,
) -> None:
    """Run a two-column query straight on the driver's cursor, filling ``into``.

    This is the one hot read (a million links at the start of every run): building a ``Row`` per
    link costs as much again as the query. Neither column has a result processor on SQLite or
    PostgreSQL, so the driver's tuples are already the right values. PostgreSQL gets a
    server-side cursor, so the driver never holds the whole result at once.
    """
    compiled = query.compile(dialect=conn.dialect)
    dbapi: Any = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        cursor = dbapi.cursor(name="ledgerlink_load_versions")
        params: Any = compiled.params
    else:
        cursor = dbapi.cursor()
        params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    try:
        cursor.execute(str(compiled), params)
        while part := cursor.fetchmany(VERSIONS_FETCH):
            into.update(part if key is None else ((key(k), v) for k, v in part))
    finally:
        cursor.close()


def _run(row: Row[Any]) -> RunRow:
    return RunRow(
        id=row.id,
        command=row.command,
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        summary=row.summary,
    )


def _link(row: Row[Any]) -> Link:
    return Link(
        pipe=row.pipe,
        source_key=row.source_key,
        target_id=row.target_id,
        version=int(row.version),
        desired_hash=row.desired_hash,
        snapshot=row.snapshot,
        ledgerlink_id=row.ledgerlink_id,
        updated_at=row.updated_at,
        last_run_id=row.last_run_id,
    )


def _intent(row: Row[Any]) -> Intent:
    return Intent(
        key=row.key,
        run_id=row.run_id,
        pipe=row.pipe,
        source_key=row.source_key,
        action=row.action,
        ledgerlink_id=row.ledgerlink_id,
        status=row.status,
        created_at=row.created_at,
        completed_at=row.completed_at,
    )


def _dead_letter(row: Row[Any]) -> DeadLetter:
    return DeadLetter(
        id=int(row.id),
        pipe=row.pipe,
        source_key=row.source_key,
        location=row.location,
        stage=row.stage,
        kind=row.kind,
        message=row.message,
        hint=row.hint,
        record=row.record,
        attempts=int(row.attempts),
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        last_run_id=row.last_run_id,
        resolved_at=row.resolved_at,
        resolution=row.resolution,
        next_attempt_at=row.next_attempt_at,
    )


class StateStore:
    """Links, cursors, intents, dead letters and the audit trail of one ledgerlink installation.

    Open it with ``StateStore.open(url)``; every method runs in its own short transaction, and
    ``commit_batch`` applies all the effects of one executed batch atomically. Safe to share
    between threads; several processes may use the same database (PostgreSQL, or SQLite on one
    machine).
    """

    def __init__(self, engine: Engine, *, clock: Clock = utc_now) -> None:
        """Wrap an engine whose schema is already at head (use ``open`` to get one)."""
        self._engine = engine
        self._writer = write_engine(engine)
        self._clock = clock
        self._run_ids = RunIdFactory()

    @classmethod
    def open(cls, url: str, *, clock: Clock = utc_now) -> StateStore:
        """Connect to ``url`` and create or upgrade the schema to head.

        Raises ``ConnectionFailedError`` (password masked) when the database cannot be opened
        and ``ConfigError`` when the URL is unusable or the schema is newer than this version.
        """
        return cls(open_engine(url), clock=clock)

    @property
    def url(self) -> str:
        """The database URL, password masked (for messages and ``ledgerlink status``)."""
        return mask_url(self._engine.url)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def token_store(self, key: SecretKey, *, scope: str | None = None) -> StateTokenStore:
        """The encrypted ``TokenStore`` of this database: OAuth token sets unless ``scope``.

        Get ``key`` from ``ledgerlink.state.secrets.load_secret_key``.
        """
        # cryptography is imported only by the commands that need secrets
        from ledgerlink.state.secrets import OAUTH_SCOPE, StateTokenStore  # noqa: PLC0415

        return StateTokenStore(self._engine, key, scope=scope or OAUTH_SCOPE, clock=self._now)

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            msg = "the state store's clock must return timezone-aware datetimes"
            raise ValueError(msg)
        return now.astimezone(UTC)

    # runs ------------------------------------------------------------------------------------

    def start_run(self, command: str) -> str:
        """Record a new run in status ``running`` and return its time-ordered id."""
        now = self._now()
        run_id = self._run_ids.new_id(now)
        with self._writer.begin() as conn:
            conn.execute(
                insert(runs).values(id=run_id, command=command, status="running", started_at=now)
            )
        return run_id

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        """Close a run with status ``ok``, ``partial`` or ``failed`` and its JSON summary."""
        if status not in FINAL_RUN_STATUSES:
            msg = f"run status {status!r} is not one of {sorted(FINAL_RUN_STATUSES)}"
            raise ValueError(msg)
        with self._writer.begin() as conn:
            result = conn.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(status=status, finished_at=self._now(), summary=summary)
            )
        if result.rowcount == 0:
            msg = f"no run {run_id!r} in the state database"
            raise LookupError(msg)

    def list_runs(self, limit: int = 20) -> list[RunRow]:
        """The latest runs, newest first."""
        query = select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
        with self._engine.connect() as conn:
            return [_run(row) for row in conn.execute(query)]

    def get_run(self, run_id: str) -> RunRow | None:
        """One run, or ``None``."""
        with self._engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).one_or_none()
        return None if row is None else _run(row)

    # per-pipe state ----------------------------------------------------------------------------

    def get_cursor(self, pipe: str, stream: str) -> str | None:
        """The committed cursor of ``stream`` for ``pipe``, ``None`` before the first sync."""
        query = select(cursors.c.value).where(cursors.c.pipe == pipe, cursors.c.stream == stream)
        with self._engine.connect() as conn:
            return cast("str | None", conn.execute(query).scalar_one_or_none())

    def get_fingerprint(self, pipe: str) -> str | None:
        """The mapping fingerprint the pipe's links were last written with."""
        query = select(pipe_state.c.fingerprint).where(pipe_state.c.pipe == pipe)
        with self._engine.connect() as conn:
            return cast("str | None", conn.execute(query).scalar_one_or_none())

    # links -------------------------------------------------------------------------------------

    def load_versions(self, pipe: str) -> dict[str, int]:
        """``source_key -> version`` for every link of the pipe (two columns, streamed)."""
        query = select(links.c.source_key, links.c.version).where(links.c.pipe == pipe)
        versions: dict[str, int] = {}
        with self._engine.connect() as conn:
            _fetch_pairs_into(conn, query, versions)
        return versions

    def load_version_digests(self, pipe: str) -> Int64Map:
        """``hash(source_key) -> version`` for every link: the engine's in-memory change index.

        Keyed by the process's string hash instead of the key itself and held in flat arrays
        (32 bytes a link instead of ~150); valid only within this process.
        """
        query = select(links.c.source_key, links.c.version).where(links.c.pipe == pipe)
        digests = Int64Map()
        with self._engine.connect() as conn:
            _fetch_pairs_into(conn, query, digests, key=hash)
        return digests

    def get_links(self, pipe: str, keys: Collection[str]) -> dict[str, Link]:
        """The links of these source keys (keys without a link are absent)."""
        found: dict[str, Link] = {}
        with self._engine.connect() as conn:
            for chunk in batches.chunked(keys):
                query = select(links).where(links.c.pipe == pipe, links.c.source_key.in_(chunk))
                for row in conn.execute(query):
                    found[row.source_key] = _link(row)
        return found

    def get_link_by_target(self, pipe: str, target_id: str) -> Link | None:
        """The link pointing at this target record, if any."""
        query = (
            select(links)
            .where(links.c.pipe == pipe, links.c.target_id == target_id)
            .order_by(links.c.source_key)
            .limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).one_or_none()
        return None if row is None else _link(row)

    def count_links(self, pipe: str) -> int:
        """How many records of the pipe are linked."""
        query = select(func.count()).select_from(links).where(links.c.pipe == pipe)
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # intents -----------------------------------------------------------------------------------

    def record_intents(self, run_id: str, intents: Sequence[IntentWrite]) -> None:
        """Commit intents before their external writes; a key already recorded is kept as is
        (except a ``failed`` one, which becomes ``pending`` again for the retry)."""
        if not intents:
            return
        with self._writer.begin() as conn:
            batches.record_intents(conn, run_id, intents, self._now())

    def pending_intents(self, pipe: str) -> list[Intent]:
        """Intents of the pipe whose outcome was never recorded (oldest first)."""
        table = intents_table
        query = (
            select(table)
            .where(table.c.pipe == pipe, table.c.status == "pending")
            .order_by(table.c.created_at, table.c.key)
        )
        with self._engine.connect() as conn:
            return [_intent(row) for row in conn.execute(query)]

    # batches -----------------------------------------------------------------------------------

    def commit_batch(self, batch: BatchCommit) -> None:
        """Apply one executed batch in a single transaction (all of it or nothing)."""
        with self._writer.begin() as conn:
            batches.write_batch(conn, batch, self._now())

    # dead letters ------------------------------------------------------------------------------

    def list_dead_letters(
        self, pipe: str | None = None, include_resolved: bool = False
    ) -> list[DeadLetter]:
        """Dead letters, oldest first; open ones only unless ``include_resolved``."""
        query = select(dead_letters).order_by(dead_letters.c.id)
        if pipe is not None:
            query = query.where(dead_letters.c.pipe == pipe)
        if not include_resolved:
            query = query.where(dead_letters.c.resolved_at.is_(None))
        with self._engine.connect() as conn:
            return [_dead_letter(row) for row in conn.execute(query)]

    def get_dead_letters(self, ids: Collection[int]) -> list[DeadLetter]:
        """These dead letters (resolved or not), in id order; unknown ids are skipped."""
        found: list[DeadLetter] = []
        with self._engine.connect() as conn:
            for chunk in batches.chunked(sorted(set(ids))):
                query = select(dead_letters).where(dead_letters.c.id.in_(chunk))
                found.extend(_dead_letter(row) for row in conn.execute(query))
        return sorted(found, key=lambda letter: letter.id)

    def resolve_dead_letters(self, pipe: str, keys: Collection[str], resolution: str) -> int:
        """Close the open dead letters of these records; returns how many were closed."""
        with self._writer.begin() as conn:
            return batches.resolve_dead_letters(conn, pipe, keys, resolution, self._now())

    def replayable_dead_letters(self, pipe: str) -> list[DeadLetter]:
        """Open dead letters a sync may replay now: due by ``retry_schedule``, or waiting for a
        dependency (the caller checks that it has arrived)."""
        query = retry_schedule.replayable(pipe, self._now())
        with self._engine.connect() as conn:
            return [_dead_letter(row) for row in conn.execute(query)]

    def reschedule_dead_letters(self, pipe: str, keys: Collection[str], run_id: str) -> int:
        """Count a replay that left these open letters untouched; returns how many it moved."""
        with self._writer.begin() as conn:
            return batches.reschedule_dead_letters(conn, pipe, keys, run_id, self._now())

    def now(self) -> datetime:
        """The store's clock (timezone-aware UTC): what dead-letter times are measured against."""
        return self._now()

    # conflicts (two-way pipes) -------------------------------------------------------------------

    def list_conflicts(
        self, pipe: str | None = None, include_resolved: bool = False
    ) -> list[ConflictRow]:
        """Queued conflicts, oldest first; open ones only unless ``include_resolved``."""
        query = conflict_queue.query(pipe, include_resolved=include_resolved)
        with self._engine.connect() as conn:
            return [conflict_queue.row(item) for item in conn.execute(query)]

    def get_conflict(self, conflict_id: int) -> ConflictRow | None:
        """One conflict (open or resolved), or ``None``."""
        with self._engine.connect() as conn:
            item = conn.execute(conflict_queue.by_id(conflict_id)).one_or_none()
        return None if item is None else conflict_queue.row(item)

    def get_links_by_target(self, pipe: str, target_ids: Collection[str]) -> dict[str, list[Link]]:
        """The links pointing at these target records, by target id (several when the same
        party was exported twice from the source)."""
        found: dict[str, list[Link]] = {}
        with self._engine.connect() as conn:
            for chunk in batches.chunked(target_ids):
                query = select(links).where(links.c.pipe == pipe, links.c.target_id.in_(chunk))
                for item in conn.execute(query.order_by(links.c.source_key)):
                    found.setdefault(item.target_id, []).append(_link(item))
        return found

    # match reviews -----------------------------------------------------------------------------

    def get_reviews(self, pipe: str, keys: Collection[str]) -> dict[str, MatchReview]:
        """The match reviews (open or decided) of these source keys, in one query per 500."""
        with self._engine.connect() as conn:
            return review_queue.get_reviews(conn, pipe, keys)

    def list_reviews(
        self, pipe: str | None = None, *, include_decided: bool = False
    ) -> list[MatchReview]:
        """Match reviews in id order; open ones only unless ``include_decided``."""
        with self._engine.connect() as conn:
            return review_queue.list_reviews(conn, pipe, include_decided=include_decided)

    def get_review(self, review_id: int) -> MatchReview | None:
        """One match review, or ``None``."""
        with self._engine.connect() as conn:
            return review_queue.get_review(conn, review_id)

    def decide_review(
        self,
        review_id: int,
        decision: ReviewDecision,
        *,
        target_id: str | None = None,
        by: str | None = None,
    ) -> MatchReview:
        """Accept a candidate (the best unless ``target_id``) or reject them all, audited.

        Raises ``reviews.ReviewError`` for an unknown id, a target that was not offered, or a
        decision a sync has already acted on.
        """
        with self._writer.begin() as conn:
            return review_queue.decide(
                conn,
                review_id=review_id,
                decision=decision,
                target_id=target_id,
                by=by,
                now=self._now(),
            )

    def count_waiting_decisions(self, pipe: str) -> int:
        """Decided reviews of the pipe that no sync has acted on yet."""
        with self._engine.connect() as conn:
            return review_queue.count_waiting_decisions(conn, pipe)

    # source aliases ------------------------------------------------------------------------------

    def record_aliases(self, pipe: str, pairs: Collection[tuple[str, str]]) -> None:
        """Remember ``(alias, source_key)`` pairs; an alias seen again points at its newest key."""
        if not pairs:
            return
        now = self._now()
        rows = [
            {"pipe": pipe, "alias": alias, "source_key": key, "updated_at": now}
            for alias, key in dict(pairs).items()
        ]
        with self._writer.begin() as conn:
            stmt = batches.dialect_insert(conn, source_aliases)
            stmt = stmt.on_conflict_do_update(
                index_elements=[source_aliases.c.pipe, source_aliases.c.alias],
                set_={"source_key": stmt.excluded.source_key, "updated_at": now},
            )
            conn.execute(stmt, rows)

    def resolve_aliases(self, pipe: str, aliases: Collection[str]) -> dict[str, str]:
        """The source keys these aliases stand for (unknown aliases are absent)."""
        found: dict[str, str] = {}
        table = source_aliases
        with self._engine.connect() as conn:
            for chunk in batches.chunked(aliases):
                query = select(table.c.alias, table.c.source_key).where(
                    table.c.pipe == pipe, table.c.alias.in_(chunk)
                )
                found.update({row.alias: row.source_key for row in conn.execute(query)})
        return found

    # audit -------------------------------------------------------------------------------------

    def verify_audit(self) -> AuditVerdict:
        """Check the whole audit chain; names the first entry that was edited or deleted."""
        return audit_chain.verify_chain(self._engine)

    def iter_audit(self) -> Iterator[AuditEntry]:
        """Every audit entry in order, streamed page by page."""
        return audit_chain.iter_entries(self._engine)
