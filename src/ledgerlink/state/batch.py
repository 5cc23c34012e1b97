"""Writing one executed batch: bulk upserts that run unchanged on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, case, null, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ledgerlink.crashpoints import crashpoint
from ledgerlink.state import conflicts as conflict_queue
from ledgerlink.state import reviews as review_queue
from ledgerlink.state.audit import append_entries
from ledgerlink.state.records import STAGES, BatchCommit, DeadLetterWrite, IntentWrite
from ledgerlink.state.retry_schedule import first_attempt_at, next_attempt_after
from ledgerlink.state.tables import cursors, dead_letters, intents, links, pipe_state

#: Rows per ``IN (...)`` list; far below SQLite's and PostgreSQL's parameter limits.
IN_CHUNK = 500

T = TypeVar("T")


def chunked(items: Collection[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size``."""
    ordered = list(items)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def dialect_insert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An ``INSERT`` that knows ``ON CONFLICT`` for the connection's database."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    msg = f"the state database supports SQLite and PostgreSQL, not {conn.dialect.name}"
    raise NotImplementedError(msg)


def record_intents(
    conn: Connection, run_id: str, items: Sequence[IntentWrite], now: datetime
) -> None:
    """Insert intents, ignoring keys already recorded, except that a *failed* one is re-armed."""
    unique = {item.key: item for item in items}
    rows = [
        {
            "key": item.key,
            "run_id": run_id,
            "pipe": item.pipe,
            "source_key": item.source_key,
            "action": item.action,
            "ledgerlink_id": item.ledgerlink_id,
            "status": "pending",
            "created_at": now,
            "completed_at": None,
        }
        for item in sorted(unique.values(), key=lambda i: i.key)
    ]
    stmt = dialect_insert(conn, intents)
    # A retried write (``dlq retry``) has the same key as the attempt that failed: it must show
    # up as pending again so that a crash during the retry is noticed. Done intents stay done.
    stmt = stmt.on_conflict_do_update(
        index_elements=[intents.c.key],
        set_={"status": "pending", "run_id": stmt.excluded.run_id, "completed_at": None},
        where=intents.c.status == "failed",
    )
    conn.execute(stmt, rows)


def _upsert_links(conn: Connection, batch: BatchCommit, now: datetime) -> None:
    unique = {link.source_key: link for link in batch.links}
    rows = [
        {
            "pipe": batch.pipe,
            "source_key": key,
            "target_id": link.target_id,
            "version": link.version,
            "desired_hash": link.desired_hash,
            "snapshot": link.snapshot,
            "ledgerlink_id": link.ledgerlink_id,
            "updated_at": now,
            "last_run_id": batch.run_id,
        }
        # Sorted keys: two writers of overlapping batches lock rows in the same order.
        for key, link in sorted(unique.items())
    ]
    stmt = dialect_insert(conn, links)
    changing = ("target_id", "version", "desired_hash", "snapshot", "ledgerlink_id")
    set_: dict[str, Any] = {name: stmt.excluded[name] for name in changing}
    set_ |= {"updated_at": stmt.excluded.updated_at, "last_run_id": stmt.excluded.last_run_id}
    stmt = stmt.on_conflict_do_update(index_elements=[links.c.pipe, links.c.source_key], set_=set_)
    conn.execute(stmt, rows)


def _update_versions(conn: Connection, batch: BatchCommit) -> None:
    unique = dict(batch.versions_only)
    stmt = (
        update(links)
        .where(links.c.pipe == bindparam("b_pipe"), links.c.source_key == bindparam("b_key"))
        .values(version=bindparam("b_version"), last_run_id=bindparam("b_run"))
    )
    conn.execute(
        stmt,
        [
            {"b_pipe": batch.pipe, "b_key": key, "b_version": version, "b_run": batch.run_id}
            for key, version in sorted(unique.items())
        ],
    )


def _complete_intents(conn: Connection, batch: BatchCommit, now: datetime) -> None:
    for chunk in chunked(sorted(set(batch.done_intents))):
        conn.execute(
            update(intents).where(intents.c.key.in_(chunk)).values(status="done", completed_at=now)
        )
    for chunk in chunked(sorted(set(batch.failed_intents))):
        # Never turn a write known to have happened back into a failure.
        conn.execute(
            update(intents)
            .where(intents.c.key.in_(chunk), intents.c.status != "done")
            .values(status="failed", completed_at=now)
        )


def resolve_dead_letters(
    conn: Connection, pipe: str, keys: Collection[str], resolution: str, now: datetime
) -> int:
    """Close the open dead letters of these records; returns how many were open."""
    resolved = 0
    for chunk in chunked(sorted(set(keys))):
        result = conn.execute(
            update(dead_letters)
            .where(
                dead_letters.c.pipe == pipe,
                dead_letters.c.source_key.in_(chunk),
                dead_letters.c.resolved_at.is_(None),
            )
            .values(resolved_at=now, resolution=resolution)
        )
        resolved += result.rowcount
    return resolved


def _check_dead_letter(item: DeadLetterWrite) -> None:
    if item.stage not in STAGES:
        msg = f"dead letter stage {item.stage!r} is not one of {sorted(STAGES)}"
        raise ValueError(msg)


