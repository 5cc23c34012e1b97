"""Decide, record by record, whether a desired record means create, update, link or nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from ledgerlink.canonical.records import Invoice, Record
from ledgerlink.canonical.serialise import record_digest, to_jsonable
from ledgerlink.errors import Problem
from ledgerlink.matching.fuzzy import FuzzyCandidate
from ledgerlink.matching.match import Match, MatchIndex
from ledgerlink.planning.plan import (
    PLANNED_PREFIX,
    PipePlan,
    PlannedFailure,
    PlannedOp,
    PlannedReview,
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


class ReviewView(Protocol):
    """What the planner needs to know of a record's match review (``state`` provides it)."""

    @property
    def id(self) -> int: ...

    @property
    def decision(self) -> str | None: ...

    @property
    def target_id(self) -> str | None: ...

    @property
    def candidates(self) -> Sequence[Mapping[str, Any]]: ...


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
        review: ReviewView | None = None,
    ) -> None:
        """Add the op (if any) that makes the target hold ``desired`` for source record ``key``.

        A record with no link and only fuzzy matches is queued for review instead; an open review
        keeps it queued, an accepted one links it, a rejected one creates it.
        """
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
        if review is not None and review.decision == "accept" and review.target_id:
            reason = f"accepted in match review {review.id}"
            plan.ops.append(replace(base, kind="link", target_id=review.target_id, reason=reason))
            return
        index = self._match_index()
        if review is not None and review.decision is None:
            fresh = index.find_fuzzy(desired)
            candidates = fresh or tuple(_stored_candidate(c) for c in review.candidates)
            plan.reviews.append(_review(base, candidates, review.id))
            return
        rejected = review is not None and review.decision == "reject"
        found = index.find_ledgerlink(base.ledgerlink_id)
        match = index.find(desired) if found is None else None
        if match is not None and match.ambiguous:
            plan.failures.append(_ambiguous(base, match))
            return
        target_id = found or (match.target_id if match else None)
        if target_id is None:
            candidates = () if rejected else index.find_fuzzy(desired)
            if candidates:
                plan.reviews.append(_review(base, candidates, None))
                return
            index.add(PLANNED_PREFIX + key, desired, strong_only=True)
            if rejected and review is not None:
                base = replace(base, reason=f"new: candidates rejected in match review {review.id}")
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


def _review(
    op: PlannedOp, candidates: tuple[FuzzyCandidate, ...], review_id: int | None
) -> PlannedReview:
    return PlannedReview(op.pipe, op.source_key, op.location, op.record, candidates, review_id)


def _stored_candidate(data: Mapping[str, Any]) -> FuzzyCandidate:
    return FuzzyCandidate(
        str(data.get("target_id", "")),
        str(data.get("name", "")),
        float(data.get("score", 0)),
        str(data.get("why", "")),
    )


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
