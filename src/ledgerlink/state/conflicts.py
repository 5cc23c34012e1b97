"""The conflicts queue of two-way pipes: fields both systems changed that a person must settle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, select, update
from sqlalchemy.engine import Connection

from ledgerlink.state.records import ConflictRow, ConflictWrite
from ledgerlink.state.tables import conflicts


def record_conflicts(
    conn: Connection, pipe: str, run_id: str, items: Sequence[ConflictWrite], now: datetime
) -> None:
    """Queue conflicts; an open one for the same record and field takes the newer values."""
    for item in items:
        values = {
            "target_id": item.target_id,
            "base_value": item.base,
            "crm_value": item.crm,
            "books_value": item.books,
            "run_id": run_id,
            "detected_at": now,
        }
        updated = conn.execute(
            update(conflicts)
            .where(
                conflicts.c.pipe == pipe,
                conflicts.c.source_key == item.source_key,
                conflicts.c.field == item.field,
                conflicts.c.resolved_at.is_(None),
            )
            .values(**values)
        )
        if updated.rowcount == 0:
            conn.execute(
                conflicts.insert().values(
                    pipe=pipe, source_key=item.source_key, field=item.field, **values
                )
            )


def resolve(conn: Connection, conflict_id: int, resolution: str, value: Any, now: datetime) -> None:
    """Close one conflict with the value that was written to both sides."""
    conn.execute(
        update(conflicts)
        .where(conflicts.c.id == conflict_id)
        .values(resolved_at=now, resolution=resolution, resolved_value=value)
    )


def close_agreed(
    conn: Connection, pipe: str, items: Sequence[tuple[str, str, Any]], now: datetime
) -> None:
    """Close open conflicts that both systems have since settled on the same value."""
    for source_key, name, value in items:
        conn.execute(
            update(conflicts)
            .where(
                conflicts.c.pipe == pipe,
                conflicts.c.source_key == source_key,
                conflicts.c.field == name,
                conflicts.c.resolved_at.is_(None),
            )
            .values(resolved_at=now, resolution="agreed", resolved_value=value)
        )


def query(pipe: str | None, *, include_resolved: bool) -> Select[Any]:
    """Conflicts, oldest first."""
    stmt = select(conflicts).order_by(conflicts.c.id)
    if pipe is not None:
        stmt = stmt.where(conflicts.c.pipe == pipe)
    if not include_resolved:
        stmt = stmt.where(conflicts.c.resolved_at.is_(None))
    return stmt


def by_id(conflict_id: int) -> Select[Any]:
    """One conflict."""
    return select(conflicts).where(conflicts.c.id == conflict_id)


def row(item: Row[Any]) -> ConflictRow:
    """A conflict as the state API hands it out."""
    return ConflictRow(
        id=int(item.id),
        pipe=item.pipe,
        source_key=item.source_key,
        target_id=item.target_id,
        field=item.field,
        base=item.base_value,
        crm=item.crm_value,
        books=item.books_value,
        run_id=item.run_id,
        detected_at=item.detected_at,
        resolved_at=item.resolved_at,
        resolution=item.resolution,
        resolved_value=item.resolved_value,
    )
