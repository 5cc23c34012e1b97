"""The plan: what a sync would create, update, link or skip, and why; pure and serialisable."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from ledgerlink.canonical.records import Record
from ledgerlink.canonical.serialise import record_type, to_jsonable
from ledgerlink.errors import Problem
from ledgerlink.matching.fuzzy import FuzzyCandidate

OpKind = Literal["create", "update", "link", "deactivate", "void", "delete"]
Stage = Literal["read", "map", "plan", "write"]
PLANNED_PREFIX = "planned:"


def ledgerlink_id(pipe: str, source_key: str) -> str:
    """The id ledgerlink stamps on what it creates for a source record: stable across runs."""
    digest = hashlib.blake2b(f"{pipe}\x1f{source_key}".encode(), digest_size=8).hexdigest()
    return f"ll-{digest}"


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field whose value in the target will change."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class PlannedOp:
    """One write (or link) the plan intends; ``depends_on`` names the customer an invoice needs."""

    kind: OpKind
    pipe: str
    stream: str
    source_key: str
    location: str
    ledgerlink_id: str
    record: Record
    version: int
    desired_hash: str
    target_id: str | None = None
    changes: tuple[FieldChange, ...] = ()
    reason: str = ""
    depends_on: str | None = None
    note: str = ""

    @property
    def idempotency_key(self) -> str:
        """Deterministic per intent: one create whatever the version; an update per content."""
        if self.kind == "create":
            return f"{self.ledgerlink_id}:create"
        return f"{self.ledgerlink_id}:{self.kind}:{self.desired_hash[:16]}"

    def to_json(self) -> dict[str, Any]:
        """The op as plain JSON for ``plan --json`` and saved plans."""
        data: dict[str, Any] = {
            "op": self.kind,
            "source_key": self.source_key,
            "location": self.location,
            "ledgerlink_id": self.ledgerlink_id,
            "target_id": self.target_id,
            "reason": self.reason,
            "record_type": record_type(self.record),
            "record": to_jsonable(self.record),
        }
        if self.changes:
            data["changes"] = [
                {"field": c.field, "before": c.before, "after": c.after} for c in self.changes
            ]
        if self.depends_on:
            data["depends_on"] = self.depends_on
        if self.note:
            data["note"] = self.note
        return data


@dataclass(frozen=True, slots=True)
class PlannedFailure:
    """A record that cannot be synced as it is; it goes to the dead-letter queue."""

    pipe: str
    source_key: str
    location: str
    stage: Stage
    problem: Problem
    record: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The failure as plain JSON."""
        return {
            "source_key": self.source_key,
            "location": self.location,
            "stage": self.stage,
            "kind": self.problem.kind,
            "message": self.problem.message,
            "hint": self.problem.hint,
        }


@dataclass(frozen=True, slots=True)
class WriteBack:
    """Two-way: fields the books changed that the CRM record must take.

    ``record`` is what the CRM's write-back receives (a ``Contact``, or the books' ``Invoice`` for
    a deal) and ``fields`` the CRM field names to write; ``changes`` are the same in the target's
    terms. ``merged`` is the record both sides agree on afterwards; ``books_pending`` names target
    fields the books have yet to receive in this run (so a failure there is not forgotten).
    """

    pipe: str
    stream: str
    source_key: str
    location: str
    ledgerlink_id: str
    target_id: str
    record: Record
    fields: tuple[str, ...]
    changes: tuple[FieldChange, ...]
    merged: dict[str, Any]
    books_pending: dict[str, Any]
    version: int

    @property
    def idempotency_key(self) -> str:
        """One write-back per agreed content."""
        content = "\x1f".join(f"{c.field}={c.after!r}" for c in self.changes)
        digest = hashlib.blake2b(content.encode(), digest_size=8).hexdigest()
        return f"{self.ledgerlink_id}:crm:{digest}"

    def to_json(self) -> dict[str, Any]:
        """The write-back as plain JSON for ``plan --json``."""
        return {
            "op": "write_back",
            "source_key": self.source_key,
            "target_id": self.target_id,
            "fields": list(self.fields),
            "changes": [
                {"field": c.field, "before": c.before, "after": c.after} for c in self.changes
            ],
        }


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two-way: a field changed differently on both sides, settled by policy or left to a person.

    ``winner`` is ``crm`` or ``books`` when the pipe's policy settled it, ``None`` when queued.
    """

    source_key: str
    target_id: str
    field: str
    base: Any
    crm: Any
    books: Any
    winner: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The conflict as plain JSON."""
        return {
            "source_key": self.source_key,
            "target_id": self.target_id,
            "field": self.field,
            "base": self.base,
            "crm": self.crm,
            "books": self.books,
            "settled_by_policy": self.winner,
        }


