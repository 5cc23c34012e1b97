"""The match review queue: records whose only matches are fuzzy wait here for a person.

A record is queued (``match_queued``) by the batch that planned it, and refreshed when it is
planned again with another record or other candidates; a person accepts one candidate
(``match_accepted``) or rejects them all (``match_rejected``). Every change is an audit entry.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, exists, func, insert, select, update
from sqlalchemy.engine import Connection

from ledgerlink.state.audit import append_entries
from ledgerlink.state.records import AuditWrite, MatchReview, ReviewDecision, ReviewWrite
from ledgerlink.state.tables import dead_letters, links, match_reviews

#: Keys per ``IN (...)`` list.
_IN_CHUNK = 500


class ReviewError(ValueError):
    """A decision that cannot be taken as asked; ``hint`` says what to do instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint

    def __str__(self) -> str:
        return f"{self.message}. {self.hint}"


def review_of(row: Row[Any]) -> MatchReview:
    """A ``match_reviews`` row as the state API's record."""
    return MatchReview(
        id=int(row.id),
        pipe=row.pipe,
        source_key=row.source_key,
        location=row.location,
        record=row.record,
        candidates=list(row.candidates),
        run_id=row.run_id,
        created_at=row.created_at,
        decided_at=row.decided_at,
        decision=row.decision,
        target_id=row.target_id,
    )


def get_reviews(conn: Connection, pipe: str, keys: Collection[str]) -> dict[str, MatchReview]:
    """The reviews (open or decided) of these source keys; keys without one are absent."""
    found: dict[str, MatchReview] = {}
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), _IN_CHUNK):
        chunk = ordered[start : start + _IN_CHUNK]
        query = select(match_reviews).where(
            match_reviews.c.pipe == pipe, match_reviews.c.source_key.in_(chunk)
        )
        found.update((row.source_key, review_of(row)) for row in conn.execute(query))
    return found


def queue_reviews(
    conn: Connection,
    *,
    run_id: str,
    pipe: str,
    items: Sequence[ReviewWrite],
    now: datetime,
) -> list[AuditWrite]:
    """Queue records for review, or refresh their open review; returns the audit entries.

    Idempotent: a record queued again with the same content and candidates changes nothing and
    adds no audit entry. A decided review is never reopened here.
    """
    unique = {item.source_key: item for item in items}
    current = get_reviews(conn, pipe, unique)
    audit: list[AuditWrite] = []
    for key, item in sorted(unique.items()):
        candidates = list(item.candidates)
        known = current.get(key)
        summary = {"candidates": [_brief(c) for c in candidates], "record": item.record}
        if known is None:
            conn.execute(
                insert(match_reviews).values(
                    pipe=pipe,
                    source_key=key,
                    location=item.location,
                    record=item.record,
                    candidates=candidates,
                    run_id=run_id,
                    created_at=now,
                )
            )
            audit.append(AuditWrite("match_queued", key, None, None, summary))
        elif known.is_open and (known.record != item.record or known.candidates != candidates):
            conn.execute(
                update(match_reviews)
                .where(match_reviews.c.id == known.id, match_reviews.c.decided_at.is_(None))
                .values(
                    location=item.location,
                    record=item.record,
                    candidates=candidates,
                    run_id=run_id,
                )
            )
            before = {"candidates": [_brief(c) for c in known.candidates], "record": known.record}
            audit.append(AuditWrite("match_queued", key, None, before, summary))
    return audit


def list_reviews(conn: Connection, pipe: str | None, *, include_decided: bool) -> list[MatchReview]:
    """Reviews in id order; open ones only unless ``include_decided``."""
    query = select(match_reviews).order_by(match_reviews.c.id)
    if pipe is not None:
        query = query.where(match_reviews.c.pipe == pipe)
    if not include_decided:
        query = query.where(match_reviews.c.decided_at.is_(None))
    return [review_of(row) for row in conn.execute(query)]


def get_review(conn: Connection, review_id: int) -> MatchReview | None:
    """One review by id, or ``None``."""
    row = conn.execute(select(match_reviews).where(match_reviews.c.id == review_id)).one_or_none()
    return None if row is None else review_of(row)


