"""Canonical customers, invoices and payments to Beancount directives, and back again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ledgerlink.canonical.money import currency as lookup_currency
from ledgerlink.canonical.records import (
    Address,
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    TaxLine,
)
from ledgerlink.connectors.beancount.index import (
    LEDGERLINK_KEY,
    VOID_TAG,
    CustomerEntry,
    InvoiceEntry,
    PaymentEntry,
    meta_str,
)
from ledgerlink.connectors.beancount.names import segment_to_name
from ledgerlink.connectors.beancount.render import (
    Meta,
    MetaValue,
    OpenSpec,
    PostingSpec,
    TransactionSpec,
)
from ledgerlink.errors import RecordError

_ADDRESS_KEYS = ("street", "city", "region", "postal_code", "country")
CUSTOMER_KEYS = frozenset(
    (
        *(LEDGERLINK_KEY, "name", "kind", "given_name", "family_name", "company", "email"),
        *("other_emails", "phone", "tax_id", "payment_terms_days", "credit_limit", "notes"),
        *_ADDRESS_KEYS,
    )
)
INVOICE_KEYS = frozenset((LEDGERLINK_KEY, "invoice_number", "due_date", "memo"))
_FIELD_KEYS = {"display_name": ("name",), "billing_address": _ADDRESS_KEYS}


def customer_keys_for(changed_fields: tuple[str, ...]) -> frozenset[str]:
    """The metadata keys an update rewrites: those of the changed fields, or all when unknown.

    Keys of fields that did not change keep what the ledger holds, so a person's correction of
    another field in the ledger survives.
    """
    if not changed_fields:
        return CUSTOMER_KEYS
    keys = {LEDGERLINK_KEY}
    for name in changed_fields:
        base = name.split(".", 1)[0]
        keys.update(_FIELD_KEYS.get(base, (base,) if base in CUSTOMER_KEYS else ()))
    return frozenset(keys)


def _meta(*items: tuple[str, MetaValue | None]) -> Meta:
    """Metadata without the empty values."""
    return tuple((k, v) for k, v in items if v is not None and v != "")


def customer_currency(customer: Customer) -> str:
    """The customer's currency code, validated ("" when the customer has none)."""
    return lookup_currency(customer.currency).code if customer.currency.strip() else ""


def customer_open(customer: Customer, account: str, ledgerlink_id: str, when: date) -> OpenSpec:
    """The ``open`` directive of a customer account, with the customer's details as metadata."""
    code = customer_currency(customer)
    address = customer.billing_address or Address()
    return OpenSpec(
        date=when,
        account=account,
        currencies=(code,) if code else (),
        meta=_meta(
            (LEDGERLINK_KEY, ledgerlink_id),
            ("name", customer.display_name),
            ("kind", customer.kind),
            ("given_name", customer.given_name),
            ("family_name", customer.family_name),
            ("company", customer.company),
            ("email", customer.email),
            ("other_emails", ", ".join(customer.other_emails)),
            ("phone", customer.phone),
            *((key, getattr(address, key)) for key in _ADDRESS_KEYS),
            ("tax_id", customer.tax_id),
            ("payment_terms_days", customer.payment_terms_days),
            ("credit_limit", customer.credit_limit),
            ("notes", customer.notes),
        ),
    )


def _decimal(meta: dict[str, Any], key: str, default: Decimal | None = None) -> Decimal | None:
    value = meta.get(key, default)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return default
    return default


def _number(meta: dict[str, Any], key: str, default: Decimal) -> Decimal:
    found = _decimal(meta, key, default)
    return default if found is None else found


