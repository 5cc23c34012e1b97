"""Settle a queued two-way conflict: write the kept value to whichever side lacks it, then close it.

``ledgerlink conflicts resolve`` calls this at once (a person is waiting for the answer), through
the same connectors a sync uses. If either write fails the conflict stays open and nothing is
recorded as settled; both writes are idempotent updates, so resolving again is safe.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from ledgerlink.canonical.restore import customer_from_json
from ledgerlink.canonical.serialise import record_digest
from ledgerlink.connectors.base import WriteBackSource, WriteOutcome, WriteRequest
from ledgerlink.errors import ConfigError, LedgerlinkError
from ledgerlink.mapping.reverse import write_back_request
from ledgerlink.state.records import AuditWrite, BatchCommit, ConflictRow, LinkWrite
from ledgerlink.sync.run import Workspace
from ledgerlink.sync.twoway import check_two_way

Keep = Literal["crm", "books", "value"]


def parse_value(text: str) -> Any:
    """A value typed on the command line: JSON when it parses (numbers, objects), else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def resolve_conflict(
    workspace: Workspace, conflict_id: int, keep: Keep, value: Any = None
) -> ConflictRow:
    """Write the chosen value to both systems and close the conflict; returns it as it was."""
    store = workspace.store
    conflict = store.get_conflict(conflict_id)
    if conflict is None:
        raise ConfigError(
            f"there is no conflict {conflict_id}", hint="`ledgerlink conflicts list` shows them"
        )
    if conflict.resolved_at is not None:
        raise ConfigError(
            f"conflict {conflict_id} was already resolved ({conflict.resolution})",
            hint="Change the record in either system; the next sync carries it over",
        )
    pipe = workspace.config.pipe(conflict.pipe)
    source, target = workspace.source(pipe), workspace.target(pipe)
    check_two_way(pipe, source, target)
    assert isinstance(source, WriteBackSource)
    link = store.get_links(pipe.name, [conflict.source_key]).get(conflict.source_key)
    if link is None:
        raise ConfigError(f"record {conflict.source_key!r} is no longer linked; nothing to settle")
    chosen = {"crm": conflict.crm, "books": conflict.books}.get(keep, value)
    merged = {**link.snapshot, conflict.field: chosen}
    key = f"{link.ledgerlink_id}:resolve:{conflict.id}"
    if chosen != conflict.books:
        record = customer_from_json(merged)
        _check(
            target.apply(
                [
                    WriteRequest(
                        action="update",
                        stream=pipe.target_stream,
                        ledgerlink_id=link.ledgerlink_id,
                        idempotency_key=f"{key}:books",
                        record=record,
                        target_id=link.target_id,
                        changed_fields=(conflict.field,),
                    )
                ]
            ),
            "the books",
        )
    if chosen != conflict.crm:
        back, fields = write_back_request(pipe.target_stream, merged, (conflict.field,))
        _check(
            source.write_back(
                [
                    WriteRequest(
                        action="update",
                        stream=pipe.source_stream,
                        ledgerlink_id=link.ledgerlink_id,
                        idempotency_key=f"{key}:crm",
                        record=back,
                        target_id=conflict.source_key,
                        changed_fields=fields,
                    )
                ]
            ),
            "the CRM",
        )
    run_id = store.start_run("conflicts resolve")
    store.commit_batch(
        BatchCommit(
            run_id=run_id,
            pipe=pipe.name,
            links=[
                LinkWrite(
                    source_key=link.source_key,
                    target_id=link.target_id,
                    version=link.version,
                    desired_hash=record_digest(customer_from_json(merged)),
                    snapshot=merged,
                    ledgerlink_id=link.ledgerlink_id,
                )
            ],
            resolved_conflict=(conflict.id, keep, chosen),
            audit=[
                AuditWrite(
                    action="conflict_resolved",
                    source_key=conflict.source_key,
                    target_id=conflict.target_id,
                    before={
                        "field": conflict.field,
                        "crm": conflict.crm,
                        "books": conflict.books,
                    },
                    after={"value": chosen, "kept": keep},
                    idempotency_key=key,
                )
            ],
        )
    )
    store.finish_run(run_id, "ok", {"conflict": conflict.id, "kept": keep})
    return conflict


def _check(outcomes: list[WriteOutcome], side: str) -> None:
    for outcome in outcomes:
        if not outcome.ok:
            error = outcome.error
            assert isinstance(error, LedgerlinkError)
            raise type(error)(f"{side} refused the value: {error}", hint=error.hint)