def add_dead_letters(
    conn: Connection, run_id: str, items: Sequence[DeadLetterWrite], now: datetime
) -> None:
    """Open a dead letter per record, or update the open one (``attempts`` + 1)."""
    unique: dict[tuple[str, str], DeadLetterWrite] = {}
    for item in items:
        _check_dead_letter(item)
        unique[(item.pipe, item.source_key)] = item
    rows = [
        {
            "pipe": item.pipe,
            "source_key": item.source_key,
            "location": item.location,
            "stage": item.stage,
            "kind": item.kind,
            "message": item.message,
            "hint": item.hint,
            "record": item.record,
            "attempts": 1,
            "first_seen": now,
            "last_seen": now,
            "last_run_id": run_id,
            "resolved_at": None,
            "resolution": None,
            "next_attempt_at": first_attempt_at(item.stage, item.kind, now),
        }
        for _, item in sorted(unique.items())
    ]
    stmt = dialect_insert(conn, dead_letters)
    latest = ("location", "stage", "kind", "message", "hint", "record", "last_seen", "last_run_id")
    set_: dict[str, Any] = {name: stmt.excluded[name] for name in latest}
    set_["attempts"] = dead_letters.c.attempts + 1
    # Failed again: the next delay of the schedule, NULL (parked) past the cap, or NULL when this
    # failure is not retried on a timer (it waits for a fix or for its customer).
    set_["next_attempt_at"] = case(
        (stmt.excluded.next_attempt_at.is_(None), null()),
        else_=next_attempt_after(dead_letters.c.attempts, now),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[dead_letters.c.pipe, dead_letters.c.source_key],
        index_where=dead_letters.c.resolved_at.is_(None),
        set_=set_,
    )
    conn.execute(stmt, rows)


def reschedule_dead_letters(
    conn: Connection, pipe: str, keys: Collection[str], run_id: str, now: datetime
) -> int:
    """Count an automatic replay that left these open letters as they were (the record was
    filtered out or skipped): the next delay of the schedule, so that a replay never repeats on
    every sync. Letters this run already updated (failed again) are left alone."""
    touched = 0
    for chunk in chunked(sorted(set(keys))):
        result = conn.execute(
            update(dead_letters)
            .where(
                dead_letters.c.pipe == pipe,
                dead_letters.c.source_key.in_(chunk),
                dead_letters.c.resolved_at.is_(None),
                or_(dead_letters.c.last_run_id.is_(None), dead_letters.c.last_run_id != run_id),
            )
            .values(
                attempts=dead_letters.c.attempts + 1,
                last_seen=now,
                last_run_id=run_id,
                next_attempt_at=next_attempt_after(dead_letters.c.attempts, now),
            )
        )
        touched += result.rowcount
    return touched


def _set_cursor(conn: Connection, pipe: str, stream: str, value: str, now: datetime) -> None:
    stmt = dialect_insert(conn, cursors).values(
        pipe=pipe, stream=stream, value=value, updated_at=now
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[cursors.c.pipe, cursors.c.stream],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
    )


def _set_fingerprint(conn: Connection, pipe: str, fingerprint: str, now: datetime) -> None:
    stmt = dialect_insert(conn, pipe_state).values(
        pipe=pipe, fingerprint=fingerprint, updated_at=now
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[pipe_state.c.pipe],
            set_={"fingerprint": stmt.excluded.fingerprint, "updated_at": stmt.excluded.updated_at},
        )
    )


def write_batch(conn: Connection, batch: BatchCommit, now: datetime) -> None:
    """Apply everything in ``batch`` inside the caller's (write) transaction.

    The audit append goes last: it takes the chain's lock, which is then held only for the
    short rest of the transaction.
    """
    if batch.links:
        _upsert_links(conn, batch, now)
    if batch.versions_only:
        _update_versions(conn, batch)
    _complete_intents(conn, batch, now)
    if batch.resolved_keys:
        resolve_dead_letters(conn, batch.pipe, batch.resolved_keys, "synced", now)
    if batch.dead_letters:
        add_dead_letters(conn, batch.run_id, batch.dead_letters, now)
    if batch.cursor is not None:
        stream, value = batch.cursor
        _set_cursor(conn, batch.pipe, stream, value, now)
    if batch.fingerprint is not None:
        _set_fingerprint(conn, batch.pipe, batch.fingerprint, now)
    if batch.conflicts:
        conflict_queue.record_conflicts(conn, batch.pipe, batch.run_id, batch.conflicts, now)
    if batch.resolved_conflict is not None:
        conflict_queue.resolve(conn, *batch.resolved_conflict, now)
    if batch.agreed_conflicts:
        conflict_queue.close_agreed(conn, batch.pipe, batch.agreed_conflicts, now)
    audit = list(batch.audit)
    if batch.reviews:
        audit += review_queue.queue_reviews(
            conn, run_id=batch.run_id, pipe=batch.pipe, items=batch.reviews, now=now
        )
    append_entries(conn, run_id=batch.run_id, pipe=batch.pipe, at=now, entries=audit)
    crashpoint("in-state-commit")
