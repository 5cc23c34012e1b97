"""Plain, frozen rows that cross the state API: what the engine writes and what it reads back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

RunStatus = Literal["running", "ok", "partial", "failed"]
FinalRunStatus = Literal["ok", "partial", "failed"]
IntentStatus = Literal["pending", "done", "failed"]
Stage = Literal["read", "map", "plan", "write"]

FINAL_RUN_STATUSES: frozenset[str] = frozenset({"ok", "partial", "failed"})
STAGES: frozenset[str] = frozenset({"read", "map", "plan", "write"})


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run of a command (``sync``, ``plan``, ``dlq retry`` ...) and how it ended."""

    id: str
    command: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    summary: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Link:
    """What ledgerlink knows about one source record it has written to the target."""

    pipe: str
    source_key: str
    target_id: str
    version: int
    desired_hash: str
    snapshot: dict[str, Any]
    ledgerlink_id: str
    updated_at: datetime
    last_run_id: str | None


@dataclass(frozen=True, slots=True)
class LinkWrite:
    """A link to create or replace after a successful write (the pipe comes from the batch)."""

    source_key: str
    target_id: str
    version: int
    desired_hash: str
    snapshot: dict[str, Any]
    ledgerlink_id: str


@dataclass(frozen=True, slots=True)
class IntentWrite:
    """An external write about to happen, keyed by its deterministic idempotency key."""

    key: str
    pipe: str
    source_key: str
    action: str
    ledgerlink_id: str


@dataclass(frozen=True, slots=True)
class Intent:
    """A recorded intent; ``pending`` means its outcome is not known (crash, lost reply)."""

    key: str
    run_id: str | None
    pipe: str
    source_key: str
    action: str
    ledgerlink_id: str
    status: IntentStatus
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeadLetterWrite:
    """A record that could not be synced, with the reason the user will read."""

    pipe: str
    source_key: str
    location: str | None
    stage: Stage
    kind: str
    message: str
    hint: str | None
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An entry of the dead-letter queue; open while ``resolved_at`` is ``None``."""

    id: int
    pipe: str
    source_key: str
    location: str | None
    stage: Stage
    kind: str
    message: str
    hint: str | None
    record: dict[str, Any]
    attempts: int
    first_seen: datetime
    last_seen: datetime
    last_run_id: str | None
    resolved_at: datetime | None
    resolution: str | None
    next_attempt_at: datetime | None = None
    """When a sync replays it by itself; ``None``: it waits for a fix (see ``retry_schedule``)."""


@dataclass(frozen=True, slots=True)
class AuditWrite:
    """One audit entry to append (run and pipe come from the batch)."""

    action: str
    source_key: str | None = None
    target_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry of the append-only, hash-chained audit trail."""

    seq: int
    at: datetime
    run_id: str | None
    pipe: str
    source_key: str | None
    target_id: str | None
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    idempotency_key: str | None
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditVerdict:
    """The result of checking the audit chain; ``first_bad_seq`` names where it breaks."""

    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class ConflictWrite:
    """A field of one record that both systems changed differently since the last sync."""

    source_key: str
    target_id: str
    field: str
    base: Any
    crm: Any
    books: Any


@dataclass(frozen=True, slots=True)
class ConflictRow:
    """An entry of the conflicts queue; open while ``resolved_at`` is ``None``."""

    id: int
    pipe: str
    source_key: str
    target_id: str
    field: str
    base: Any
    crm: Any
    books: Any
    run_id: str | None
    detected_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    resolved_value: Any


@dataclass(frozen=True, slots=True)
class BatchCommit:
    """Everything one executed batch changes, committed in one transaction."""

    run_id: str
    pipe: str
    links: Sequence[LinkWrite] = ()
    done_intents: Sequence[str] = ()
    failed_intents: Sequence[str] = ()
    dead_letters: Sequence[DeadLetterWrite] = ()
    resolved_keys: Sequence[str] = ()
    audit: Sequence[AuditWrite] = ()
    versions_only: Sequence[tuple[str, int]] = ()
    cursor: tuple[str, str] | None = None
    fingerprint: str | None = None
    conflicts: Sequence[ConflictWrite] = ()
    resolved_conflict: tuple[int, str, Any] | None = None
    #: (source key, field, value) of open conflicts both systems now agree on
    agreed_conflicts: Sequence[tuple[str, str, Any]] = ()
    reviews: Sequence[ReviewWrite] = ()


ReviewDecision = Literal["accept", "reject"]


@dataclass(frozen=True, slots=True)
class ReviewWrite:
    """A record whose only matches are fuzzy, queued for a person (again: refreshed)."""

    source_key: str
    location: str | None
    record: dict[str, Any]
    candidates: Sequence[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class MatchReview:
    """An entry of the match review queue; open while ``decision`` is ``None``.

    ``candidates`` are ``{"target_id", "name", "score", "why"}`` objects, best first;
    ``target_id`` is the accepted candidate.
    """

    id: int
    pipe: str
    source_key: str
    location: str | None
    record: dict[str, Any]
    candidates: list[dict[str, Any]]
    run_id: str | None
    created_at: datetime
    decided_at: datetime | None
    decision: ReviewDecision | None
    target_id: str | None

    @property
    def is_open(self) -> bool:
        """True until a person accepts or rejects."""
        return self.decision is None
