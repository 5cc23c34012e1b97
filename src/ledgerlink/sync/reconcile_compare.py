"""Pair what the CRM says the books should hold with what they hold, and say what disagrees."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from ledgerlink.canonical.records import Customer, Invoice, Record, TargetRecord
from ledgerlink.matching.match import MatchIndex
from ledgerlink.planning.plan import ledgerlink_id
from ledgerlink.sync.reconcile_fields import (
    CUSTOMER_FIELDS,
    INVOICE_FIELDS,
    customer_diffs,
    invoice_diffs,
    reported_fields,
    text,
)
from ledgerlink.sync.reconcile_report import FieldDiff, Finding, PipeReconcile

#: What the books' payments settle of an invoice: ``(target id, invoice) -> amount``.
Settled = Callable[[str, Invoice], Decimal]


class LinkView(Protocol):
    """What the comparison needs of a link (``state.records.Link`` provides it)."""

    @property
    def target_id(self) -> str: ...

    @property
    def ledgerlink_id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Desired:
    """A CRM record in the pipe's scope, mapped to the record the books should hold.

    ``dated`` is False for an invoice whose issue date is the day it was mapped (a deal without a
    close date): then only the payment terms of its due date can be compared.
    """

    key: str
    record: Record
    location: str = ""
    dated: bool = True


@dataclass(slots=True)
class PipeSides:
    """Both sides of one pipe, read and mapped: everything ``compare_pipe`` needs."""

    pipe: str
    source: str
    target: str
    desired: Sequence[Desired]
    existing: Sequence[TargetRecord]
    links: Mapping[str, LinkView]
    out_of_scope: frozenset[str] = frozenset()
    unreadable: frozenset[str] = frozenset()
    customer_ids: Mapping[str, str] = field(default_factory=dict)
    settled: Settled | None = None


@dataclass(slots=True)
class PipeComparison:
    """The pipe's findings, and which books record each CRM record was paired with."""

    result: PipeReconcile
    pairs: dict[str, str]


def compare_pipe(sides: PipeSides) -> PipeComparison:
    """Join both sides (links, then ledgerlink's stamp, then natural keys) and compare each pair.

    Missing: in the CRM and in scope, but not in the books. Extra: active in the books, but paired
    with nothing in scope. Differs: paired, with fields that disagree. Nothing is written anywhere.
    """
    result = PipeReconcile(
        sides.pipe,
        sides.source,
        sides.target,
        in_source=len(sides.desired),
        skipped=len(sides.out_of_scope),
        failed=len(sides.unreadable),
        in_books=len(sides.existing),
    )
    joiner = _Joiner(sides)
    compare = _Comparer(sides)
    pairs: dict[str, str] = {}
    for desired in sides.desired:
        target_id, reason = joiner.pair(desired)
        if target_id is None:
            result.findings.append(_missing(sides.pipe, desired, reason))
            continue
        pairs[desired.key] = target_id
        result.matched += 1
        result.findings.extend(compare.findings(desired, joiner.by_id[target_id]))
    claimed = set(pairs.values()) | {
        link.target_id for key, link in sides.links.items() if key in sides.unreadable
    }
    linked_to = {link.target_id: key for key, link in sides.links.items()}
    for existing in sides.existing:
        if existing.target_id not in claimed and _active(existing.record):
            result.findings.append(_extra(sides, existing, linked_to.get(existing.target_id)))
    return PipeComparison(result, pairs)


class _Joiner:
    """Finds the books record a CRM record is: its link, ledgerlink's stamp, its natural keys."""

    def __init__(self, sides: PipeSides) -> None:
        self.sides = sides
        self.by_id = {t.target_id: t for t in sides.existing}
        self._by_stamp = {t.ledgerlink_id: t.target_id for t in sides.existing if t.ledgerlink_id}
        self._index: MatchIndex | None = None

    def pair(self, desired: Desired) -> tuple[str | None, str]:
        """The books id of ``desired``, or ``None`` and why it has none."""
        link = self.sides.links.get(desired.key)
        if link is not None:
            if link.target_id in self.by_id:
                return link.target_id, ""
            moved = self._by_stamp.get(link.ledgerlink_id)
            if moved is not None:
                return moved, ""
            return None, f"linked to {link.target_id}, which is no longer in the books"
        stamped = self._by_stamp.get(ledgerlink_id(self.sides.pipe, desired.key))
        if stamped is not None:
            return stamped, ""
        if self._index is None:
            self._index = MatchIndex.of(self.sides.existing)
        match = self._index.find(desired.record)
        if match.target_id is not None:
            return match.target_id, ""
        if match.ambiguous:
            candidates = ", ".join(match.candidates)
            return None, f"not linked, and {match.reason} in the books ({candidates})"
        return None, "not in the books"


