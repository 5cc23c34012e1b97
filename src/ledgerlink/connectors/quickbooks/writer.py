"""Customer and invoice writes: sparse bodies, batches of 30 with a requestid, one fixed retry.

``apply`` prepares a body per request (fetching SyncTokens it does not know yet in one query),
sends batches, settles each write from its own answer, hands the faults QuickBooks explains
(5010, 6240, 610) to the fixer and sends the corrected writes once more.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ledgerlink.canonical.records import Customer, Invoice
from ledgerlink.connectors.base import WriteOutcome, WriteRequest
from ledgerlink.connectors.quickbooks.batches import Pending, load_current, send
from ledgerlink.connectors.quickbooks.client import QboApi
from ledgerlink.connectors.quickbooks.config import QuickBooksOnlineConfig
from ledgerlink.connectors.quickbooks.dto import Fault, InvoiceDto, Ref
from ledgerlink.connectors.quickbooks.fixes import FaultFixer, Fixed
from ledgerlink.connectors.quickbooks.items import ItemCatalog
from ledgerlink.connectors.quickbooks.translate import (
    TaxCodes,
    compact,
    customer_fields,
    customer_to_dto,
    invoice_fields,
    invoice_status,
    invoice_to_dto,
    item_name,
)
from ledgerlink.errors import ConflictError, RecordError

log = logging.getLogger("ledgerlink.quickbooks")

_ENTITY = {"customers": "Customer", "invoices": "Invoice"}


class QboWriter:
    """Writes one stream's batch of requests; remembers SyncTokens for the connection's life."""

    def __init__(self, api: QboApi, config: QuickBooksOnlineConfig, items: ItemCatalog) -> None:
        self._api, self._config, self._items = api, config, items
        self._tokens: dict[tuple[str, str], str] = {}
        self._fixer = FaultFixer(api, config, self._tokens)
        self._codes = TaxCodes(config.tax_code, config.exempt_tax_code, config.txn_tax_code)

    def apply(self, requests: Sequence[WriteRequest]) -> list[WriteOutcome]:
        """One outcome per request, in order.

        Raises only what stops or retries the whole batch (transient, connection, fatal); a
        request QuickBooks refuses as a whole (a 400) fails each write still unsettled.
        """
        fixed = Fixed()
        try:
            pendings = self._prepare(requests, fixed)
            size = self._config.batch_size
            retry = self._settle(send(self._api, pendings, size), fixed, final=False)
            if retry:
                self._settle(send(self._api, retry, size), fixed, final=True)
        except (RecordError, ConflictError) as error:
            for position, request in enumerate(requests):
                if position not in fixed.outcomes:
                    copy = type(error)(error.message, hint=error.hint, context=error.context)
                    fixed.outcomes[position] = WriteOutcome(request, error=copy)
        missing = RecordError("QuickBooks gave no answer for this record")
        return [
            fixed.outcomes.get(i) or WriteOutcome(r, error=missing) for i, r in enumerate(requests)
        ]

    # -- preparing ------------------------------------------------------------------------

    def _prepare(self, requests: Sequence[WriteRequest], fixed: Fixed) -> list[Pending]:
        refs = self._item_refs(requests)
        ready: list[Pending] = []
        for position, request in enumerate(requests):
            entity = _ENTITY.get(request.stream, request.stream)
            try:
                pending = self._pending(position, request, refs)
            except RecordError as error:
                fixed.fail(Pending(position, request, entity, request.action), error)
                continue
            if pending is None:  # nothing QuickBooks holds changed
                fixed.ok(Pending(position, request, entity, "update"), request.target_id or "")
                continue
            ready.append(pending)
        return self._with_tokens(ready, fixed)

    def _item_refs(self, requests: Sequence[WriteRequest]) -> dict[str, Ref | RecordError]:
        names = {
            item_name(line, self._config.default_item)
            for r in requests
            if r.stream == "invoices" and isinstance(r.record, Invoice) and not _voids(r)
            for line in r.record.lines
        }
        return self._items.refs(names) if names else {}

    def _pending(
        self, position: int, request: WriteRequest, refs: dict[str, Ref | RecordError]
    ) -> Pending | None:
        record, action = request.record, request.action
        if request.stream == "customers" and isinstance(record, Customer):
            if action == "void":
                raise RecordError("a customer cannot be voided", hint="Deactivate it instead")
            if action == "delete":
                raise RecordError(
                    "QuickBooks Online cannot delete a customer (a name-list entity: it is made "
                    "inactive, never deleted)",
                    hint="Set `on_delete: deactivate` on the pipe",
                )
            if action == "create":
                fields = customer_fields(())
            elif action == "deactivate":
                fields = ()
            else:
                fields = customer_fields(request.changed_fields)
                if not fields:
                    return None
            body = customer_to_dto(
                record, request.ledgerlink_id, fields=fields, default_currency=self._config.currency
            ).wire()
            if action == "create":
                return Pending(position, request, "Customer", "create", compact(body))
            if action == "deactivate":
                body["Active"] = False
            return Pending(position, request, "Customer", "update", self._sparse(request, body))
        if request.stream == "invoices" and isinstance(record, Invoice):
            if action == "delete":
                raise RecordError(
                    "ledgerlink does not delete QuickBooks Online invoices",
                    hint="Set `on_delete: deactivate` to void it (the number stays accounted for)",
                )
            if _voids(request):
                return Pending(position, request, "Invoice", "void", {"Id": _target(request)})
            return self._invoice(position, request, record, refs)
        raise RecordError(
            f"the QuickBooks connector does not write {request.stream!r} records of this kind",
            hint="It writes customers and invoices",
        )

    def _invoice(
        self,
        position: int,
        request: WriteRequest,
        invoice: Invoice,
        refs: dict[str, Ref | RecordError],
    ) -> Pending | None:
        customer = request.references.get("customer")
        if not customer:
            raise RecordError(
                "its customer has no QuickBooks id yet", hint="Sync the customer first"
            )
        items: dict[str, Ref] = {}
        for line in invoice.lines:
            name = item_name(line, self._config.default_item)
            ref = refs.get(name)
            if isinstance(ref, RecordError):
                raise RecordError(ref.message, hint=ref.hint, context=ref.context)
            if ref is not None:
                items[name] = ref
        creating = request.action == "create"
        fields = invoice_fields(()) if creating else invoice_fields(request.changed_fields)
        if not fields:
            return None
        body = invoice_to_dto(
            invoice,
            request.ledgerlink_id,
            fields=fields,
            customer_id=customer,
            items=items,
            default_item=self._config.default_item,
            codes=self._codes,
        ).wire()
        if creating:
            return Pending(position, request, "Invoice", "create", compact(body))
        return Pending(position, request, "Invoice", "update", self._sparse(request, body))

    @staticmethod
    def _sparse(request: WriteRequest, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "Id": _target(request), "sparse": True}

    def _with_tokens(self, pendings: list[Pending], fixed: Fixed) -> list[Pending]:
        """Fill in SyncTokens, reading the ones not known yet in one query per entity."""
        unknown: dict[str, set[str]] = {}
        for p in pendings:
            if p.operation != "create" and (p.entity, p.body["Id"]) not in self._tokens:
                unknown.setdefault(p.entity, set()).add(str(p.body["Id"]))
        current: dict[tuple[str, str], dict[str, Any]] = {}
        for entity, ids in unknown.items():
            for ident, row in load_current(self._api, entity, ids).items():
                current[(entity, ident)] = row
                self._tokens[(entity, ident)] = str(row["SyncToken"])
        ready: list[Pending] = []
        for p in pendings:
            if p.operation == "create":
                ready.append(p)
                continue
            key = (p.entity, str(p.body["Id"]))
            token = self._tokens.get(key)
            if token is None:
                fixed.fail(p, RecordError(f"{p.entity} {key[1]} does not exist in QuickBooks"))
            elif _already_done(p, current.get(key)):
                fixed.ok(p, key[1])
            else:
                ready.append(
                    Pending(
                        p.position, p.request, p.entity, p.operation, {**p.body, "SyncToken": token}
                    )
                )
        return ready

    # -- settling -------------------------------------------------------------------------

    def _settle(
        self, answered: list[tuple[Pending, dict[str, Any] | Fault]], fixed: Fixed, *, final: bool
    ) -> list[Pending]:
        stale: list[Pending] = []
        taken: list[tuple[Pending, Fault]] = []
        inactive: list[tuple[Pending, Fault]] = []
        for pending, answer in answered:
            if isinstance(answer, Fault):
                code = answer.code
                if not final and code == "5010" and pending.operation != "create":
                    stale.append(pending)
                elif not final and code == "6240" and pending.entity == "Customer":
                    taken.append((pending, answer))
                elif not final and code == "610" and pending.entity == "Invoice":
                    inactive.append((pending, answer))
                else:
                    fixed.fail(pending, pending.error(answer))
                continue
            ident = str(answer.get("Id") or pending.request.target_id or "")
            if not ident:
                fixed.fail(pending, RecordError("QuickBooks answered without an Id"))
                continue
            if answer.get("SyncToken") is not None:
                self._tokens[(pending.entity, ident)] = str(answer["SyncToken"])
            self._check_total(pending, answer)
            fixed.ok(pending, ident)
        fixes = Fixed()
        self._fixer.stale(stale, fixes)
        self._fixer.duplicate_names(taken, fixes)
        self._fixer.inactive_references(inactive, fixes)
        fixed.outcomes.update(fixes.outcomes)
        return fixes.retry

    @staticmethod
    def _check_total(pending: Pending, answer: dict[str, Any]) -> None:
        record = pending.request.record
        if pending.entity != "Invoice" or "Line" not in pending.body:
            return
        if not isinstance(record, Invoice):  # pragma: no cover - prepared from an Invoice
            return
        total = Decimal(str(answer.get("TotalAmt", record.total)))
        if total != record.total:
            log.warning(
                "invoice %s: QuickBooks computed a total of %s where the CRM says %s; check the "
                "tax codes of the QuickBooks connection",
                pending.request.ledgerlink_id,
                total,
                record.total,
            )


def _voids(request: WriteRequest) -> bool:
    record = request.record
    return request.action in ("void", "deactivate") or (
        request.action == "update" and isinstance(record, Invoice) and record.status == "void"
    )


def _target(request: WriteRequest) -> str:
    if not request.target_id:
        raise RecordError(f"a {request.action} needs the record's QuickBooks id, and it has none")
    return request.target_id


def _already_done(pending: Pending, row: dict[str, Any] | None) -> bool:
    """A deactivation of an inactive customer or a void of a void invoice changes nothing."""
    if row is None:
        return False
    if pending.operation == "void":
        return invoice_status(InvoiceDto.model_validate(row)) == "void"
    return pending.request.action == "deactivate" and row.get("Active") is False