@dataclass(frozen=True, slots=True)
class PlannedReview:
    """A record whose only matches are fuzzy: queued for a person, nothing is written for it.

    ``review_id`` is set when the record is already queued (an open review, counted again).
    """

    pipe: str
    source_key: str
    location: str
    record: Record
    candidates: tuple[FuzzyCandidate, ...]
    review_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The review as plain JSON for ``plan --json`` and ``sync --json``."""
        return {
            "source_key": self.source_key,
            "location": self.location,
            "review_id": self.review_id,
            "record_type": record_type(self.record),
            "record": to_jsonable(self.record),
            "candidates": [c.to_json() for c in self.candidates],
        }


@dataclass(slots=True)
class PipePlan:
    """Everything one pipe would do; counts of what it leaves alone, not the records themselves."""

    name: str
    source: str
    target: str
    ops: list[PlannedOp] = field(default_factory=list)
    failures: list[PlannedFailure] = field(default_factory=list)
    refreshed: list[tuple[str, int]] = field(default_factory=list)
    unchanged: int = 0
    filtered: int = 0
    folded: Counter[str] = field(default_factory=Counter)
    source_unchanged: bool = False
    deleted_in_source: int = 0
    write_backs: list[WriteBack] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    reviews: list[PlannedReview] = field(default_factory=list)

    def extend(self, other: PipePlan, *, keep_ops: bool = True) -> None:
        """Add a later chunk of the same pipe's plan.

        With ``keep_ops=False`` (a chunk already executed) only the counts are kept, so a sync of
        a million records does not hold a million ops in memory.
        """
        self.failures.extend(other.failures)
        self.unchanged += other.unchanged
        self.filtered += other.filtered
        self.deleted_in_source += other.deleted_in_source
        self.folded.update(other.folded)
        self.conflicts.extend(c for c in other.conflicts if c.winner is None)
        self.folded["settled"] += sum(1 for c in other.conflicts if c.winner is not None)
        self.reviews.extend(other.reviews)
        if keep_ops:
            self.ops.extend(other.ops)
            self.refreshed.extend(other.refreshed)
            self.write_backs.extend(other.write_backs)
        else:
            self.folded.update(op.kind for op in other.ops)
            self.folded["write_back"] += len(other.write_backs)
            self.unchanged += len(other.refreshed)

    def count(self, kind: OpKind) -> int:
        """How many ops of one kind."""
        return sum(1 for op in self.ops if op.kind == kind) + self.folded[kind]

    def counts(self) -> dict[str, int]:
        """The per-pipe counts of the user contract (``created`` means "would create" in a plan)."""
        return {
            "created": self.count("create"),
            "updated": self.count("update"),
            "linked": self.count("link"),
            "deleted": self.count("deactivate") + self.count("void") + self.count("delete"),
            "unchanged": self.unchanged + len(self.refreshed),
            "skipped": self.filtered,
            "conflicts": len(self.conflicts),
            "failed": len(self.failures),
            "review": len(self.reviews),
            **self._two_way_counts(),
        }

    def _two_way_counts(self) -> dict[str, int]:
        """Only two-way pipes report what went back to the CRM and what policy settled."""
        written_back = len(self.write_backs) + self.folded["write_back"]
        counts = {
            "written_back": written_back,
            "settled": self.folded["settled"],
            # books changes left in the books: records ledgerlink never linked, and customers
            # several CRM records were linked to (which one an edit is about is unknowable)
            "books_not_linked": self.folded["books_not_linked"],
            "books_shared": self.folded["books_shared"],
        }
        return counts if any(counts.values()) else {}

    def to_json(self) -> dict[str, Any]:
        """The pipe's plan as plain JSON."""
        return {
            "name": self.name,
            "from": self.source,
            "to": self.target,
            **self.counts(),
            "source_unchanged": self.source_unchanged,
            "deleted_in_source": self.deleted_in_source,
            "ops": [op.to_json() for op in self.ops]
            + [write_back.to_json() for write_back in self.write_backs],
            "conflict_details": [c.to_json() for c in self.conflicts],
            "failures": [f.to_json() for f in self.failures],
            "reviews": [r.to_json() for r in self.reviews],
        }


def diff_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[FieldChange, ...]:
    """The fields whose JSON values differ between the last-written and the desired record."""
    return tuple(
        FieldChange(name, before.get(name), value)
        for name, value in after.items()
        if before.get(name) != value
    )
