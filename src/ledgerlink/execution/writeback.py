"""Apply a two-way pipe's write-backs to the CRM: intents first, then one state commit per batch.

Write-backs run before the chunk's books updates. A record whose write-back failed gets no books
update in this run either, so both systems stay where the last agreed snapshot says and the next
run merges the same changes again. After a write-back the link's snapshot is the merged record,
except for the fields the books have still to receive (their books values), so that a books
update failing afterwards is retried, never forgotten.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from ledgerlink.canonical.restore import customer_from_json, invoice_from_json
from ledgerlink.canonical.serialise import record_digest
from ledgerlink.connectors.base import WriteBackSource, WriteOutcome, WriteRequest
from ledgerlink.crashpoints import crashpoint
from ledgerlink.errors import Problem, RecordError
from ledgerlink.execution.executor import RetryPolicy, apply_with_retry
from ledgerlink.planning.plan import Conflict, PlannedFailure, WriteBack
from ledgerlink.state.records import (
    AuditWrite,
    BatchCommit,
    ConflictWrite,
    IntentWrite,
    LinkWrite,
)
from ledgerlink.state.store import StateStore

WRITE_BACK_BATCH = 25


class WriteBackExecutor:
    """Writes one two-way pipe's changes back into its CRM and records the conflicts it met."""

    def __init__(
        self,
        *,
        store: StateStore,
        source: WriteBackSource,
        run_id: str,
        pipe: str,
        target_stream: str,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store, self._source, self._run_id = store, source, run_id
        self._pipe, self._target_stream = pipe, target_stream
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self.written = 0

    def record_conflicts(self, conflicts: Sequence[Conflict]) -> None:
        """Queue the conflicts left to a person; audit every conflict, settled or queued."""
        if not conflicts:
            return
        queued = [
            ConflictWrite(c.source_key, c.target_id, c.field, c.base, c.crm, c.books)
            for c in conflicts
            if c.winner is None
        ]
        agreed = [(c.source_key, c.field, c.crm) for c in conflicts if c.winner == "agreed"]
        audit = [
            AuditWrite(
                action="conflict_settled" if c.winner else "conflict_queued",
                source_key=c.source_key,
                target_id=c.target_id,
                before={"field": c.field, "base": c.base},
                after={"crm": c.crm, "books": c.books, "winner": c.winner},
            )
            for c in conflicts
        ]
        self._store.commit_batch(
            BatchCommit(
                run_id=self._run_id,
                pipe=self._pipe,
                conflicts=queued,
                agreed_conflicts=agreed,
                audit=audit,
            )
        )

    def execute(self, write_backs: Sequence[WriteBack]) -> list[PlannedFailure]:
        """Apply the write-backs; return the failures (the caller dead-letters them)."""
        failures: list[PlannedFailure] = []
        for start in range(0, len(write_backs), WRITE_BACK_BATCH):
            failures.extend(self._batch(write_backs[start : start + WRITE_BACK_BATCH]))
        return failures

    def _batch(self, ops: Sequence[WriteBack]) -> list[PlannedFailure]:
        requests = [
            WriteRequest(
                action="update",
                stream=op.stream,
                ledgerlink_id=op.ledgerlink_id,
                idempotency_key=op.idempotency_key,
                record=op.record,
                target_id=op.source_key,
                changed_fields=op.fields,
            )
            for op in ops
        ]
        self._store.record_intents(
            self._run_id,
            [
                IntentWrite(
                    r.idempotency_key, self._pipe, op.source_key, "write_back", op.ledgerlink_id
                )
                for r, op in zip(requests, ops, strict=True)
            ],
        )
        crashpoint("before-write-back")
        outcomes = self._apply(requests)
        crashpoint("after-write-back")
        links, audit, done, failed, failures = [], [], [], [], []
        synced: list[WriteBack] = []
        for op, outcome in zip(ops, outcomes, strict=True):
            if outcome.ok:
                snapshot = {**op.merged, **op.books_pending}
                links.append(
                    LinkWrite(
                        source_key=op.source_key,
                        target_id=op.target_id,
                        version=op.version,
                        desired_hash=record_digest(self._record(snapshot)),
                        snapshot=snapshot,
                        ledgerlink_id=op.ledgerlink_id,
                    )
                )
                audit.append(
                    AuditWrite(
                        action="write_back",
                        source_key=op.source_key,
                        target_id=op.target_id,
                        before={c.field: c.before for c in op.changes},
                        after={c.field: c.after for c in op.changes},
                        idempotency_key=op.idempotency_key,
                    )
                )
                done.append(op.idempotency_key)
                synced.append(op)
                self.written += 1
            else:
                error = outcome.error or RecordError("the CRM did not take the change")
                failures.append(
                    PlannedFailure(
                        op.pipe,
                        op.source_key,
                        op.location,
                        "write",
                        Problem.from_error(error),
                        {"write_back": {c.field: c.after for c in op.changes}},
                    )
                )
                failed.append(op.idempotency_key)
        self._store.commit_batch(
            BatchCommit(
                run_id=self._run_id,
                pipe=self._pipe,
                links=links,
                done_intents=done,
                failed_intents=failed,
                resolved_keys=[
                    link.source_key
                    for link, op in zip(links, synced, strict=True)
                    if not op.books_pending
                ],
                audit=audit,
            )
        )
        return failures

    def _apply(self, requests: list[WriteRequest]) -> list[WriteOutcome]:
        return apply_with_retry(
            self._source.write_back,
            requests,
            retry=self._retry,
            sleep=self._sleep,
            pipe=self._pipe,
            system=getattr(self._source, "system", "the CRM"),
        )

    def _record(self, snapshot: dict[str, Any]) -> Any:
        if self._target_stream == "invoices":
            return invoice_from_json(snapshot)
        return customer_from_json(snapshot)