class _Comparer:
    """Compares paired records field by field."""

    def __init__(self, sides: PipeSides) -> None:
        self.sides = sides
        records = [t.record for t in sides.existing]
        self._customer_fields = reported_fields(records, CUSTOMER_FIELDS)
        self._invoice_fields = reported_fields(records, (*INVOICE_FIELDS, ("due_date", "")))

    def findings(self, desired: Desired, books: TargetRecord) -> list[Finding]:
        """The findings of one pair: none when it agrees."""
        want, have = desired.record, books.record
        base = Finding(
            self.sides.pipe,
            "differs",
            _name(want),
            desired.key,
            books.target_id,
            desired.location,
        )
        if isinstance(want, Customer) and isinstance(have, Customer):
            diffs = customer_diffs(have, want, self._customer_fields)
            return [_with(base, diffs)] if diffs else []
        if isinstance(want, Invoice) and isinstance(have, Invoice):
            return self._invoice(base, desired, books.target_id, want, have)
        kind = type(have).__name__.lower()
        return [_with(base, (FieldDiff("record", kind, type(want).__name__.lower()),))]

    def _invoice(
        self, base: Finding, desired: Desired, target_id: str, want: Invoice, have: Invoice
    ) -> list[Finding]:
        settled = self.sides.settled
        balance = have.total - settled(target_id, have) if settled is not None else None
        compared = invoice_diffs(
            have,
            want,
            dated=desired.dated,
            customer_id=self.sides.customer_ids.get(want.customer_key),
            reported=self._invoice_fields,
            balance=balance,
        )
        found = []
        if compared.drift:
            found.append(_with(base, compared.drift))
        if compared.paid:
            paid = Finding(
                base.pipe,
                "paid",
                base.name,
                base.source_key,
                base.target_id,
                base.location,
                reason="the books record payment(s); the CRM has no field for them",
                fields=compared.paid,
            )
            found.append(paid)
        return found


def _with(base: Finding, diffs: tuple[FieldDiff, ...]) -> Finding:
    return Finding(
        base.pipe,
        base.kind,
        base.name,
        base.source_key,
        base.target_id,
        base.location,
        reason=", ".join(d.field for d in diffs) + " differ"
        if len(diffs) > 1
        else f"{diffs[0].field} differs",
        fields=diffs,
    )


def _name(record: Record) -> str:
    """What a person recognises a record by."""
    if isinstance(record, Customer):
        return record.display_name
    if isinstance(record, Invoice):
        label = record.number.strip() or record.memo
        return f"{label} ({text(record.total)} {record.currency})"
    return type(record).__name__


def _active(record: Record) -> bool:
    """Closed customers and voided invoices in the books agree with a CRM that has none."""
    if isinstance(record, Customer):
        return record.active
    if isinstance(record, Invoice):
        return record.status != "void"
    return True


def _missing(pipe: str, desired: Desired, reason: str) -> Finding:
    return Finding(
        pipe, "missing", _name(desired.record), desired.key, "", desired.location, reason
    )


def _extra(sides: PipeSides, existing: TargetRecord, linked: str | None) -> Finding:
    if linked is None:
        reason = f"nothing in {sides.source} is linked to it or matches it"
    elif linked in sides.out_of_scope:
        reason = f"linked to {linked}, which the pipe's filter leaves out"
    else:
        reason = f"linked to {linked}, which is no longer in {sides.source}"
    return Finding(
        sides.pipe,
        "extra",
        _name(existing.record),
        linked or "",
        existing.target_id,
        reason=reason,
    )