def entry_customer(entry: CustomerEntry) -> Customer:
    """The customer an account stands for; a hand-made account gets its name from the account."""
    meta = entry.open.meta or {}
    address = Address(**{key: meta_str(meta, key) for key in _ADDRESS_KEYS})
    terms = _decimal(meta, "payment_terms_days")
    kind = meta_str(meta, "kind")
    currencies = entry.open.currencies or []
    others = [e.strip() for e in meta_str(meta, "other_emails").split(",") if e.strip()]
    return Customer(
        display_name=meta_str(meta, "name") or segment_to_name(entry.account.rsplit(":", 1)[-1]),
        kind="person" if kind == "person" else "company",
        given_name=meta_str(meta, "given_name"),
        family_name=meta_str(meta, "family_name"),
        company=meta_str(meta, "company"),
        email=meta_str(meta, "email"),
        other_emails=tuple(others),
        phone=meta_str(meta, "phone"),
        billing_address=None if address.is_empty() else address,
        tax_id=meta_str(meta, "tax_id"),
        currency=currencies[0] if len(currencies) == 1 else "",
        payment_terms_days=int(terms)
        if terms is not None and terms == terms.to_integral()
        else None,
        credit_limit=_decimal(meta, "credit_limit"),
        notes=meta_str(meta, "notes"),
        active=entry.close is None,
    )


@dataclass(frozen=True, slots=True)
class InvoiceAccounts:
    """Where invoice postings go."""

    income: str
    tax: str
    items: dict[str, str]
    default_currency: str


def _exact(value: Decimal, quantum: Decimal, code: str, what: str) -> Decimal:
    if value.quantize(quantum) != value:
        raise RecordError(
            f"{what} {value} has more decimals than {code} allows",
            hint="round the amounts to the currency's minor unit before writing",
        )
    return value


def _check_totals(invoice: Invoice, quantum: Decimal, code: str) -> None:
    for line in invoice.lines:
        _exact(line.amount, quantum, code, f"line {line.description!r} amount")
    for tax in invoice.tax_lines:
        _exact(tax.amount, quantum, code, "tax amount")
    _exact(invoice.total, quantum, code, "total")
    subtotal = sum((line.amount for line in invoice.lines), Decimal(0))
    tax_total = sum((tax.amount for tax in invoice.tax_lines), Decimal(0))
    if subtotal + tax_total != invoice.total or (subtotal, tax_total) != (
        invoice.subtotal,
        invoice.tax_total,
    ):
        raise RecordError(
            f"invoice does not add up: lines {subtotal} + tax {tax_total} against subtotal "
            f"{invoice.subtotal} + tax total {invoice.tax_total} = total {invoice.total}",
            hint="the books must balance exactly; check the deal's lines and tax in the CRM",
        )


def _unless_plain_zero(value: Decimal) -> Decimal | None:
    """Leave out a default ``0``, but keep ``0.00``: it reads back with the same digits."""
    return None if str(value) == "0" else value


def invoice_transaction(
    invoice: Invoice,
    *,
    ledgerlink_id: str,
    link: str,
    customer_account: str,
    payee: str,
    accounts: InvoiceAccounts,
) -> TransactionSpec:
    """The balanced transaction of an invoice: receivable +total, income per line, tax per rate."""
    code = lookup_currency(invoice.currency or accounts.default_currency).code
    quantum = lookup_currency(code).quantum
    _check_totals(invoice, quantum, code)
    postings = [PostingSpec(customer_account, invoice.total, code)]
    for line in invoice.lines:
        meta = _meta(
            ("description", line.description),
            ("sku", line.sku),
            ("quantity", line.quantity),
            ("unit_price", line.unit_price),
            ("discount_percent", _unless_plain_zero(line.discount_percent)),
            ("tax_rate", _unless_plain_zero(line.tax_rate)),
            ("tax_amount", _unless_plain_zero(line.tax_amount)),
        )
        account = accounts.items.get(line.sku, accounts.income) if line.sku else accounts.income
        postings.append(PostingSpec(account, -line.amount, code, meta))
    for tax in invoice.tax_lines:
        meta = _meta(("tax_name", tax.name), ("rate", tax.rate), ("taxable", tax.taxable))
        postings.append(PostingSpec(accounts.tax, -tax.amount, code, meta))
    number = invoice.number.strip()
    return TransactionSpec(
        date=invoice.issue_date,
        flag="!" if invoice.status == "draft" else "*",
        payee=payee,
        narration=f"Invoice {number or link}",
        links=(link,),
        meta=_meta(
            (LEDGERLINK_KEY, ledgerlink_id),
            ("invoice_number", number),
            ("due_date", invoice.due_date),
            ("memo", invoice.memo),
        ),
        postings=tuple(postings),
    )


