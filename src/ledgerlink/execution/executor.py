"""Apply a pipe's plan to its target: intents first, batches, retries, a state commit per batch."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ledgerlink.canonical.serialise import to_jsonable
from ledgerlink.connectors.base import TargetConnector, WriteOutcome, WriteRequest
from ledgerlink.crashpoints import crashpoint
from ledgerlink.errors import (
    ConnectionFailedError,
    LedgerlinkError,
    Problem,
    RecordError,
    TransientError,
)
from ledgerlink.planning.plan import (
    PLANNED_PREFIX,
    PipePlan,
    PlannedFailure,
    PlannedOp,
    PlannedReview,
)
from ledgerlink.state.records import (
    AuditWrite,
    BatchCommit,
    DeadLetterWrite,
    IntentWrite,
    LinkWrite,
    ReviewWrite,
)
from ledgerlink.state.retry_schedule import MISSING_DEPENDENCY
from ledgerlink.state.store import StateStore


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped retries with exponential backoff and full jitter; ``Retry-After`` wins when given.

    A batch that still fails as transient after ``attempts`` tries (an outage), or a target that
    asks to wait longer than ``max_retry_after``, stops the pipe: its records are neither written
    nor dead-lettered, and the next sync picks them up.
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 300.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based); ``Retry-After`` exactly."""
        if retry_after is not None:
            return retry_after
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))  # noqa: S311


class TargetUnavailableError(ConnectionFailedError):
    """The target kept failing as transient through every retry: the pipe stops, nothing lost."""


@dataclass(slots=True)
class ExecutionTally:
    """What a pipe's execution did, for the run report."""

    created: int = 0
    updated: int = 0
    linked: int = 0
    failed: int = 0
    problems: list[PlannedFailure] = field(default_factory=list)


