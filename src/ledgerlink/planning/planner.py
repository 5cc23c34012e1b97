"""Decide, record by record, whether a desired record means create, update, link or nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from ledgerlink.canonical.records import Invoice, Record
from ledgerlink.canonical.serialise import record_digest, to_jsonable
from ledgerlink.errors import Problem
from ledgerlink.matching.match import Match, MatchIndex
from ledgerlink.planning.plan import (
    PLANNED_PREFIX,
    PipePlan,
    PlannedFailure,
    PlannedOp,
    diff_fields,
    ledgerlink_id,
)


class LinkView(Protocol):
    """What the planner needs to know of an existing link (``state`` provides it)."""

    @property
    def target_id(self) -> str: ...

    @property
    def desired_hash(self) -> str: ...

    @property
    def snapshot(self) -> dict[str, Any]: ...


class RecordPlanner:
    """Plans one pipe's records; remembers this run's creates so duplicates become links."""

    def __init__(
        self,
        pipe: str,
        target_stream: str,
        index: Callable[[], MatchIndex],
    ) -> None:
        self.pipe = pipe
        self.target_stream = target_stream
        self._index_factory = index
        self._index: MatchIndex | None = None

    def plan(
        self,
        plan: PipePlan,
        *,
        key: str,
        location: str,
        version: int,
        desired: Record,
        link: LinkView | None,
    ) -> None:
        """Add the op (if any) that makes the target hold ``desired`` for source record ``key``."""
        digest = record_digest(desired)
        base = PlannedOp(
            kind="create",
            pipe=self.pipe,
            stream=self.target_stream,
            source_key=key,
            location=location,
            ledgerlink_id=ledgerlink_id(self.pipe, key),
            record=desired,
            version=version,
            desired_hash=digest,
            reason="new in the source",
            depends_on=desired.customer_key if isinstance(desired, Invoice) else None,
        )
        if link is not None:
            if link.desired_hash == digest:
                plan.refreshed.append((key, version))
                return
            changes = diff_fields(link.snapshot, to_jsonable(desired))
            plan.ops.append(
                replace(
                    base,
                    kind="update",
                    target_id=link.target_id,
                    changes=changes,
                    reason="changed in the source",
                )
            )
            return
        index = self._match_index()
        found = index.find_ledgerlink(base.ledgerlink_id)
        match = index.find(desired) if found is None else None
        if match is not None and match.ambiguous:
            plan.failures.append(_ambiguous(base, match))
            return
        target_id = found or (match.target_id if match else None)
        if target_id is None:
            index.add(PLANNED_PREFIX + key, desired, strong_only=True)
            plan.ops.append(base)
            return
        why = match.reason if match else ""
        if found:
            reason = "created earlier by ledgerlink"
        elif target_id.startswith(PLANNED_PREFIX):
            reason = f"same as {target_id.removeprefix(PLANNED_PREFIX)!r} in this run ({why})"
        else:
            reason = f"already in the books ({why})"
        plan.ops.append(replace(base, kind="link", target_id=target_id, reason=reason))

    def _match_index(self) -> MatchIndex:
        if self._index is None:
            self._index = self._index_factory()
        return self._index


def _ambiguous(op: PlannedOp, match: Match) -> PlannedFailure:
    return PlannedFailure(
        op.pipe,
        op.source_key,
        op.location,
        "plan",
        Problem(
            "ambiguous",
            f"matches {len(match.candidates)} existing records "
            f"({', '.join(match.candidates)}): {match.reason}",
            hint="Merge the duplicates in the books, or make the natural keys "
            "(e-mail, tax id) tell them apart",
        ),
        to_jsonable(op.record),
    )
