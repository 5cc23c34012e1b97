"""When a dead letter is tried again by itself: capped, growing delays; then it waits for a person.

A record that fails is dead-lettered with ``attempts = 1``. What happens next depends on why:

=======================  =========================================================================
failure                  automatic retry
=======================  =========================================================================
``write`` (the target    after 5 min, 30 min, 2 h, then 12 h: four automatic replays, each by the
refused it) and ``plan`` first ``ledgerlink sync`` after the time; then *parked* until
(ambiguous match)        ``ledgerlink dlq retry``
missing dependency       as soon as its customer is in the books (the next sync after the contact
(``kind="dependency"``)  is fixed replays the invoice); no timer
``read``, ``map``        none: the record itself is wrong, and the fix arrives with its next
                         version through the normal pass of a sync
=======================  =========================================================================

Every replay that fails again counts as an attempt, so a poison record costs at most four extra
tries (one source read each, shared with every other due record) and never blocks the others.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, literal, null, or_, select
from sqlalchemy.sql import Select

from ledgerlink.state.tables import dead_letters

#: Delay before automatic replay number 1, 2, 3, 4 (after the 1st, 2nd, 3rd, 4th failure).
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
#: Failures after which a dead letter is parked until ``ledgerlink dlq retry``.
MAX_AUTOMATIC_ATTEMPTS = len(RETRY_SCHEDULE) + 1
#: The ``kind`` of a dead letter that waits for the record it depends on (its customer).
MISSING_DEPENDENCY = "dependency"


def is_timed(stage: str, kind: str) -> bool:
    """True when a failure of this stage and kind is retried on the timer."""
    return stage in ("write", "plan") and kind != MISSING_DEPENDENCY


def first_attempt_at(stage: str, kind: str, now: datetime) -> datetime | None:
    """``next_attempt_at`` of a new dead letter."""
    return now + RETRY_SCHEDULE[0] if is_timed(stage, kind) else None


def next_attempt_after(attempts: ColumnElement[Any], now: datetime) -> ColumnElement[Any]:
    """SQL: ``next_attempt_at`` once the letter has failed ``attempts + 1`` times (NULL: parked)."""
    column_type = dead_letters.c.next_attempt_at.type
    whens = [
        (attempts == n, literal(now + RETRY_SCHEDULE[n], column_type))
        for n in range(1, len(RETRY_SCHEDULE))
    ]
    return case(*whens, else_=null())


def replayable(pipe: str, now: datetime) -> Select[Any]:
    """Open dead letters of ``pipe`` that are due, or that wait for a dependency (the caller
    checks whether it has arrived)."""
    table = dead_letters
    waiting = and_(table.c.kind == MISSING_DEPENDENCY, table.c.next_attempt_at.is_(None))
    return (
        select(table)
        .where(
            table.c.pipe == pipe,
            table.c.resolved_at.is_(None),
            or_(table.c.next_attempt_at <= now, waiting),
        )
        .order_by(table.c.id)
    )


def describe_next(stage: str, kind: str, next_attempt_at: datetime | None, now: datetime) -> str:
    """When the letter is tried again, in words: ``in 25 min``, ``due``, ``parked`` ..."""
    if next_attempt_at is not None:
        if next_attempt_at <= now:
            return "due (next sync)"
        return f"in {_span(next_attempt_at - now)} ({next_attempt_at:%Y-%m-%d %H:%M} UTC)"
    if kind == MISSING_DEPENDENCY:
        return "when its customer is synced"
    if stage in ("read", "map"):
        return "when the record changes in the source"
    return "parked (dlq retry)"


def _span(delta: timedelta) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes / 60:.1f} h".replace(".0 h", " h")
