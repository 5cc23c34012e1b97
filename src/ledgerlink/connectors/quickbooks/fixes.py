"""Second chances for faults QuickBooks explains: stale SyncToken, a taken name, inactive refs.

Each fix reads what it needs, then either settles the write (linked to an existing record, or
failed with the reason) or queues one corrected retry. A retry that faults again is final.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ledgerlink.canonical.normalise import email_key, tax_id_key
from ledgerlink.canonical.records import Customer
from ledgerlink.connectors.base import WriteOutcome
from ledgerlink.connectors.quickbooks.batches import Pending, load_current, reactivate
from ledgerlink.connectors.quickbooks.client import QboApi, select
from ledgerlink.connectors.quickbooks.config import QuickBooksOnlineConfig
from ledgerlink.connectors.quickbooks.dto import CustomerDto, Fault, InvoiceDto
from ledgerlink.connectors.quickbooks.translate import (
    DISPLAY_NAME_MAX,
    invoice_status,
    read_stamp,
)
from ledgerlink.errors import LedgerlinkError, RecordError

log = logging.getLogger("ledgerlink.quickbooks")


@dataclass(slots=True)
class Fixed:
    """What the fixes decided: writes settled now, and corrected writes to send once more."""

    retry: list[Pending] = field(default_factory=list)
    outcomes: dict[int, WriteOutcome] = field(default_factory=dict)

    def ok(self, pending: Pending, target_id: str) -> None:
        """The write is settled: it took effect as ``target_id``."""
        self.outcomes[pending.position] = WriteOutcome(pending.request, target_id=target_id)

    def fail(self, pending: Pending, error: LedgerlinkError) -> None:
        """The write is settled: it failed, for this reason."""
        context = pending.context(error.context.vendor_code)
        error.with_context(**{k: getattr(context, k) for k in ("system", "stream", "record")})
        error.with_context(location=context.location)
        self.outcomes[pending.position] = WriteOutcome(pending.request, error=error)


def _like_prefix(name: str) -> str:
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "%'"


def same_party(customer: Customer, holder: CustomerDto) -> bool:
    """True when an existing QuickBooks customer is the same party by e-mail or tax id.

    QuickBooks masks tax ids it returns (``XXXXX1234``); a masked one proves nothing.
    """
    email = holder.primary_email.address if holder.primary_email else ""
    if customer.email and email and email_key(customer.email) == email_key(email):
        return True
    held = holder.tax_identifier or ""
    return bool(
        customer.tax_id
        and held
        and "XXX" not in held.upper()
        and tax_id_key(customer.tax_id) == tax_id_key(held)
    )


def new_name(name: str, email: str, rule: str, taken: set[str]) -> str:
    """A free name by the configured rule: ``Name (email)`` or ``Name (2)``, ``Name (3)`` ..."""
    if rule == "email" and email:
        candidate = f"{name[: DISPLAY_NAME_MAX - len(email) - 3]} ({email})"
        if candidate.casefold() not in taken:
            return candidate
        name = candidate
    for number in range(2, 10_000):
        suffix = f" ({number})"
        candidate = f"{name[: DISPLAY_NAME_MAX - len(suffix)]}{suffix}"
        if candidate.casefold() not in taken:
            return candidate
    raise RecordError(f"no free variant of the name {name!r} was found")  # pragma: no cover


class FaultFixer:
    """Turns 5010, 6240 and 610 into a settled outcome or one corrected retry."""

    def __init__(
        self, api: QboApi, config: QuickBooksOnlineConfig, tokens: dict[tuple[str, str], str]
    ) -> None:
        self._api, self._config, self._tokens = api, config, tokens

    def stale(self, items: Sequence[Pending], fixed: Fixed) -> None:
        """5010: read the record again and retry once with its current SyncToken."""
        by_entity: dict[str, list[Pending]] = {}
        for pending in items:
            by_entity.setdefault(pending.entity, []).append(pending)
        for entity, pendings in by_entity.items():
            current = load_current(self._api, entity, [str(p.body["Id"]) for p in pendings])
            for pending in pendings:
                row = current.get(str(pending.body["Id"]))
                if row is None:
                    fixed.fail(
                        pending, RecordError(f"the {entity.lower()} no longer exists in QuickBooks")
                    )
                    continue
                token = str(row["SyncToken"])
                self._tokens[(entity, str(row["Id"]))] = token
                voided = entity == "Invoice" and invoice_status(InvoiceDto.model_validate(row))
                if pending.operation == "void" and voided == "void":
                    fixed.ok(pending, str(row["Id"]))
                    continue
                log.info(
                    "%s %s changed in QuickBooks meanwhile; retrying on SyncToken %s",
                    entity,
                    row["Id"],
                    token,
                )
                body = {**pending.body, "SyncToken": token}
                fixed.retry.append(
                    replace(pending, body=body, variant=f"{pending.variant}sync:{token};")
                )

    def duplicate_names(self, items: Sequence[tuple[Pending, Fault]], fixed: Fixed) -> None:
        """6240: our own earlier create, the same party, or a new name by the configured rule."""
        for pending, fault in items:
            wanted = str(pending.body.get("DisplayName") or "")
            if not wanted:
                fixed.fail(pending, pending.error(fault))
                continue
            statement = select(
                "Customer",
                f"DisplayName LIKE {_like_prefix(wanted)}",
                "Active IN (true, false)",
                tail=" MAXRESULTS 1000",
            )
            result, _ = self._api.query(statement)
            rows = [CustomerDto.model_validate(r) for r in result.get("Customer") or []]
            holder = self._existing(pending, wanted, rows)
            if holder is not None:
                fixed.ok(pending, holder)
                continue
            if self._config.disambiguate == "fail":
                fixed.fail(
                    pending,
                    RecordError(
                        f"the customer name {wanted!r} is already used in QuickBooks by another "
                        "customer, vendor or employee",
                        hint="Rename one of them, or set `disambiguate: suffix` (or `email`)",
                    ),
                )
                continue
            own = pending.request.target_id
            taken = {(r.display_name or "").casefold() for r in rows if r.id != own}
            taken.add(wanted.casefold())
            record = pending.request.record
            email = record.email if isinstance(record, Customer) else ""
            name = new_name(wanted, email, self._config.disambiguate, taken)
            log.warning(
                "customer %s: the name %r is taken in QuickBooks by another party; "
                "writing it as %r",
                pending.request.ledgerlink_id,
                wanted,
                name,
            )
            body = {**pending.body, "DisplayName": name}
            fixed.retry.append(
                replace(pending, body=body, variant=f"{pending.variant}name:{name};")
            )

    def _existing(self, pending: Pending, wanted: str, rows: Sequence[CustomerDto]) -> str | None:
        if pending.operation != "create":
            return None
        record = pending.request.record
        for row in rows:  # our own earlier create, perhaps under a disambiguated name
            _, stamp = read_stamp(row.notes)
            if row.id and stamp == pending.request.ledgerlink_id:
                log.info(
                    "customer %s already exists in QuickBooks as %s (created earlier)",
                    stamp,
                    row.id,
                )
                return row.id
        for row in rows:
            if (row.display_name or "").casefold() != wanted.casefold() or not row.id:
                continue
            if isinstance(record, Customer) and same_party(record, row):
                log.info(
                    "customer %s: %r already exists in QuickBooks with the same e-mail or tax id; "
                    "linked to it (Id %s)",
                    pending.request.ledgerlink_id,
                    wanted,
                    row.id,
                )
                return row.id
        return None

    def inactive_references(self, items: Sequence[tuple[Pending, Fault]], fixed: Fixed) -> None:
        """610 on an invoice: find the inactive customer or item; reactivate it if allowed."""
        customers = {self._customer_of(p) for p, _ in items}
        item_ids = {i for p, _ in items for i in self._items_of(p)}
        found = {
            "Customer": load_current(self._api, "Customer", customers),
            "Item": load_current(self._api, "Item", item_ids),
        }
        inactive = {
            (entity, ident): row
            for entity, rows in found.items()
            for ident, row in rows.items()
            if row.get("Active") is False
        }
        faults: dict[tuple[str, str], Fault | None] = {}
        if inactive and self._config.reactivate_inactive:
            for entity in ("Customer", "Item"):
                rows = [row for (e, _), row in inactive.items() if e == entity]
                for ident, fault in reactivate(self._api, entity, rows).items():
                    faults[(entity, ident)] = fault
                    if fault is None:
                        log.info("reactivated inactive QuickBooks %s %s", entity.lower(), ident)
        for pending, fault in items:
            refs = [("Customer", self._customer_of(pending))] + [
                ("Item", i) for i in self._items_of(pending)
            ]
            blocked = [ref for ref in refs if ref in inactive]
            if not blocked:
                fixed.fail(pending, pending.error(fault))
            elif all(ref in faults and faults[ref] is None for ref in blocked):
                fixed.retry.append(replace(pending, variant=f"{pending.variant}reactivated;"))
            else:
                names = ", ".join(self._describe(e, inactive[(e, i)]) for e, i in blocked)
                fixed.fail(
                    pending,
                    RecordError(
                        f"it refers to {names}, inactive in QuickBooks",
                        hint="Make it active in QuickBooks, or set `reactivate_inactive: true` on "
                        "the connection",
                        context=pending.context("610"),
                    ),
                )

    @staticmethod
    def _describe(entity: str, row: dict[str, Any]) -> str:
        name = row.get("DisplayName") or row.get("Name") or row.get("Id")
        return f"the {entity.lower()} {name!r}"

    @staticmethod
    def _customer_of(pending: Pending) -> str:
        return str((pending.body.get("CustomerRef") or {}).get("value") or "")

    @staticmethod
    def _items_of(pending: Pending) -> list[str]:
        found: list[str] = []
        for line in pending.body.get("Line") or []:
            ref = (line.get("SalesItemLineDetail") or {}).get("ItemRef") or {}
            if ref.get("value"):
                found.append(str(ref["value"]))
        return found