def void_transaction(entry: InvoiceEntry, ledgerlink_id: str, when: date) -> TransactionSpec:
    """The reversal of an invoice: every posting negated, tagged ``#void``, same link."""
    txn = entry.txn
    postings = tuple(
        PostingSpec(p.account, -p.units.number, p.units.currency)
        for p in txn.postings
        if p.units is not None
    )
    return TransactionSpec(
        date=max(when, txn.date),
        payee=txn.payee or "",
        narration=f"Void: {txn.narration or entry.link}",
        links=(entry.link,),
        tags=(VOID_TAG,),
        meta=_meta((LEDGERLINK_KEY, ledgerlink_id or entry.ledgerlink_id)),
        postings=postings,
    )


def entry_invoice(entry: InvoiceEntry, tax_account: str) -> Invoice:
    """The invoice a transaction stands for, with its status read from the ledger."""
    txn = entry.txn
    lines: list[InvoiceLine] = []
    taxes: list[TaxLine] = []
    fallback_description = "" if entry.ledgerlink_id else txn.narration or ""
    for posting in txn.postings:
        if posting.account == entry.account or posting.units is None:
            continue
        meta = posting.meta or {}
        amount = -posting.units.number
        if posting.account == tax_account or "taxable" in meta:
            taxes.append(
                TaxLine(
                    rate=_number(meta, "rate", Decimal(0)),
                    taxable=_number(meta, "taxable", Decimal(0)),
                    amount=amount,
                    name=meta_str(meta, "tax_name"),
                )
            )
            continue
        lines.append(
            InvoiceLine(
                description=meta_str(meta, "description") or fallback_description,
                quantity=_number(meta, "quantity", Decimal(1)),
                unit_price=_number(meta, "unit_price", amount),
                amount=amount,
                sku=meta_str(meta, "sku"),
                discount_percent=_number(meta, "discount_percent", Decimal(0)),
                tax_rate=_number(meta, "tax_rate", Decimal(0)),
                tax_amount=_number(meta, "tax_amount", Decimal(0)),
            )
        )
    due = (txn.meta or {}).get("due_date")
    return Invoice(
        customer_key=entry.account,
        currency=entry.currency,
        issue_date=txn.date,
        lines=tuple(lines),
        tax_lines=tuple(taxes),
        subtotal=sum((line.amount for line in lines), Decimal(0)),
        tax_total=sum((tax.amount for tax in taxes), Decimal(0)),
        total=entry.total,
        due_date=due if isinstance(due, date) else None,
        number=meta_str(txn.meta, "invoice_number") or entry.link,
        status=invoice_status(entry),
        memo=meta_str(txn.meta, "memo"),
    )


def invoice_status(entry: InvoiceEntry) -> InvoiceStatus:
    """void when reversed, paid when payments sharing its link settle a positive total, draft
    when flagged ``!``, issued otherwise."""
    if entry.void is not None:
        return "void"
    if entry.total > 0 and entry.outstanding <= 0:
        return "paid"
    return "draft" if entry.txn.flag == "!" else "issued"


def entry_payment(entry: PaymentEntry) -> Payment:
    """A payment a person recorded against a customer's receivable account."""
    txn, posting = entry.txn, entry.posting
    return Payment(
        invoice_ref=entry.invoice_ref,
        amount=-posting.units.number,
        currency=posting.units.currency,
        paid_on=txn.date,
        reference=meta_str(txn.meta, "reference") or txn.narration or "",
        customer_ref=posting.account,
    )