def decide(
    conn: Connection,
    *,
    review_id: int,
    decision: ReviewDecision,
    target_id: str | None,
    by: str | None,
    now: datetime,
) -> MatchReview:
    """Accept a candidate (the best one unless ``target_id``) or reject all; audited.

    A decision may be changed until the next sync has acted on it (linked or created the
    record); after that the books hold the outcome and ``ReviewError`` says so.
    """
    row = conn.execute(
        select(match_reviews).where(match_reviews.c.id == review_id).with_for_update()
    ).one_or_none()
    if row is None:
        raise ReviewError(
            f"there is no match review {review_id}",
            "`ledgerlink matches list` shows the open ones (--all includes decided ones)",
        )
    review = review_of(row)
    if review.decision is not None and _is_linked(conn, review):
        raise ReviewError(
            f"match review {review_id} was {review.decision}ed on {review.decided_at:%Y-%m-%d} "
            "and a sync has already acted on it",
            "Correct the record in the books by hand if the decision was wrong",
        )
    chosen: dict[str, Any] | None = None
    if decision == "accept":
        chosen = _chosen(review, target_id)
    conn.execute(
        update(match_reviews)
        .where(match_reviews.c.id == review_id)
        .values(
            decided_at=now,
            decision=decision,
            target_id=chosen["target_id"] if chosen else None,
        )
    )
    before = None
    if review.decision is not None:
        before = {"decision": review.decision, "target_id": review.target_id}
    after = {
        "review": review_id,
        "decision": decision,
        "candidate": chosen,
        "candidates": [_brief(c) for c in review.candidates],
        "by": by,
    }
    entry = AuditWrite(
        "match_accepted" if decision == "accept" else "match_rejected",
        review.source_key,
        chosen["target_id"] if chosen else None,
        before,
        after,
    )
    append_entries(conn, run_id=None, pipe=review.pipe, at=now, entries=[entry])
    return replace(
        review,
        decided_at=now,
        decision=decision,
        target_id=chosen["target_id"] if chosen else None,
    )


def count_waiting_decisions(conn: Connection, pipe: str) -> int:
    """Decided reviews no sync has acted on yet (no link, no open dead letter).

    While there are some, a sync re-reads the whole source: an incremental read would not see
    these unchanged records again.
    """
    linked = exists().where(
        and_(links.c.pipe == match_reviews.c.pipe, links.c.source_key == match_reviews.c.source_key)
    )
    dead = exists().where(
        and_(
            dead_letters.c.pipe == match_reviews.c.pipe,
            dead_letters.c.source_key == match_reviews.c.source_key,
            dead_letters.c.resolved_at.is_(None),
        )
    )
    query = (
        select(func.count())
        .select_from(match_reviews)
        .where(
            match_reviews.c.pipe == pipe,
            match_reviews.c.decided_at.is_not(None),
            ~linked,
            ~dead,
        )
    )
    return int(conn.execute(query).scalar_one())


def _chosen(review: MatchReview, target_id: str | None) -> dict[str, Any]:
    if not review.candidates:
        raise ReviewError(
            f"match review {review.id} has no candidates to accept",
            f"Reject it: `ledgerlink matches reject {review.id}`",
        )
    if target_id is None:
        return review.candidates[0]
    for candidate in review.candidates:
        if candidate.get("target_id") == target_id:
            return candidate
    offered = ", ".join(str(c.get("target_id")) for c in review.candidates)
    raise ReviewError(
        f"{target_id!r} is not a candidate of match review {review.id} (offered: {offered})",
        "Pick one of the offered ids with --candidate, or reject the review",
    )


def _is_linked(conn: Connection, review: MatchReview) -> bool:
    query = select(links.c.target_id).where(
        links.c.pipe == review.pipe, links.c.source_key == review.source_key
    )
    return conn.execute(query).first() is not None


def _brief(candidate: dict[str, Any]) -> dict[str, Any]:
    return {"target_id": candidate.get("target_id"), "score": candidate.get("score")}
