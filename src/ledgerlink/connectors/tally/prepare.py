"""Turn one WriteRequest into the Tally object to import, with its identity and target id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TypeVar

from ledgerlink.canonical.records import Customer, Invoice, Payment
from ledgerlink.connectors.base import WriteRequest
from ledgerlink.connectors.tally.config import TallyConfig
from ledgerlink.connectors.tally.readback import LedgerInfo
from ledgerlink.connectors.tally.translate import (
    customer_ledger,
    ledger_element,
    tags_for,
    voucher_element,
)
from ledgerlink.connectors.tally.vouchers import (
    VoucherSpec,
    credit_note,
    receipt,
    sales_voucher,
)
from ledgerlink.connectors.tally.xml import Element
from ledgerlink.errors import RecordError

LedgerLookup = Callable[[str], LedgerInfo | None]
CREDIT_NOTE_SUFFIX = "-cn"
T = TypeVar("T", Customer, Invoice, Payment)


@dataclass(slots=True)
class Prepared:
    """An object ready to import for one request.

    ``identity`` is what proves it arrived (a voucher's GUID, a ledger's name); ``create`` says
    whether presence alone proves it (true of a create, not of an alteration).
    """

    position: int
    request: WriteRequest
    node: Element
    identity: str
    target_id: str
    create: bool
    ledger: LedgerInfo | None = None
    stock_items: frozenset[str] = field(default_factory=frozenset)
    replaces: str | None = None


def _record_of(request: WriteRequest, kind: type[T]) -> T:
    if not isinstance(request.record, kind):
        raise RecordError(
            f"the {request.stream} stream takes {kind.__name__.lower()} records, "
            f"not {type(request.record).__name__.lower()}"
        )
    return request.record


def prepare_customer(
    position: int,
    request: WriteRequest,
    config: TallyConfig,
    lookup: LedgerLookup,
    *,
    sparse: bool = True,
) -> Prepared:
    """A party ledger to create, or to alter (and rename) for an update.

    ``sparse`` alterations rewrite only the tags of the changed fields, so that what a person
    corrected in Tally in other fields stays.
    """
    customer = _record_of(request, Customer)
    if request.action not in ("create", "update"):
        raise RecordError(
            f"Tally has no way to {request.action} a ledger",
            hint="A party ledger stays in Tally; mark it inactive by hand if needed, or delete "
            "it in Tally when it has no vouchers",
        )
    ledger = customer_ledger(customer)
    existing = lookup(ledger.name)
    if request.action == "create":
        if existing is not None and existing.guid != request.ledgerlink_id:
            raise RecordError(
                f"a ledger named {ledger.name!r} already exists in Tally (under "
                f"{existing.parent or 'a group'}), not created by ledgerlink",
                hint="Review the first-sync matches (`ledgerlink matches`) to link the two, or "
                "rename the contact in the CRM or the ledger in Tally",
            )
        # A create ledgerlink already made (a retry after a crash) becomes an alteration.
        current = existing.name if existing is not None else None
        node = ledger_element(ledger, config, remote_id=request.ledgerlink_id, current_name=current)
        guid = request.ledgerlink_id
    else:
        current = request.target_id or ""
        before = lookup(current)
        if before is None:
            raise RecordError(
                f"the ledger {current!r} is no longer in Tally (renamed or deleted by hand)",
                hint="Rename it back in Tally, or unlink the customer so that it is created again",
            )
        if existing is not None and existing.name != before.name:
            raise RecordError(
                f"cannot rename ledger {current!r} to {ledger.name!r}: that name is taken",
                hint="Rename the contact in the CRM, or the other ledger in Tally",
            )
        tags = tags_for(request.changed_fields if sparse else ())
        node = ledger_element(
            ledger, config, remote_id=request.ledgerlink_id, current_name=current, tags=tags
        )
        guid = before.guid
    info = LedgerInfo(
        name=ledger.name,
        guid=guid,
        alter_id=0,
        parent=config.party_group,
        state=ledger.state,
        country=ledger.country,
        gstin=ledger.gstin,
        customer=customer,
    )
    return Prepared(
        position,
        request,
        node,
        identity=ledger.name,
        target_id=ledger.name,
        create=request.action == "create" and existing is None,
        ledger=info,
        replaces=current,
    )


def _party(request: WriteRequest, lookup: LedgerLookup, fallback: str = "") -> LedgerInfo:
    name = request.references.get("customer") or fallback
    if not name:
        raise RecordError(
            "its customer is not linked to a Tally ledger",
            hint="Sync the customer first (`ledgerlink sync --pipe customers`)",
        )
    info = lookup(name)
    if info is None:
        raise RecordError(
            f"the party ledger {name!r} does not exist in Tally",
            hint="It was renamed or deleted in Tally; rename it back, or unlink the customer "
            "so that ledgerlink creates it again",
        )
    return info


def prepare_invoice(
    position: int,
    request: WriteRequest,
    config: TallyConfig,
    lookup: LedgerLookup,
    today: date,
) -> Prepared:
    """A Sales voucher for a create or update; a Credit Note for a void (or a voided invoice)."""
    invoice = _record_of(request, Invoice)
    if request.action == "delete":
        raise RecordError(
            "ledgerlink does not delete Tally vouchers",
            hint="Set `on_delete: deactivate` to cancel it with a Credit Note instead",
        )
    party = _party(request, lookup)
    invoice_id = request.target_id or request.ledgerlink_id
    voiding = request.action in ("void", "deactivate") or (
        request.action == "update" and invoice.status == "void"
    )
    spec: VoucherSpec
    if voiding:
        spec = credit_note(
            invoice,
            party.party(),
            config,
            invoice_remote_id=invoice_id,
            remote_id=request.ledgerlink_id + CREDIT_NOTE_SUFFIX,
            when=today,
        )
        return _voucher(position, request, spec, target_id=invoice_id, create=True)
    if invoice.status == "void":
        raise RecordError(
            "the invoice is void, so there is nothing to post",
            hint="Only issued invoices are written to Tally",
        )
    creating = request.action == "create"
    remote_id = request.ledgerlink_id if creating else invoice_id
    spec = sales_voucher(
        invoice,
        party.party(),
        config,
        remote_id=remote_id,
        action="Create" if creating else "Alter",
    )
    return _voucher(position, request, spec, target_id=remote_id, create=creating)


def prepare_payment(
    position: int, request: WriteRequest, config: TallyConfig, lookup: LedgerLookup
) -> Prepared:
    """A Receipt voucher settling the bill named by ``invoice_ref`` (the invoice's number)."""
    payment = _record_of(request, Payment)
    party = _party(request, lookup, payment.customer_ref)
    remote_id = request.target_id or request.ledgerlink_id
    spec = receipt(payment, party.name, payment.invoice_ref, config, remote_id=remote_id)
    if request.action != "create":
        spec = replace(spec, action="Alter")
    return _voucher(position, request, spec, target_id=remote_id, create=request.action == "create")


def _voucher(
    position: int, request: WriteRequest, spec: VoucherSpec, *, target_id: str, create: bool
) -> Prepared:
    return Prepared(
        position,
        request,
        voucher_element(spec),
        identity=spec.remote_id,
        target_id=target_id,
        create=create,
        stock_items=frozenset(line.item for line in spec.stock),
    )
