"""Batch requests: pending writes, one ``requestid`` per batch derived from its intents, answers."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledgerlink.connectors.base import WriteRequest
from ledgerlink.connectors.quickbooks.client import (
    BATCH_REQUEST_ID_MAX,
    QBO_ERRORS,
    SYSTEM,
    QboApi,
    in_list,
    request_id,
    select,
)
from ledgerlink.connectors.quickbooks.dto import Fault, FaultError
from ledgerlink.errors import ErrorContext, LedgerlinkError

BATCH_MAX = 30  # QuickBooks' documented maximum of operations per batch request
NAME_LIST = frozenset(("Customer", "Vendor", "Employee", "Item"))


@dataclass(frozen=True, slots=True)
class Pending:
    """One write waiting to go into a batch: the request it answers and the QuickBooks body.

    ``variant`` tells a corrected retry (a fresh SyncToken, another name) from the first try, so
    the retry gets its own ``requestid`` and is not answered with the first try's replay.
    """

    position: int
    request: WriteRequest
    entity: str
    operation: str
    body: dict[str, Any] = field(default_factory=dict)
    variant: str = ""

    @property
    def intent(self) -> str:
        """What makes this write unique: the request's idempotency key, operation and variant."""
        return f"{self.request.idempotency_key}#{self.operation}#{self.variant}"

    def context(self, vendor_code: str | None = None) -> ErrorContext:
        """Where an error of this write happened, in the user's words."""
        target = self.request.target_id or self.body.get("Id")
        return ErrorContext(
            system=SYSTEM,
            stream=self.request.stream,
            record=self.request.ledgerlink_id,
            location=f"{self.entity} {target}" if target else None,
            vendor_code=vendor_code,
        )

    def error(self, fault: Fault) -> LedgerlinkError:
        """The ledgerlink error for a Fault QuickBooks answered this write with."""
        code = fault.code or None
        return QBO_ERRORS.rule_for(400, code).build(fault.describe(), context=self.context(code))


Answer = dict[str, Any] | Fault


def chunks(items: Sequence[Pending], size: int = BATCH_MAX) -> Iterator[Sequence[Pending]]:
    """``items`` in runs of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def send(
    api: QboApi, pendings: Sequence[Pending], size: int = BATCH_MAX
) -> list[tuple[Pending, Answer]]:
    """Send ``pendings`` as batch requests; one answer (the entity or a Fault) per write.

    The ``requestid`` of a batch is a digest of its writes' intents, so sending the same batch
    again (after a dropped connection, or when the executor retries) is answered with the first
    answer instead of writing twice.
    """
    answered: list[tuple[Pending, Answer]] = []
    for chunk in chunks(pendings, min(size, BATCH_MAX)):
        items = [
            {"bId": f"b{i}", "operation": p.operation, p.entity: p.body}
            for i, p in enumerate(chunk)
        ]
        rid = request_id("batch", *(p.intent for p in chunk), limit=BATCH_REQUEST_ID_MAX)
        by_id = {str(a.get("bId")): a for a in api.batch(items, rid)}
        for i, pending in enumerate(chunk):
            answer = by_id.get(f"b{i}")
            if answer is None:
                missing = FaultError(Message="QuickBooks did not answer for this record", code="")
                answered.append((pending, Fault(Error=[missing])))
            elif "Fault" in answer:
                answered.append((pending, Fault.model_validate(answer["Fault"])))
            else:
                entity = answer.get(pending.entity)
                answered.append((pending, entity if isinstance(entity, dict) else {}))
    return answered


def load_current(api: QboApi, entity: str, ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """The current objects with these Ids (inactive ones too), by Id; one query per 100 ids."""
    found: dict[str, dict[str, Any]] = {}
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), 100):
        chunk = wanted[start : start + 100]
        conditions = [in_list("Id", chunk)]
        if entity in NAME_LIST:
            conditions.append("Active IN (true, false)")
        result, _ = api.query(select(entity, *conditions, tail=" MAXRESULTS 1000"))
        for row in result.get(entity) or []:
            if isinstance(row, dict):
                found[str(row.get("Id"))] = row
    return found


def reactivate(api: QboApi, entity: str, rows: Sequence[dict[str, Any]]) -> dict[str, Fault | None]:
    """Make inactive name-list objects active again (a sparse update); per Id, None or the Fault."""
    if not rows:
        return {}
    items = [
        {
            "bId": f"r{i}",
            "operation": "update",
            entity: {
                "Id": row["Id"],
                "SyncToken": row["SyncToken"],
                "sparse": True,
                "Active": True,
            },
        }
        for i, row in enumerate(rows)
    ]
    parts = (f"{row['Id']}@{row['SyncToken']}" for row in rows)
    rid = request_id("reactivate", entity, *parts, limit=BATCH_REQUEST_ID_MAX)
    answers = {str(a.get("bId")): a for a in api.batch(items, rid)}
    result: dict[str, Fault | None] = {}
    for i, row in enumerate(rows):
        answer = answers.get(f"r{i}") or {}
        fault = answer.get("Fault")
        result[str(row["Id"])] = Fault.model_validate(fault) if isinstance(fault, dict) else None
    return result
