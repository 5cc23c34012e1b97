"""Canonical customers, invoices and payments ⇄ QuickBooks Online payloads; pure functions only."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ledgerlink.canonical.money import currency as lookup_currency
from ledgerlink.canonical.money import quantize
from ledgerlink.canonical.records import (
    Address,
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    TaxLine,
)
from ledgerlink.connectors.quickbooks.dto import (
    CustomerDto,
    EmailAddress,
    InvoiceDto,
    Line,
    Memo,
    PaymentDto,
    Phone,
    PhysicalAddress,
    Ref,
    SalesItemLineDetail,
    TxnTaxDetail,
)
from ledgerlink.errors import RecordError

# ledgerlink's id is stamped on what it creates: in a customer's ``Notes`` and an invoice's
# ``PrivateNote`` (both free text QuickBooks keeps and returns; neither is shown to the customer).
_STAMP = re.compile(r"\s*\[ledgerlink:(?P<id>[^\]\s]+)\]\s*$")
NOTES_MAX = 2000
PRIVATE_NOTE_MAX = 4000
DISPLAY_NAME_MAX = 500
DOC_NUMBER_MAX = 21
ITEM_NAME_MAX = 100

# Canonical customer field -> the QuickBooks fields a sparse update of it sends.
CUSTOMER_FIELDS: dict[str, str] = {
    "display_name": "display_name",
    "given_name": "given_name",
    "family_name": "family_name",
    "company": "company_name",
    "email": "primary_email",
    "phone": "primary_phone",
    "billing_address": "bill_address",
    "tax_id": "tax_identifier",
    "currency": "currency",
    "notes": "notes",
    "active": "active",
}
INVOICE_FIELDS: dict[str, tuple[str, ...]] = {
    "customer_key": ("customer",),
    "currency": ("currency",),
    "issue_date": ("txn_date",),
    "due_date": ("due_date",),
    "number": ("doc_number",),
    "memo": ("customer_memo",),
    "lines": ("lines", "tax"),
    "tax_lines": ("lines", "tax"),
    "subtotal": ("lines", "tax"),
    "tax_total": ("lines", "tax"),
    "total": ("lines", "tax"),
    "tax_mode": ("lines", "tax"),
}


@dataclass(frozen=True, slots=True)
class TaxCodes:
    """The company's tax codes, as configured: per taxed line, per untaxed line, per document."""

    taxed: str | None = None
    exempt: str | None = None
    document: str | None = None


def compact(body: dict[str, Any]) -> dict[str, Any]:
    """A create body without empty values: QuickBooks validates an empty e-mail or tax id."""
    kept: dict[str, Any] = {}
    for key, raw in body.items():
        value = compact(raw) if isinstance(raw, dict) else raw
        if value is None or value in ("", {}, []):
            continue
        kept[key] = value
    return kept


# -- the stamp ---------------------------------------------------------------------------------


def stamp_note(text: str, ledgerlink_id: str, limit: int) -> str:
    """``text`` with ledgerlink's marker at the end (replacing an old one), within ``limit``."""
    marker = f"[ledgerlink:{ledgerlink_id}]"
    body = _STAMP.sub("", text or "").rstrip()
    room = limit - len(marker) - 1
    if len(body) > room:
        body = body[: max(0, room - 1)].rstrip() + "…"
    return f"{body}\n{marker}" if body else marker


def read_stamp(text: str | None) -> tuple[str, str]:
    """The note without ledgerlink's marker, and the id in it ("" when there is none)."""
    match = _STAMP.search(text or "")
    if match is None:
        return text or "", ""
    return (text or "")[: match.start()].rstrip(), match["id"]


# -- customers ---------------------------------------------------------------------------------


def customer_fields(changed_fields: Collection[str]) -> tuple[str, ...]:
    """The DTO fields a sparse update sends for the changed canonical fields (all when unknown)."""
    if not changed_fields:
        return tuple(CUSTOMER_FIELDS.values())
    wanted = {
        CUSTOMER_FIELDS[f.split(".", 1)[0]]
        for f in changed_fields
        if f.split(".", 1)[0] in CUSTOMER_FIELDS
    }
    return tuple(name for name in CUSTOMER_FIELDS.values() if name in wanted)


