"""Decide, record by record, whether a desired record means create, update, link or nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ledgerlink.canonical.records import Invoice, Record
from ledgerlink.canonical.serialise import record_digest, to_jsonable
from ledgerlink.matching.match import MatchIndex
from ledgerlink.planning.plan import (
    PLANNED_PREFIX,
    PipePlan,
    PlannedFailure,
    PlannedOp,
    diff_fields,
    ledgerlink_id,
)
from ledgerlink.errors import Problem


class LinkView(Protocol):
    """What the planner needs to know of an existing link (``state`` provides it)."""

    @property
    def target_id(self) -> str: ...  # noqa: D102

    @property
    def desired_hash(self) -> str: ...  # noqa: D102

    @property
    def snapshot(self) -> dict[str, Any]: ...  # noqa: D102


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
        lid = ledgerlink_id(self.pipe, key)
        depends_on = desired.customer_key if isinstance(desired, Invoice) else None
        common = {
            "pipe": self.pipe,
            "stream": self.target_stream,
            "source_key": key,
            "location": location,
            "ledgerlink_id": lid,
            "record": desired,
            "version": version,
            "desired_hash": digest,
            "depends_on": depends_on,
        }
        if link is not None:
            if link.desired_hash == digest:
                plan.refreshed.append((key, version))
                return
            after = to_jsonable(desired)
            plan.ops.append(
                PlannedOp(
                    kind="update",
                    target_id=link.target_id,
                    changes=diff_fields(link.snapshot, after),
                    reason="changed in the source",
                    **common,
                )
            )
            return
        index = self._match_index()
        found = index.find_ledgerlink(lid)
        match = index.find(desired) if found is None else None
        if match is not None and match.ambiguous:
            plan.failures.append(
                PlannedFailure(
                    self.pipe,
                    key,
                    location,
                    "plan",
                    Problem(
                        "ambiguous",
                        f"matches {len(match.candidates)} existing records "
                        f"({', '.join(match.candidates)}): {match.reason}",
                        hint="Merge the duplicates in the books, or make the natural keys "
                        "(e-mail, tax id) tell them apart",
                    ),
                    to_jsonable(desired),
                )
            )
            return
        target_id = found or (match.target_id if match else None)
        if target_id is not None:
            why = match.reason if match else ""
            if found:
                reason = "created earlier by ledgerlink"
            elif target_id.startswith(PLANNED_PREFIX):
                reason = f"same as {target_id.removeprefix(PLANNED_PREFIX)!r} in this run ({why})"
            else:
                reason = f"already in the books ({why})"
            plan.ops.append(PlannedOp(kind="link", target_id=target_id, reason=reason, **common))
            return
        index.add(PLANNED_PREFIX + key, desired)
        plan.ops.append(PlannedOp(kind="create", reason="new in the source", **common))

    def _match_index(self) -> MatchIndex:
        if self._index is None:
            self._index = self._index_factory()
        return self._index
