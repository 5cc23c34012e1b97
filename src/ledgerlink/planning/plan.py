"""The plan: what a sync would create, update, link or skip, and why; pure and serialisable."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from ledgerlink.canonical.records import Record
from ledgerlink.canonical.serialise import record_type, to_jsonable
from ledgerlink.errors import Problem

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
        if keep_ops:
            self.ops.extend(other.ops)
            self.refreshed.extend(other.refreshed)
        else:
            self.folded.update(op.kind for op in other.ops)
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
            "conflicts": 0,
            "failed": len(self.failures),
        }

    def to_json(self) -> dict[str, Any]:
        """The pipe's plan as plain JSON."""
        return {
            "name": self.name,
            "from": self.source,
            "to": self.target,
            **self.counts(),
            "source_unchanged": self.source_unchanged,
            "deleted_in_source": self.deleted_in_source,
            "ops": [op.to_json() for op in self.ops],
            "failures": [f.to_json() for f in self.failures],
        }


def diff_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[FieldChange, ...]:
    """The fields whose JSON values differ between the last-written and the desired record."""
    return tuple(
        FieldChange(name, before.get(name), value)
        for name, value in after.items()
        if before.get(name) != value
    )
