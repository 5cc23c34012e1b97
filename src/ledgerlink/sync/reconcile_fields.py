"""Field by field: how a record in the books differs from what the mapped CRM record says."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ledgerlink.canonical.normalise import email_key, tax_id_key
from ledgerlink.canonical.records import Address, Customer, Invoice, Payment, Record
from ledgerlink.sync.reconcile_report import FieldDiff

_ADDRESS_PARTS = ("street", "city", "region", "postal_code", "country")

# Customer fields compared, with the label reports show. ``kind`` is left out on purpose: several
# books only infer person/company from other fields, so it would drift where nothing changed.
CUSTOMER_FIELDS: tuple[tuple[str, str], ...] = (
    ("display_name", "name"),
    ("given_name", "given name"),
    ("family_name", "family name"),
    ("company", "company"),
    ("email", "e-mail"),
    ("other_emails", "other e-mails"),
    ("phone", "phone"),
    ("billing_address", "billing address"),
    ("tax_id", "tax id"),
    ("currency", "currency"),
    ("payment_terms_days", "payment terms (days)"),
    ("credit_limit", "credit limit"),
    ("notes", "notes"),
    ("active", "active"),
)

# Invoice fields compared plainly; the customer, dates, number and status have their own rules.
INVOICE_FIELDS: tuple[tuple[str, str], ...] = (
    ("currency", "currency"),
    ("total", "total"),
    ("tax_total", "tax"),
    ("memo", "memo"),
)

_STATUS_RANK = {"draft": 0, "issued": 1, "paid": 2}


def text(value: object) -> str:
    """A value as reports show it: Decimals exactly, dates ISO, addresses as one line."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Address):
        return ", ".join(getattr(value, part) for part in _ADDRESS_PARTS if getattr(value, part))
    if isinstance(value, tuple):
        return ", ".join(text(v) for v in value)
    return str(value)


def _comparable(name: str, value: Any) -> Any:
    """The form two values are compared in: equal when a person would call them the same."""
    if value is None or value in ("", ()):
        return None
    if isinstance(value, Decimal | bool | int | date):
        return value  # Decimals compare exactly (1440.00 == 1440.0), never through float
    if isinstance(value, Address):
        parts = tuple(getattr(value, part).strip().casefold() for part in _ADDRESS_PARTS)
        return parts if any(parts) else None
    if name in ("email", "other_emails"):
        items = value if isinstance(value, tuple) else (value,)
        return tuple(sorted(email_key(str(v)) for v in items)) or None
    if name == "tax_id":
        return tax_id_key(str(value)) or None
    return " ".join(str(value).split()) or None


def _empty(name: str, value: Any) -> bool:
    return not isinstance(value, bool) and _comparable(name, value) is None


def reported_fields(records: Iterable[Record], fields: Sequence[tuple[str, str]]) -> frozenset[str]:
    """The fields the books hold a value in for at least one record.

    A field the books never report (QuickBooks keeps no payment terms on a customer, say) is one
    they cannot store, so comparing it would report every record as drifting.
    """
    names = {name for name, _ in fields}
    found: set[str] = set()
    for record in records:
        for name in names - found:
            if not _empty(name, getattr(record, name, None)):
                found.add(name)
        if found == names:
            break
    return frozenset(found)


def _plain(
    books: Record, desired: Record, fields: Sequence[tuple[str, str]], reported: frozenset[str]
) -> list[FieldDiff]:
    diffs = []
    for name, label in fields:
        if name not in reported:
            continue
        have, want = getattr(books, name), getattr(desired, name)
        if _comparable(name, have) != _comparable(name, want):
            diffs.append(FieldDiff(label, text(have), text(want)))
    return diffs


def customer_diffs(
    books: Customer, desired: Customer, reported: frozenset[str]
) -> tuple[FieldDiff, ...]:
    """The customer fields that differ (only those the books can hold)."""
    return tuple(_plain(books, desired, CUSTOMER_FIELDS, reported))


@dataclass(frozen=True, slots=True)
class InvoiceCompare:
    """What comparing one invoice found: drift, and payments recorded in the books."""

    drift: tuple[FieldDiff, ...]
    paid: tuple[FieldDiff, ...]


def invoice_diffs(
    books: Invoice,
    desired: Invoice,
    *,
    dated: bool,
    customer_id: str | None,
    reported: frozenset[str],
    balance: Decimal | None,
) -> InvoiceCompare:
    """Compare an invoice: customer, amounts, dates, number, and status with its balance.

    ``dated`` is False when the issue date came from the day of the sync (the deal had no close
    date): then the issue date is not compared, and the due date is compared as the same number
    of days after the books' issue date. ``customer_id`` is the books' id of the customer the
    deal's contact was paired with (``None`` when it is not in the books: that customer's own
    finding says so). ``balance`` is what the books say is still owed, when they report it.
    """
    diffs: list[FieldDiff] = []
    if customer_id is not None and customer_id != books.customer_key:
        diffs.append(FieldDiff("customer", books.customer_key, customer_id))
    diffs.extend(_plain(books, desired, INVOICE_FIELDS, reported))
    if dated and books.issue_date != desired.issue_date:
        diffs.append(FieldDiff("issue date", text(books.issue_date), text(desired.issue_date)))
    due = desired.due_date
    if due is not None and not dated:
        due = books.issue_date + (due - desired.issue_date)
    if "due_date" in reported and due != books.due_date:
        diffs.append(FieldDiff("due date", text(books.due_date), text(due)))
    if desired.number.strip() and desired.number.strip() != books.number.strip():
        diffs.append(FieldDiff("number", books.number, desired.number))
    status, paid = _status(books, desired, balance)
    return InvoiceCompare(tuple(diffs + status), tuple(paid))


def _status(
    books: Invoice, desired: Invoice, balance: Decimal | None
) -> tuple[list[FieldDiff], list[FieldDiff]]:
    """Status drift, and the payments the books record (information, not drift).

    Voided on one side only is drift; so is the books being behind the CRM (a draft the CRM says
    is issued, an invoice the CRM says is paid that the books still show owing). The books being
    ahead (paid, or part-paid) is how an invoice's life goes on: reported, not drift.
    """
    have, want = books.status, desired.status
    owing = (
        balance if balance is not None else (books.total - books.total if have == "paid" else None)
    )
    balance_diff = FieldDiff("balance", text(owing), text(books.total - books.total))
    if have == "void" or want == "void":
        return ([FieldDiff("status", have, want)] if have != want else []), []
    if _STATUS_RANK[have] < _STATUS_RANK[want]:
        drift = [FieldDiff("status", have, want)]
        if want == "paid" and owing is not None:
            drift.append(balance_diff)
        return drift, []
    part_paid = owing is not None and owing < books.total
    if want != "paid" and (have == "paid" or part_paid):
        shown = "paid" if have == "paid" else "part-paid"
        return [], [
            FieldDiff("status", shown, want),
            FieldDiff("balance", text(owing), text(desired.total)),
        ]
    return [], []


def paid_towards(
    payments: Mapping[str, Sequence[Payment]],
) -> Callable[[str, Invoice], Decimal]:
    """A function giving what the books' payments settle of an invoice (by id or number)."""

    def settled(target_id: str, invoice: Invoice) -> Decimal:
        refs = {target_id, invoice.number.strip()} - {""}
        total = Decimal(0)
        for ref in refs:
            for payment in payments.get(ref, ()):
                same_customer = not payment.customer_ref or payment.customer_ref == (
                    invoice.customer_key
                )
                if payment.currency == invoice.currency and same_customer:
                    total += payment.amount
        return total

    return settled