def customer_to_dto(
    customer: Customer,
    ledgerlink_id: str,
    *,
    fields: Collection[str],
    default_currency: str,
    display_name: str | None = None,
) -> CustomerDto:
    """The customer fields named in ``fields`` (DTO names), with ledgerlink's stamp in Notes."""
    address = customer.billing_address or Address()
    name = (display_name or customer.display_name).strip()[:DISPLAY_NAME_MAX]
    values: dict[str, Any] = {
        "display_name": name,
        "given_name": customer.given_name,
        "family_name": customer.family_name,
        "company_name": customer.company,
        "primary_email": EmailAddress(address=customer.email),
        "primary_phone": Phone(free_form_number=customer.phone),
        "bill_address": PhysicalAddress(
            line1=address.street,
            city=address.city,
            country_sub_division_code=address.region,
            postal_code=address.postal_code,
            country=address.country,
        ),
        "tax_identifier": customer.tax_id,
        "currency": Ref(value=(customer.currency or default_currency).upper()),
        "notes": stamp_note(customer.notes, ledgerlink_id, NOTES_MAX),
        "active": customer.active,
    }
    return CustomerDto(**{k: v for k, v in values.items() if k in fields})


def customer_from_dto(dto: CustomerDto) -> tuple[Customer, str]:
    """The canonical customer and the ledgerlink id stamped on it ("" when none)."""
    notes, ledgerlink_id = read_stamp(dto.notes)
    address = dto.bill_address
    billing = (
        Address(
            street=address.line1 or "",
            city=address.city or "",
            region=address.country_sub_division_code or "",
            postal_code=address.postal_code or "",
            country=address.country or "",
        )
        if address is not None
        else None
    )
    person = bool(dto.given_name or dto.family_name) and not dto.company_name
    customer = Customer(
        display_name=dto.display_name or "",
        kind="person" if person else "company",
        given_name=dto.given_name or "",
        family_name=dto.family_name or "",
        company=dto.company_name or "",
        email=dto.primary_email.address if dto.primary_email else "",
        phone=dto.primary_phone.free_form_number if dto.primary_phone else "",
        billing_address=billing if billing is not None and not billing.is_empty() else None,
        tax_id=dto.tax_identifier or "",
        currency=dto.currency.value if dto.currency else "",
        notes=notes,
        active=dto.active is not False,
    )
    return customer, ledgerlink_id


# -- items ---------------------------------------------------------------------------------------


def item_name(line: InvoiceLine, default_item: str) -> str:
    """The name of the Item a line refers to: its SKU, else the configured default item.

    QuickBooks uses ``:`` to separate parent and sub-item names, so one in a SKU becomes ``-``.
    """
    return (line.sku.strip() or default_item).replace(":", "-")[:ITEM_NAME_MAX]


# -- invoices ------------------------------------------------------------------------------------


def invoice_fields(changed_fields: Collection[str]) -> tuple[str, ...]:
    """The DTO fields a sparse update sends for the changed canonical fields (all when unknown)."""
    names = changed_fields or INVOICE_FIELDS.keys()
    wanted: list[str] = []
    for name in names:
        for dto_field in INVOICE_FIELDS.get(name.split(".", 1)[0], ()):
            if dto_field not in wanted:
                wanted.append(dto_field)
    return tuple(wanted)


def _line(line: InvoiceLine, item: Ref, codes: TaxCodes, code_of_currency: str) -> Line:
    code = codes.taxed if line.tax_rate else codes.exempt
    detail: dict[str, Any] = {"item": item}
    # QuickBooks checks Amount == Qty × UnitPrice; a discounted line sends its net amount only.
    gross = quantize(line.quantity * line.unit_price, lookup_currency(code_of_currency))
    if gross == line.amount:
        detail.update(quantity=line.quantity, unit_price=line.unit_price)
    if code:
        detail["tax_code"] = Ref(value=code)
    return Line(
        detail_type="SalesItemLineDetail",
        amount=line.amount,
        description=line.description,
        sales_item=SalesItemLineDetail(**detail),
    )


def invoice_to_dto(
    invoice: Invoice,
    ledgerlink_id: str,
    *,
    fields: Collection[str],
    customer_id: str,
    items: Mapping[str, Ref],
    default_item: str,
    codes: TaxCodes,
) -> InvoiceDto:
    """The QuickBooks invoice fields named in ``fields``, ledgerlink's stamp in ``PrivateNote``.

    Raises ``RecordError`` for what QuickBooks would reject or silently lose: a document number
    longer than 21 characters, or tax with no tax code configured.
    """
    if len(invoice.number) > DOC_NUMBER_MAX:
        raise RecordError(
            f"invoice number {invoice.number!r} is longer than the {DOC_NUMBER_MAX} characters "
            "QuickBooks allows",
            hint="Shorten the number in the CRM",
        )
    values: dict[str, Any] = {
        "customer": Ref(value=customer_id),
        "currency": Ref(value=invoice.currency.upper()),
        "txn_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        "doc_number": invoice.number or None,
        "customer_memo": Memo(value=invoice.memo),
        "private_note": stamp_note("", ledgerlink_id, PRIVATE_NOTE_MAX),
    }
    if "lines" in fields or "tax" in fields:
        values["lines"] = [
            _line(line, items[item_name(line, default_item)], codes, invoice.currency)
            for line in invoice.lines
        ]
        if invoice.tax_total:
            if codes.document is None:
                raise RecordError(
                    f"the invoice has {invoice.tax_total} tax but no `txn_tax_code` is configured",
                    hint="Set `txn_tax_code` on the QuickBooks connection to the Id of the tax "
                    "code to apply, so the tax is not lost",
                )
            values["tax"] = TxnTaxDetail(
                tax_code=Ref(value=codes.document), total_tax=invoice.tax_total
            )
    wanted = {*fields, "private_note"}
    return InvoiceDto(**{k: v for k, v in values.items() if k in wanted and v is not None})


