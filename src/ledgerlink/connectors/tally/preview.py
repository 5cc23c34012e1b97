"""What a sales voucher will carry, in words, for ``ledgerlink plan``: its GST split."""

from __future__ import annotations

from decimal import Decimal

from ledgerlink.canonical.money import currency
from ledgerlink.canonical.records import Customer, Invoice
from ledgerlink.connectors.tally.config import TallyConfig
from ledgerlink.connectors.tally.gst import split_tax
from ledgerlink.connectors.tally.translate import customer_ledger
from ledgerlink.connectors.tally.vouchers import is_intra_state
from ledgerlink.errors import RecordError


def describe_invoice(config: TallyConfig, invoice: Invoice, customer: Customer | None) -> str:
    """``CGST 9% 90.00 + SGST 9% 90.00`` (same state) or ``IGST 18% 180.00``, per tax rate."""
    if customer is None or not invoice.tax_lines:
        return "no GST" if not invoice.tax_lines else ""
    try:
        party = customer_ledger(customer).party()
    except RecordError as exc:
        return f"GST split unknown: {exc.message}"
    intra = is_intra_state(party, config.state_code)
    quantum = currency(invoice.currency).quantum
    parts = []
    for tax in invoice.tax_lines:
        split = split_tax(tax.amount, intra_state=intra, quantum=quantum)
        if intra:
            half = _rate(tax.rate / 2)
            parts.append(f"CGST {half}% {split.cgst} + SGST {half}% {split.sgst}")
        else:
            parts.append(f"IGST {_rate(tax.rate)}% {split.igst}")
    where = "same state as the company" if intra else "inter-state"
    return f"{'; '.join(parts)} ({where})"


def _rate(rate: Decimal) -> str:
    return format(rate.normalize(), "f")
