"""The three-way merge of a two-way pipe: the last agreed record against both sides' current ones.

The *base* is the link's snapshot: what both systems held after the last sync. A side whose value
differs from the base changed it. Per field:

- ``owner: crm`` / ``owner: books``: the owner's value wins; the other side is corrected.
- shared: a change on one side flows to the other; the same change on both is agreement; different
  changes on both are a conflict, settled by the pipe's policy or queued (``manual``).
- fields a two-way pipe does not compare (invoice lines, a customer's ``active`` flag) follow the
  CRM forward only, as on a one-way pipe, and changes to them in the books are left alone.

Echo suppression falls out of the base: once ledgerlink has written a value to one side, the
snapshot holds it, so reading that value back is no change at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

Policy = Literal["source-wins", "target-wins", "newest-wins", "manual"]
Owner = Literal["crm", "books", "shared"]


@dataclass(frozen=True, slots=True)
class Side:
    """One system's current record (as target JSON) and when it last changed, if known."""

    values: dict[str, Any]
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FieldConflict:
    """A shared field both sides changed differently since the last sync."""

    field: str
    base: Any
    crm: Any
    books: Any


@dataclass(slots=True)
class Merge:
    """What both systems should hold, and what each must be told to get there."""

    merged: dict[str, Any]
    to_books: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    to_crm: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    conflicts: list[FieldConflict] = field(default_factory=list)
    settled: list[tuple[FieldConflict, str]] = field(default_factory=list)
    agreed: list[str] = field(default_factory=list)


def merge(
    base: Mapping[str, Any],
    crm: Side | None,
    books: Side | None,
    owners: Mapping[str, Owner],
    policy: Policy,
    *,
    waiting: Mapping[str, Any] | None = None,
) -> Merge:
    """Merge one record; ``None`` for a side means it did not change since the last sync.

    A side's ``values`` may leave fields out (a system that cannot read them back): those count
    as unchanged on that side. ``waiting`` maps fields with a conflict already queued to the
    base value recorded with it: they stay as they are on both sides until a person decides.
    """
    waiting = waiting or {}
    crm_values = {**base, **crm.values} if crm is not None else dict(base)
    books_values = {**base, **books.values} if books is not None else dict(base)
    merged = dict(crm_values)
    result = Merge(merged)
    for name in set(base) | set(crm_values):
        if name in owners:
            continue
        # not compared: the CRM's value goes forward, the books' own edits are left alone
        if crm is not None and crm_values.get(name) != base.get(name):
            result.to_books[name] = (base.get(name), crm_values.get(name))
    for name, owner in owners.items():
        before = base.get(name)
        crm_value = crm_values.get(name)
        books_value = books_values.get(name)
        if name in waiting:
            if same(name, crm_value, books_value):  # both sides now agree: nothing left to decide
                merged[name] = books_value
                result.agreed.append(name)
                continue
            result.conflicts.append(FieldConflict(name, waiting[name], crm_value, books_value))
        value = (
            books_value
            if name in waiting
            else _decide(
                FieldConflict(name, before, crm_value, books_value),
                owner,
                crm=crm,
                books=books,
                policy=policy,
                result=result,
            )
        )
        if result.conflicts and result.conflicts[-1].field == name:
            # queued: each side keeps its value until a person decides; the books' value goes
            # into the agreed record so that a whole-record write never overwrites it
            merged[name] = books_value
            continue
        merged[name] = value
        if not same(name, books_value, value):
            result.to_books[name] = (books_value, value)
        if not same(name, crm_value, value):
            result.to_crm[name] = (crm_value, value)
    return result


def _decide(
    values: FieldConflict,
    owner: Owner,
    *,
    crm: Side | None,
    books: Side | None,
    policy: Policy,
    result: Merge,
) -> Any:
    """The value of one field after the merge; ``values`` holds the base and both sides."""
    if owner == "crm":
        return values.crm
    if owner == "books":
        return values.books
    name = values.field
    if same(name, values.books, values.base):
        return values.crm
    if same(name, values.crm, values.base) or same(name, values.crm, values.books):
        return values.books
    winner = _winner(policy, crm, books)
    if winner is None:
        result.conflicts.append(values)
        return values.base
    result.settled.append((values, winner))
    return values.crm if winner == "crm" else values.books


def _winner(policy: Policy, crm: Side | None, books: Side | None) -> str | None:
    if policy == "source-wins":
        return "crm"
    if policy == "target-wins":
        return "books"
    if policy == "newest-wins":
        crm_at = crm.updated_at if crm else None
        books_at = books.updated_at if books else None
        if crm_at is None or books_at is None or crm_at == books_at:
            return None  # no trustworthy clock: a person decides
        return "crm" if crm_at > books_at else "books"
    return None


_NOT_DIGITS = re.compile(r"\D")
_AMOUNTS = frozenset({"credit_limit", "balance"})


def same(name: str, a: Any, b: Any) -> bool:
    """Whether two values of a compared field say the same thing.

    Systems keep what they were given in their own shape: one stores ``+1 415 555 0142`` and
    reads back ``+14155550142``, another upper-cases e-mail domains. Counting those as edits
    would send the value back and forth once more; so phones compare by their digits (a missing
    country code of up to three digits aside), e-mails without case, text without runs of
    spaces, amounts by value (``10.0`` is ``10.00``), and empty text equals no value.
    """
    if a == b:
        return True
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return all(same(key, a.get(key), b.get(key)) for key in set(a) | set(b))
    if not (isinstance(a, str) and isinstance(b, str)):
        return False
    if name in _AMOUNTS:
        return _same_amount(a, b)
    if name == "phone":
        return _same_phone(a, b)
    if name == "email":
        return a.strip().casefold() == b.strip().casefold()
    return " ".join(a.split()) == " ".join(b.split())


def _same_phone(a: str, b: str) -> bool:
    short, long = sorted((_NOT_DIGITS.sub("", a), _NOT_DIGITS.sub("", b)), key=len)
    if len(short) < 7:  # shorter than any subscriber number: compare as typed
        return short == long
    return long.endswith(short) and len(long) - len(short) <= 3  # a country code


def _same_amount(a: str, b: str) -> bool:
    try:
        return Decimal(a) == Decimal(b)
    except InvalidOperation:
        return a == b
