"""The hash-chained audit trail: canonical entry hashing, serialised appends and verification."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, insert, select, update
from sqlalchemy.engine import Connection

from ledgerlink.state import codec
from ledgerlink.state.records import AuditEntry, AuditVerdict, AuditWrite
from ledgerlink.state.tables import GENESIS_HASH, audit_head, audit_log

HEAD_ID = 1
PAGE_SIZE = 2_000


def entry_hash(
    *,
    seq: int,
    at: datetime,
    run_id: str | None,
    pipe: str,
    source_key: str | None,
    target_id: str | None,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    idempotency_key: str | None,
    prev_hash: str,
) -> str:
    """sha256 (hex) over the canonical JSON of an entry's fields and the previous entry's hash.

    See ``codec.canonical``; the timestamp is UTC ISO 8601 with microseconds, so an entry read
    back from either database hashes the same as when it was written.
    """
    payload = {
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "run_id": run_id,
        "pipe": pipe,
        "source_key": source_key,
        "target_id": target_id,
        "action": action,
        "before": before,
        "after": after,
        "idempotency_key": idempotency_key,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(codec.canonical(payload)).hexdigest()


def append_entries(
    conn: Connection, *, run_id: str | None, pipe: str, at: datetime, entries: Sequence[AuditWrite]
) -> None:
    """Append entries after the chain's head, inside the caller's transaction.

    ``FOR UPDATE`` on the head row makes concurrent appenders on PostgreSQL wait for each other
    until commit; on SQLite the writer already holds the database's write lock.
    """
    if not entries:
        return
    head = conn.execute(
        select(audit_head.c.seq, audit_head.c.hash)
        .where(audit_head.c.id == HEAD_ID)
        .with_for_update()
    ).one()
    seq, prev_hash = int(head.seq), str(head.hash)
    rows: list[dict[str, Any]] = []
    for entry in entries:
        seq += 1
        fields: dict[str, Any] = {
            "seq": seq,
            "at": at,
            "run_id": run_id,
            "pipe": pipe,
            "source_key": entry.source_key,
            "target_id": entry.target_id,
            "action": entry.action,
            "before": entry.before,
            "after": entry.after,
            "idempotency_key": entry.idempotency_key,
            "prev_hash": prev_hash,
        }
        prev_hash = entry_hash(**fields)
        rows.append({**fields, "hash": prev_hash})
    conn.execute(insert(audit_log), rows)
    conn.execute(
        update(audit_head).where(audit_head.c.id == HEAD_ID).values(seq=seq, hash=prev_hash)
    )


def _to_entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        seq=int(row.seq),
        at=row.at,
        run_id=row.run_id,
        pipe=row.pipe,
        source_key=row.source_key,
        target_id=row.target_id,
        action=row.action,
        before=row.before,
        after=row.after,
        idempotency_key=row.idempotency_key,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def iter_entries(engine: Engine, *, up_to: int | None = None) -> Iterator[AuditEntry]:
    """All entries in ``seq`` order, a page per short read (no transaction held in between)."""
    last = 0
    while True:
        query = select(audit_log).where(audit_log.c.seq > last)
        if up_to is not None:
            query = query.where(audit_log.c.seq <= up_to)
        with engine.connect() as conn:
            page = conn.execute(query.order_by(audit_log.c.seq).limit(PAGE_SIZE)).all()
        if not page:
            return
        for row in page:
            yield _to_entry(row)
        last = int(page[-1].seq)


def recompute(entry: AuditEntry) -> str:
    """The hash an entry must carry, given its fields."""
    return entry_hash(
        seq=entry.seq,
        at=entry.at,
        run_id=entry.run_id,
        pipe=entry.pipe,
        source_key=entry.source_key,
        target_id=entry.target_id,
        action=entry.action,
        before=entry.before,
        after=entry.after,
        idempotency_key=entry.idempotency_key,
        prev_hash=entry.prev_hash,
    )


def _bad(checked: int, seq: int, reason: str) -> AuditVerdict:
    return AuditVerdict(ok=False, checked=checked, first_bad_seq=seq, reason=reason)


def verify_chain(engine: Engine) -> AuditVerdict:
    """Walk the chain from the first entry to the head and report the first entry that is wrong.

    The head is read first: entries appended while verifying lie beyond it and are left for the
    next check, so a busy system never reports a false break.
    """
    with engine.connect() as conn:
        head = conn.execute(
            select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
        ).one_or_none()
    if head is None:
        return _bad(0, 1, "the audit chain's head record is missing; the trail was tampered with")
    head_seq, head_hash = int(head.seq), str(head.hash)
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    for entry in iter_entries(engine, up_to=head_seq):
        if entry.seq != expected_seq:
            return _bad(
                checked,
                expected_seq,
                f"entry {expected_seq} is missing (the trail jumps from "
                f"{expected_seq - 1} to {entry.seq}): entries were deleted",
            )
        if entry.prev_hash != prev_hash:
            return _bad(
                checked,
                entry.seq,
                f"entry {entry.seq} does not follow entry {entry.seq - 1} (prev_hash differs): "
                "an entry was replaced or the chain was rewritten",
            )
        if recompute(entry) != entry.hash:
            return _bad(
                checked,
                entry.seq,
                f"entry {entry.seq} was changed after it was written (its hash does not match)",
            )
        prev_hash = entry.hash
        checked += 1
        expected_seq += 1
    if checked != head_seq:
        return _bad(
            checked,
            expected_seq,
            f"entry {expected_seq} is missing: the trail ends at {checked} entries but "
            f"{head_seq} were written; entries were deleted",
        )
    if prev_hash != head_hash:
        return _bad(
            checked,
            head_seq,
            f"entry {head_seq} does not match the hash recorded when it was appended: "
            "the end of the chain was rewritten",
        )
    return AuditVerdict(
        ok=True,
        checked=checked,
        first_bad_seq=None,
        reason=f"all {checked} entries are intact",
    )
