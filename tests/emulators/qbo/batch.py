"""``POST /batch`` (accounting-systems.md §1.7): up to 30 items in order, each blind to the others.

Each item is ``{bId, operation, <Entity>: {...}}`` or ``{bId, Query}``; the answer lists
``{bId, <Entity>}``, ``{bId, QueryResponse}`` or ``{bId, Fault}`` per item, so one bad item never
fails the others. An item cannot see objects created earlier in the same batch (2017 blog). With a
``requestid``, a ``bId`` is at most 10 characters (§1.8). Operations per IntuitRestServiceDef.xsd
``OperationEnum``: create, update, delete, void.
"""

from __future__ import annotations

from typing import Any

from tests.emulators.qbo import sales
from tests.emulators.qbo.company import Company
from tests.emulators.qbo.faults import Faults, QboFault
from tests.emulators.qbo.query import run_query

_ITEM_KEYS = ("bId", "operation", "optionsData")


def _entity_of(item: dict[str, Any]) -> str:
    names = [k for k in item if k not in _ITEM_KEYS]
    if len(names) != 1:
        raise QboFault("2010", "Request has invalid or unsupported property", f"batch item {names}")
    return names[0]


def run_batch(
    company: Company,
    body: Any,
    faults: Faults,
    *,
    max_items: int,
    with_request_id: bool,
) -> list[dict[str, Any]]:
    """The ``BatchItemResponse`` list; raises for a malformed or oversized batch as a whole."""
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise QboFault(
            "2020", "Required param missing", "BatchItemRequest", element="BatchItemRequest"
        )
    if len(items) > max_items:
        # ⚠ code: the limits page names the maximum (30) but not the fault; this one is explicit.
        raise QboFault(
            "6000",
            "A business validation error has occurred",
            f"a batch may carry at most {max_items} items; this one has {len(items)}",
        )
    ids = [str(item.get("bId") or "") for item in items]
    if len(set(ids)) != len(ids) or not all(ids):
        raise QboFault("2010", "Request has invalid or unsupported property", "bId must be unique")
    if with_request_id and any(len(i) > 10 for i in ids):
        raise QboFault(
            "2010",
            "Request has invalid or unsupported property",
            "with a requestid, each bId is at most 10 characters",
        )
    answers: list[dict[str, Any]] = []
    created: set[str] = set()
    with company.lock:
        try:
            for item, b_id in zip(items, ids, strict=True):
                company.hidden = frozenset(created)
                answers.append(_run_item(company, item, b_id, faults, created))
        finally:
            company.hidden = frozenset()
    return answers


def _run_item(
    company: Company, item: dict[str, Any], b_id: str, faults: Faults, created: set[str]
) -> dict[str, Any]:
    try:
        if "Query" in item:
            return {"bId": b_id, "QueryResponse": run_query(company, str(item["Query"]))}
        entity = _entity_of(item)
        body = item[entity]
        operation = str(item.get("operation") or "create")
        fault = faults.item_fault(body)
        if fault is not None:
            raise fault
        result = sales.run(company, entity, operation, body)
        if operation == "create":
            created.add(result["Id"])
        return {"bId": b_id, entity: result}
    except QboFault as fault:
        return {"bId": b_id, "Fault": fault.body()}