class PlanExecutor:
    """Executes plan chunks of one pipe against one target, committing state per batch."""

    def __init__(
        self,
        *,
        store: StateStore,
        target: TargetConnector,
        run_id: str,
        pipe: str,
        dependency_pipe: str | None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store, self._target, self._run_id = store, target, run_id
        self._pipe, self._dependency_pipe = pipe, dependency_pipe
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._batch_size = max(1, target.capabilities().max_batch_size)
        self.tally = ExecutionTally()

    def execute(self, plan: PipePlan) -> list[PlannedFailure]:
        """Apply one chunk of the pipe's plan; every record ends linked or dead-lettered.

        Returns every failure of the chunk: the plan's own and those of the writes.
        """
        first = len(self.tally.problems)
        failures = list(plan.failures)
        references = self._resolve_dependencies(plan.ops, failures)
        writes = [op for op in plan.ops if op.kind != "link" and op.source_key in references]
        links = [op for op in plan.ops if op.kind == "link" and op.source_key in references]
        for start in range(0, len(writes), self._batch_size):
            self._execute_batch(writes[start : start + self._batch_size], references)
        self._commit_links(links, failures)
        reviews = [_review_write(review) for review in plan.reviews]
        self._commit(failures=failures, versions_only=plan.refreshed, reviews=reviews)
        return self.tally.problems[first:]

    def _resolve_dependencies(
        self, ops: Sequence[PlannedOp], failures: list[PlannedFailure]
    ) -> dict[str, dict[str, str]]:
        """Target ids of what each op points to (an invoice's customer); fail the missing."""
        wanted = {op.depends_on for op in ops if op.depends_on}
        found = (
            self._store.get_links(self._dependency_pipe, wanted)
            if wanted and self._dependency_pipe
            else {}
        )
        resolved: dict[str, dict[str, str]] = {}
        for op in ops:
            if not op.depends_on:
                resolved[op.source_key] = {}
                continue
            link = found.get(op.depends_on)
            if link is None:
                failures.append(_missing_customer(op))
                continue
            resolved[op.source_key] = {"customer": link.target_id}
        return resolved

    def _execute_batch(
        self, ops: Sequence[PlannedOp], references: dict[str, dict[str, str]]
    ) -> None:
        requests = [
            WriteRequest(
                action="update" if op.kind == "link" else op.kind,
                stream=op.stream,
                ledgerlink_id=op.ledgerlink_id,
                idempotency_key=op.idempotency_key,
                record=op.record,
                target_id=op.target_id,
                references=references[op.source_key],
                changed_fields=tuple(c.field for c in op.changes),
            )
            for op in ops
        ]
        crashpoint("before-intents")
        self._store.record_intents(
            self._run_id,
            [
                IntentWrite(r.idempotency_key, self._pipe, op.source_key, r.action, r.ledgerlink_id)
                for r, op in zip(requests, ops, strict=True)
            ],
        )
        crashpoint("after-intents")
        outcomes = self._apply_with_retry(requests)
        crashpoint("after-apply")
        links, audit, done, failed, dead = [], [], [], [], []
        for op, outcome in zip(ops, outcomes, strict=True):
            if outcome.ok and outcome.target_id:
                after = to_jsonable(op.record)
                links.append(_link(op, outcome.target_id, after))
                audit.append(
                    AuditWrite(
                        action=op.kind,
                        source_key=op.source_key,
                        target_id=outcome.target_id,
                        before={c.field: c.before for c in op.changes} if op.changes else None,
                        after=after,
                        idempotency_key=op.idempotency_key,
                    )
                )
                done.append(op.idempotency_key)
                if op.kind == "create":
                    self.tally.created += 1
                else:
                    self.tally.updated += 1
            else:
                error = outcome.error or RecordError("the target returned no id for this record")
                failure = _failure(op, error)
                dead.append(failure)
                failed.append(op.idempotency_key)
        self._commit(links=links, audit=audit, done=done, failed_intents=failed, failures=dead)
        crashpoint("after-commit")

    def _apply_with_retry(self, requests: list[WriteRequest]) -> list[WriteOutcome]:
        return apply_with_retry(
            self._target.apply,
            requests,
            retry=self._retry,
            sleep=self._sleep,
            pipe=self._pipe,
            system=self._target.system,
        )

    def _commit_links(self, ops: Sequence[PlannedOp], failures: list[PlannedFailure]) -> None:
        planned = {
            op.target_id.removeprefix(PLANNED_PREFIX)
            for op in ops
            if op.target_id and op.target_id.startswith(PLANNED_PREFIX)
        }
        created = self._store.get_links(self._pipe, planned) if planned else {}
        links, audit = [], []
        for op in ops:
            target_id = op.target_id or ""
            if target_id.startswith(PLANNED_PREFIX):
                origin = created.get(target_id.removeprefix(PLANNED_PREFIX))
                if origin is None:
                    failures.append(
                        _failure(
                            op,
                            RecordError(
                                f"is the same party as {target_id.removeprefix(PLANNED_PREFIX)!r}, "
                                "which could not be created",
                                hint="Fix that record first (see `ledgerlink dlq list`)",
                            ),
                        )
                    )
                    continue
                target_id = origin.target_id
            after = to_jsonable(op.record)
            links.append(_link(op, target_id, after))
            audit.append(AuditWrite("link", op.source_key, target_id, None, after, None))
            self.tally.linked += 1
        self._commit(links=links, audit=audit, done=self._recovered(links))

    def _recovered(self, links: Sequence[LinkWrite]) -> list[str]:
        """Intents a link settles: the target already holds the record, so an earlier write of it
        whose outcome was never recorded (a create found again by its stamp, an update read back
        by a two-way pipe) took effect. Completing an intent that never existed is a no-op."""
        if not links:
            return []
        linked = {link.ledgerlink_id for link in links}
        settled = {f"{lid}:create" for lid in linked}
        settled.update(
            intent.key
            for intent in self._store.pending_intents(self._pipe)
            if intent.ledgerlink_id in linked and intent.run_id != self._run_id
        )
        return sorted(settled)

    def _commit(
        self,
        *,
        links: Sequence[LinkWrite] = (),
        audit: Sequence[AuditWrite] = (),
        done: Sequence[str] = (),
        failed_intents: Sequence[str] = (),
        failures: Sequence[PlannedFailure] = (),
        versions_only: Sequence[tuple[str, int]] = (),
        reviews: Sequence[ReviewWrite] = (),
    ) -> None:
        if not (links or audit or done or failed_intents or failures or versions_only or reviews):
            return
        self.tally.failed += len(failures)
        self.tally.problems.extend(failures)
        dead_letters = [_dead_letter(f) for f in failures]
        self._store.commit_batch(
            BatchCommit(
                run_id=self._run_id,
                pipe=self._pipe,
                links=links,
                done_intents=done,
                failed_intents=failed_intents,
                dead_letters=dead_letters,
                resolved_keys=[link.source_key for link in links]
                + [key for key, _ in versions_only],
                audit=[*audit, *(_dead_letter_audit(f) for f in failures)],
                versions_only=versions_only,
                reviews=reviews,
            )
        )


def stopped_by(error: LedgerlinkError, pipe: str, target_system: str) -> LedgerlinkError:
    """The error a stopped pipe reports: a transient failure of its target that outlasted the
    retries (a read included) says the target is unavailable and that nothing was lost."""
    if isinstance(error, TransientError) and error.context.system in (None, target_system):
        return _unavailable(error, pipe, target_system, "after retries")
    return error


def apply_with_retry(
    apply: Callable[[Sequence[WriteRequest]], list[WriteOutcome]],
    requests: list[WriteRequest],
    *,
    retry: RetryPolicy,
    sleep: Callable[[float], None],
    pipe: str,
    system: str,
) -> list[WriteOutcome]:
    """Apply one batch, retrying transient failures; one outcome per request.

    A system still failing as transient after every retry (or asking to wait longer than the
    policy allows) raises ``TargetUnavailableError``: that is not the records' fault, and
    dead-lettering them all would bury the real failures. Their intents stay pending and the next
    sync writes them once.
    """
    for attempt in range(1, retry.attempts + 1):
        try:
            outcomes = apply(requests)
        except TransientError as exc:
            retry_after = getattr(exc, "retry_after", None)
            too_long = retry_after is not None and retry_after > retry.max_retry_after
            if attempt == retry.attempts or too_long:
                raise _unavailable(exc, pipe, system, f"{attempt} tries") from exc
            sleep(retry.delay(attempt, retry_after))
            continue
        if len(outcomes) != len(requests):
            error = RecordError(f"{system} answered for a different number of records")
            return [WriteOutcome(r, error=error) for r in requests]
        return outcomes
    return []  # pragma: no cover - the loop always returns


def _unavailable(
    error: TransientError, pipe: str, system: str, tries: str
) -> TargetUnavailableError:
    who = "" if error.context.system else f"{system} "  # the context names it otherwise
    return TargetUnavailableError(
        f"{who}not accepting requests ({tries}: {error.message}); pipe {pipe!r} stopped",
        hint="Nothing was lost: what was written is recorded, and the rest is written once by "
        "the next `ledgerlink sync`. Run it when the service is back (check its status page if "
        "this persists)",
        context=error.context,
    )


def _link(op: PlannedOp, target_id: str, snapshot: dict[str, object]) -> LinkWrite:
    return LinkWrite(
        source_key=op.source_key,
        target_id=target_id,
        version=op.version,
        desired_hash=op.desired_hash,
        snapshot=snapshot,
        ledgerlink_id=op.ledgerlink_id,
    )


def _failure(op: PlannedOp, error: LedgerlinkError) -> PlannedFailure:
    return PlannedFailure(
        op.pipe,
        op.source_key,
        op.location,
        "write",
        Problem.from_error(error),
        to_jsonable(op.record),
    )


def _missing_customer(op: PlannedOp) -> PlannedFailure:
    return PlannedFailure(
        op.pipe,
        op.source_key,
        op.location,
        "plan",
        Problem(
            MISSING_DEPENDENCY,
            f"its customer {op.depends_on!r} is not in the books",
            hint="Sync the contact first; if it failed or was filtered out, "
            "`ledgerlink dlq list` shows why; this record follows it automatically",
        ),
        to_jsonable(op.record),
    )


def _dead_letter(failure: PlannedFailure) -> DeadLetterWrite:
    return DeadLetterWrite(
        pipe=failure.pipe,
        source_key=failure.source_key,
        location=failure.location or None,
        stage=failure.stage,
        kind=failure.problem.kind,
        message=failure.problem.message,
        hint=failure.problem.hint,
        record=failure.record,
    )


def _dead_letter_audit(failure: PlannedFailure) -> AuditWrite:
    return AuditWrite(
        action="dead_letter",
        source_key=failure.source_key,
        after={"stage": failure.stage, "message": failure.problem.render()},
    )


def _review_write(review: PlannedReview) -> ReviewWrite:
    return ReviewWrite(
        source_key=review.source_key,
        location=review.location or None,
        record=to_jsonable(review.record),
        candidates=[c.to_json() for c in review.candidates],
    )
