"""Records deleted or merged away in the source: what ``on_delete`` makes of them; pure.

A deleted record with a link becomes a ``deactivate`` (customers), ``void`` (invoices) or
``delete`` op, or nothing (``ignore``). The link is kept and marked (its ``desired_hash`` starts
with a mark), so a repeated deletion writes nothing and a record that comes back is an update.
A merge (duplicate B merged into survivor A) moves B's link to A when only B was linked: the
books already hold the customer A now is, so nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal, Protocol

from ledgerlink.canonical.records import Contact, Deal, InvoiceStatus, Record
from ledgerlink.canonical.restore import customer_from_json, invoice_from_json
from ledgerlink.canonical.serialise import record_digest, to_jsonable
from ledgerlink.errors import Problem
from ledgerlink.planning.plan import FieldChange, OpKind, PipePlan, PlannedFailure, PlannedOp

DeletePolicy = Literal["ignore", "deactivate", "delete"]

#: Marks at the start of a link's ``desired_hash``: what was done when the source record went.
MARKS: dict[OpKind | Literal["merged"], str] = {
    "deactivate": "deactivated:",
    "void": "voided:",
    "delete": "deleted:",
    "merged": "merged:",
}


class RemovedLink(Protocol):
    """What planning a removal needs of a link (``state.records.Link`` provides it)."""

    @property
    def target_id(self) -> str: ...

    @property
    def desired_hash(self) -> str: ...

    @property
    def snapshot(self) -> dict[str, Any]: ...

    @property
    def ledgerlink_id(self) -> str: ...


def removal_mark(desired_hash: str) -> str | None:
    """The mark a link carries once its source record was handled as deleted, if any."""
    return next((m for m in MARKS.values() if desired_hash.startswith(m)), None)


def modified_since(record: Record, since: date) -> bool:
    """Whether ``--since`` keeps a record: contacts modified, deals closed (else modified) on
    or after ``since``. A record that carries no date is kept: nothing says it is older."""
    when: date | datetime | None = None
    if isinstance(record, Deal):
        when = record.close_date or record.updated_at
    elif isinstance(record, Contact):
        when = record.updated_at
    if when is None:
        return True
    return (when.date() if isinstance(when, datetime) else when) >= since


@dataclass(frozen=True, slots=True)
class LinkRepair:
    """A state-only change after a merge: ``source_key``'s link is marked merged and, when
    ``moved_to`` is set, the survivor gets a link to the same books record."""

    source_key: str
    moved_to: str | None
    target_id: str
    ledgerlink_id: str
    snapshot: dict[str, Any]
    desired_hash: str

    @property
    def merged_hash(self) -> str:
        """The marked ``desired_hash`` the merged-away record's link keeps."""
        return (MARKS["merged"] + self.desired_hash.split(":")[-1])[:64]


class RemovalPlanner:
    """Plans one pipe's deletions and merges under its ``on_delete`` policy."""

    def __init__(
        self,
        pipe: str,
        target_stream: str,
        policy: DeletePolicy,
        *,
        target_system: str,
        can_delete: bool,
        books_status: Callable[[str], InvoiceStatus | None],
    ) -> None:
        self.pipe, self.stream, self.policy = pipe, target_stream, policy
        self._system, self._can_delete, self._books_status = target_system, can_delete, books_status

    def plan(
        self,
        plan: PipePlan,
        *,
        key: str,
        location: str,
        version: int,
        link: RemovedLink | None,
        merged_into: str | None = None,
        survivor: RemovedLink | None = None,
    ) -> LinkRepair | None:
        """Add the op (or failure) for a deleted record; return a link repair for a merge."""
        if link is None:
            plan.deleted_in_source += 1  # never synced (or filtered out): nothing in the books
            return None
        if removal_mark(link.desired_hash) is not None:
            plan.unchanged += 1  # handled when it was first reported
            return None
        if merged_into and (survivor is None or survivor.target_id == link.target_id):
            return LinkRepair(
                key,
                merged_into if survivor is None else None,
                link.target_id,
                link.ledgerlink_id,
                link.snapshot,
                link.desired_hash,
            )
        if self.policy == "ignore":
            plan.deleted_in_source += 1
            return None
        gone = _Gone(
            key,
            location,
            version,
            link,
            f"merged into {merged_into!r} in the CRM" if merged_into else "deleted in the CRM",
        )
        if self.stream == "customers":
            self._customer(plan, gone)
        elif self.stream == "invoices":
            self._invoice(plan, gone)
        else:
            plan.deleted_in_source += 1
        return None

    def _customer(self, plan: PipePlan, gone: _Gone) -> None:
        customer = customer_from_json(gone.link.snapshot)
        record = replace(customer, active=False)
        if self.policy == "delete" and not self._can_delete:
            hint = (
                "Set `on_delete: deactivate` to make the customer inactive instead "
                "(the books keep its history)"
            )
            plan.failures.append(self._cannot_delete(gone, record, hint))
            return
        kind: OpKind = "delete" if self.policy == "delete" else "deactivate"
        change = (FieldChange("active", customer.active, False),) if kind == "deactivate" else ()
        plan.ops.append(self._op(kind, gone, record, change))

    def _invoice(self, plan: PipePlan, gone: _Gone) -> None:
        invoice = invoice_from_json(gone.link.snapshot)
        target_id = gone.link.target_id
        if (self._books_status(target_id) or invoice.status) == "paid":
            message = (
                f"was {gone.why}, but its invoice {target_id} is paid in the books; "
                "a paid invoice is never voided or deleted"
            )
            hint = "If the sale was cancelled, refund or credit it in the books by hand"
            plan.failures.append(
                _failure(self.pipe, gone, invoice, Problem("record", message, hint=hint))
            )
            return
        if self.policy == "delete" and not self._can_delete:
            hint = (
                "Set `on_delete: deactivate` to void the invoice instead "
                "(voiding keeps the number sequence and the audit trail)"
            )
            plan.failures.append(self._cannot_delete(gone, invoice, hint))
            return
        kind: OpKind = "delete" if self.policy == "delete" else "void"
        record = replace(invoice, status="void")
        change = (FieldChange("status", invoice.status, "void"),) if kind == "void" else ()
        op = self._op(kind, gone, record, change)
        plan.ops.append(replace(op, depends_on=invoice.customer_key))

    def _op(
        self, kind: OpKind, gone: _Gone, record: Record, changes: tuple[FieldChange, ...]
    ) -> PlannedOp:
        return PlannedOp(
            kind=kind,
            pipe=self.pipe,
            stream=self.stream,
            source_key=gone.key,
            location=gone.location,
            ledgerlink_id=gone.link.ledgerlink_id,
            record=record,
            version=gone.version,
            desired_hash=MARKS[kind] + record_digest(record),
            target_id=gone.link.target_id,
            changes=changes,
            reason=gone.why,
        )

    def _cannot_delete(self, gone: _Gone, record: Record, hint: str) -> PlannedFailure:
        message = (
            f"was {gone.why}, but {self._system} cannot delete {self.stream} (on_delete: delete)"
        )
        return _failure(self.pipe, gone, record, Problem("record", message, hint=hint))


@dataclass(frozen=True, slots=True)
class _Gone:
    """A deleted source record that has a link."""

    key: str
    location: str
    version: int
    link: RemovedLink
    why: str


def _failure(pipe: str, gone: _Gone, record: Record, problem: Problem) -> PlannedFailure:
    return PlannedFailure(pipe, gone.key, gone.location, "plan", problem, to_jsonable(record))