def invoice_status(dto: InvoiceDto) -> InvoiceStatus:
    """Void, paid (nothing left to pay) or issued."""
    total = dto.total or Decimal(0)
    if dto.status == "Voided" or (total == 0 and (dto.private_note or "").startswith("Voided")):
        return "void"
    if dto.balance is not None and dto.balance == 0 and total > 0:
        return "paid"
    return "issued"


def invoice_from_dto(
    dto: InvoiceDto,
    default_currency: str,
    default_item: str = "",
    *,
    paid_on: date | None = None,
) -> tuple[Invoice, str]:
    """The canonical invoice as QuickBooks holds it, and the ledgerlink id stamped on it.

    A line on the default item reads back without a SKU, as it was written. ``balance`` is
    QuickBooks' ``Balance`` (what is left to pay); ``paid_on`` is given by the caller, who knows
    the payments (see ``paid.py``).
    """
    code = dto.currency.value if dto.currency else default_currency
    lines: list[InvoiceLine] = []
    for line in dto.lines or []:
        detail = line.sales_item
        if line.detail_type != "SalesItemLineDetail" or detail is None:
            continue
        quantity = detail.quantity if detail.quantity is not None else Decimal(1)
        price = detail.unit_price if detail.unit_price is not None else line.amount
        sku = (detail.item.name or detail.item.value) if detail.item else ""
        if sku == default_item:
            sku = ""
        lines.append(InvoiceLine(line.description or "", quantity, price, line.amount, sku or ""))
    tax_lines = tuple(
        TaxLine(
            rate=(t.detail.percent or Decimal(0)) / 100,
            taxable=t.detail.taxable or Decimal(0),
            amount=t.amount,
        )
        for t in (dto.tax.lines or [] if dto.tax else [])
        if t.detail is not None
    )
    subtotal = sum((line.amount for line in lines), Decimal(0))
    tax_total = dto.tax.total_tax if dto.tax and dto.tax.total_tax is not None else Decimal(0)
    _, ledgerlink_id = read_stamp(dto.private_note)
    invoice = Invoice(
        customer_key=dto.customer.value if dto.customer else "",
        currency=code,
        issue_date=date.fromisoformat(dto.txn_date) if dto.txn_date else date.min,
        lines=tuple(lines),
        tax_lines=tax_lines,
        subtotal=subtotal,
        tax_total=tax_total,
        total=dto.total if dto.total is not None else subtotal + tax_total,
        due_date=date.fromisoformat(dto.due_date) if dto.due_date else None,
        number=dto.doc_number or "",
        status=invoice_status(dto),
        memo=dto.customer_memo.value if dto.customer_memo else "",
        balance=dto.balance,
        paid_on=paid_on,
    )
    return invoice, ledgerlink_id


# -- payments ------------------------------------------------------------------------------------


def payments_from_dto(dto: PaymentDto, default_currency: str) -> list[tuple[str, Payment]]:
    """One canonical payment per invoice the payment is applied to, keyed ``<id>:<invoice id>``.

    The unapplied remainder of a payment is not an invoice payment and is left out.
    """
    paid_on = date.fromisoformat(dto.txn_date) if dto.txn_date else date.min
    code = dto.currency.value if dto.currency else default_currency
    found: list[tuple[str, Payment]] = []
    for line in dto.lines or []:
        for link in line.linked or []:
            if link.txn_type != "Invoice":
                continue
            payment = Payment(
                invoice_ref=link.txn_id,
                amount=line.amount,
                currency=code,
                paid_on=paid_on,
                reference=dto.reference or "",
                customer_ref=dto.customer.value if dto.customer else "",
            )
            found.append((f"{dto.id}:{link.txn_id}", payment))
    return found
