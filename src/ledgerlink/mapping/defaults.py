"""The built-in mappings: a contact becomes a customer, a won deal becomes an invoice."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from ledgerlink.canonical.money import Currency, RoundingMode, currency, quantize
from ledgerlink.canonical.normalise import collapse_spaces
from ledgerlink.canonical.records import (
    Contact,
    Customer,
    Deal,
    DealLine,
    Invoice,
    InvoiceLine,
    TaxLine,
    TaxMode,
)
from ledgerlink.errors import RecordError

_HUNDRED = Decimal(100)


def contact_to_customer(contact: Contact) -> Customer:
    """The customer a CRM contact becomes in the books."""
    name = contact.display_name or " ".join(
        p for p in (contact.given_name, contact.family_name) if p
    )
    display_name = collapse_spaces(name or contact.company)
    if not display_name:
        raise RecordError(
            "contact has neither a name nor a company",
            hint="Give the contact a name or a company in the CRM",
        )
    billing = next((a for a in contact.addresses if a.kind == "billing"), None)
    if billing is None and contact.addresses:
        billing = contact.addresses[0]
    return Customer(
        display_name=display_name,
        kind=contact.kind,
        given_name=contact.given_name,
        family_name=contact.family_name,
        company=contact.company,
        email=contact.email,
        other_emails=contact.emails[1:],
        phone=contact.phones[0] if contact.phones else "",
        billing_address=billing,
        tax_id=contact.tax_id,
        currency=contact.currency,
        payment_terms_days=contact.payment_terms_days,
        credit_limit=contact.credit_limit,
        notes=contact.notes,
    )


@dataclass(frozen=True, slots=True)
class InvoiceRules:
    """How the target computes invoices: rounding rule, tax per line or per document, terms."""

    rounding: RoundingMode = "half-up"
    tax_mode: TaxMode = "line"
    payment_terms_days: int = 30


def deal_to_invoice(
    deal: Deal, rules: InvoiceRules, *, today: date, customer_terms_days: int | None = None
) -> Invoice:
    """The invoice a won deal becomes; lines, tax and total agree with the deal to the minor unit.

    The deal amount is the net total before tax. Raises ``RecordError`` for amounts an invoice
    cannot carry: zero or negative, finer than the currency's minor units, or lines that do not add
    up to the deal amount.
    """
    cur = currency(deal.currency)
    if deal.amount <= 0:
        raise RecordError(
            f"deal amount {deal.amount} {cur.code} is {'zero' if deal.amount == 0 else 'negative'}",
            hint="A won deal must have a positive amount; correct it in the CRM "
            "(refunds become credit notes, which this pipe does not create)",
        )
    if quantize(deal.amount, cur, rules.rounding) != deal.amount:
        raise RecordError(
            f"deal amount {deal.amount} has more decimals than {cur.code} allows "
            f"({cur.minor_units})",
            hint="Round the amount in the CRM to the currency's minor units",
        )
    sources = deal.lines or (DealLine(description=deal.title, unit_price=deal.amount),)
    lines = tuple(_invoice_line(line, deal, rules) for line in sources)
    for line in lines:
        if line.amount < 0 or line.quantity <= 0:
            raise RecordError(
                f"line {line.description!r} has a negative amount or a quantity that is not "
                "positive",
                hint="Fix the deal's line items in the CRM",
            )
    subtotal = sum((line.amount for line in lines), Decimal(0))
    if subtotal != deal.amount:
        raise RecordError(
            f"the deal's lines add up to {subtotal} {cur.code} but its amount is {deal.amount}",
            hint="Make the line items and the deal amount agree in the CRM",
        )
    tax_lines = _tax_lines(lines, rules, cur)
    tax_total = sum((t.amount for t in tax_lines), Decimal(0))
    issue_date = deal.close_date or today
    terms = customer_terms_days if customer_terms_days is not None else rules.payment_terms_days
    return Invoice(
        customer_key=deal.contact_key,
        currency=cur.code,
        issue_date=issue_date,
        lines=lines,
        tax_lines=tax_lines,
        subtotal=subtotal,
        tax_total=tax_total,
        total=subtotal + tax_total,
        due_date=issue_date + timedelta(days=terms),
        number=deal.number,
        memo=deal.title,
        tax_mode=rules.tax_mode,
    )


def _invoice_line(line: DealLine, deal: Deal, rules: InvoiceRules) -> InvoiceLine:
    cur = currency(deal.currency)
    gross = line.quantity * line.unit_price
    amount = quantize(gross * (_HUNDRED - line.discount_percent) / _HUNDRED, cur, rules.rounding)
    rate = line.tax_rate if line.tax_rate is not None else deal.tax_rate or Decimal(0)
    if rate < 0:
        raise RecordError(f"tax rate {rate}% is negative", hint="Fix the tax rate in the CRM")
    per_line = rules.tax_mode == "line"
    tax = quantize(amount * rate / _HUNDRED, cur, rules.rounding) if per_line else Decimal(0)
    return InvoiceLine(
        description=line.description or deal.title,
        quantity=line.quantity,
        unit_price=line.unit_price,
        amount=amount,
        sku=line.sku,
        discount_percent=line.discount_percent,
        tax_rate=rate,
        tax_amount=tax,
    )


def _tax_lines(
    lines: tuple[InvoiceLine, ...], rules: InvoiceRules, cur: Currency
) -> tuple[TaxLine, ...]:
    """Tax per rate: the sum of the lines' rounded taxes, or the rounded tax of the rate's total."""
    taxable: dict[Decimal, Decimal] = defaultdict(Decimal)
    line_tax: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in lines:
        if line.tax_rate:
            taxable[line.tax_rate] += line.amount
            line_tax[line.tax_rate] += line.tax_amount
    return tuple(
        TaxLine(
            rate,
            taxable[rate],
            line_tax[rate]
            if rules.tax_mode == "line"
            else quantize(taxable[rate] * rate / _HUNDRED, cur, rules.rounding),
        )
        for rate in sorted(taxable)
    )
