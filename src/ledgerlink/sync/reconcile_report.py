"""What ``ledgerlink reconcile`` found: findings per pipe, counts, JSON and CSV rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

FindingKind = Literal["missing", "extra", "differs", "paid"]

#: Kinds of finding, in the order reports show them.
FINDING_KINDS: tuple[FindingKind, ...] = ("missing", "extra", "differs", "paid")

#: Kinds that mean CRM and books disagree (exit status 1). ``paid`` is information: the books
#: record payments the CRM has no field for, which is how an invoice's life goes on, not drift.
DRIFT_KINDS: frozenset[str] = frozenset({"missing", "extra", "differs"})

#: The per-pipe counts and their column headings. ``skipped``: CRM records the pipe's filter
#: leaves out (an open deal); ``failed``: CRM records that could not be read or mapped.
COUNT_LABELS: dict[str, str] = {
    "in_crm": "CRM",
    "in_books": "books",
    "matched": "matched",
    **{kind: kind for kind in FINDING_KINDS},
    "skipped": "skipped",
    "failed": "failed",
}

CSV_HEADER = (
    "pipe",
    "finding",
    "CRM record",
    "books record",
    "name",
    "field",
    "in the books",
    "from the CRM",
    "note",
)


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """One field whose value in the books is not what the CRM, mapped, says it should be.

    Values are text exactly as compared: money as ``Decimal`` strings, dates in ISO format.
    """

    field: str
    books: str
    desired: str

    def to_json(self) -> dict[str, str]:
        """The difference as plain JSON."""
        return {"field": self.field, "books": self.books, "desired": self.desired}


@dataclass(frozen=True, slots=True)
class Finding:
    """One record that is missing from the books, extra in them, differs, or was paid there."""

    pipe: str
    kind: FindingKind
    name: str
    source_key: str = ""
    target_id: str = ""
    location: str = ""
    reason: str = ""
    fields: tuple[FieldDiff, ...] = ()

    @property
    def drift(self) -> bool:
        """True when this finding means CRM and books disagree."""
        return self.kind in DRIFT_KINDS

    def to_json(self) -> dict[str, Any]:
        """The finding as plain JSON (every value a string)."""
        return {
            "pipe": self.pipe,
            "kind": self.kind,
            "name": self.name,
            "source_key": self.source_key,
            "target_id": self.target_id,
            "location": self.location,
            "reason": self.reason,
            "fields": [f.to_json() for f in self.fields],
        }

    def rows(self) -> Iterator[tuple[str, ...]]:
        """CSV rows in the order of ``CSV_HEADER``: one per field, or one for the record."""
        head = (self.pipe, self.kind, self.source_key, self.target_id, self.name)
        if not self.fields:
            yield (*head, "", "", "", self.reason)
            return
        for diff in self.fields:
            yield (*head, diff.field, diff.books, diff.desired, self.reason)


@dataclass(slots=True)
class PipeReconcile:
    """One pipe compared: how many records each side holds, how many paired, what differs.

    ``in_source`` counts the CRM records in scope; ``skipped`` those the filter leaves out;
    ``failed`` those that could not be read or mapped (``ledgerlink plan`` says why).
    """

    name: str
    source: str
    target: str
    in_source: int = 0
    skipped: int = 0
    failed: int = 0
    in_books: int = 0
    matched: int = 0
    findings: list[Finding] = field(default_factory=list)

    def count(self, kind: FindingKind) -> int:
        """How many findings of one kind."""
        return sum(1 for f in self.findings if f.kind == kind)

    @property
    def drift(self) -> bool:
        """True when any finding of the pipe is drift."""
        return any(f.drift for f in self.findings)

    def counts(self) -> dict[str, int]:
        """The pipe's counts as ``--json`` prints them (``COUNT_LABELS`` order)."""
        return {
            "in_crm": self.in_source,
            "in_books": self.in_books,
            "matched": self.matched,
            **{kind: self.count(kind) for kind in FINDING_KINDS},
            "skipped": self.skipped,
            "failed": self.failed,
        }

    def to_json(self) -> dict[str, Any]:
        """The pipe's summary as plain JSON."""
        return {"name": self.name, "from": self.source, "to": self.target, **self.counts()}


@dataclass(slots=True)
class ReconcileReport:
    """The outcome of one ``reconcile`` run over the selected pipes."""

    run_id: str
    pipes: list[PipeReconcile] = field(default_factory=list)

    @property
    def drift(self) -> bool:
        """True when CRM and books disagree anywhere."""
        return any(p.drift for p in self.pipes)

    @property
    def status(self) -> Literal["ok", "drift"]:
        """``drift`` when anything disagrees, ``ok`` otherwise."""
        return "drift" if self.drift else "ok"

    @property
    def exit_code(self) -> int:
        """0 when nothing drifts, 1 when anything does."""
        return 1 if self.drift else 0

    def findings(self) -> Iterator[Finding]:
        """Every finding, pipe by pipe."""
        for pipe in self.pipes:
            yield from pipe.findings

    def csv_rows(self) -> Iterator[tuple[str, ...]]:
        """Every finding as CSV rows (``CSV_HEADER``)."""
        for finding in self.findings():
            yield from finding.rows()

    def to_json(self, *, with_findings: bool = True) -> dict[str, Any]:
        """Exactly the JSON object ``reconcile --json`` prints (findings optional)."""
        data: dict[str, Any] = {
            "run_id": self.run_id,
            "command": "reconcile",
            "status": self.status,
            "pipes": [p.to_json() for p in self.pipes],
        }
        if with_findings:
            data["findings"] = [f.to_json() for f in self.findings()]
        return data
