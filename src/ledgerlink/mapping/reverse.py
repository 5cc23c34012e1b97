"""The way back of a two-way pipe: which fields each side can change, and where they go in the CRM.

Only fields the built-in mapping copies one to one can flow back; a field built by a rule
(``from``, ``map``, ``transform``) has no inverse, so configuration keeps it one-way.
"""

from __future__ import annotations

from typing import Any

from ledgerlink.canonical.records import Contact, Record
from ledgerlink.canonical.restore import customer_from_json, invoice_from_json

#: Customer field -> the contact field it comes from (and is written back to).
CUSTOMER_TO_CONTACT: dict[str, str] = {
    "display_name": "display_name",
    "given_name": "given_name",
    "family_name": "family_name",
    "company": "company",
    "email": "emails",
    "phone": "phones",
    "billing_address": "addresses",
    "tax_id": "tax_id",
    "currency": "currency",
    "payment_terms_days": "payment_terms_days",
    "credit_limit": "credit_limit",
    "notes": "notes",
}

#: Invoice fields only the books know (payments): they flow back to the deal, never forward.
INVOICE_PAYMENT_FIELDS: tuple[str, ...] = ("number", "status", "balance", "paid_on")

#: Per route's target stream: the fields a two-way pipe compares on both sides.
TWO_WAY_FIELDS: dict[str, tuple[str, ...]] = {
    "customers": tuple(CUSTOMER_TO_CONTACT),
    "invoices": INVOICE_PAYMENT_FIELDS,
}

#: Fields the books own without being told (a CRM has no say in what was paid).
IMPLICIT_BOOKS_OWNED: dict[str, frozenset[str]] = {
    "customers": frozenset(),
    "invoices": frozenset(INVOICE_PAYMENT_FIELDS),
}


def write_back_request(
    target_stream: str, merged: dict[str, Any], fields: tuple[str, ...]
) -> tuple[Record, tuple[str, ...]]:
    """The record and field names to send back to the CRM for these changed target fields."""
    if target_stream == "invoices":
        return invoice_from_json(merged), fields
    customer = customer_from_json(merged)
    contact = Contact(
        kind=customer.kind,
        display_name=customer.display_name,
        given_name=customer.given_name,
        family_name=customer.family_name,
        company=customer.company,
        emails=(customer.email,) if customer.email else (),
        phones=(customer.phone,) if customer.phone else (),
        addresses=(customer.billing_address,) if customer.billing_address else (),
        tax_id=customer.tax_id,
        currency=customer.currency,
        payment_terms_days=customer.payment_terms_days,
        credit_limit=customer.credit_limit,
        notes=customer.notes,
    )
    return contact, tuple(dict.fromkeys(CUSTOMER_TO_CONTACT[f] for f in fields))
