"""Invoices, credit notes and receipts as balanced Tally vouchers: GST split, round-off, bills."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from ledgerlink.canonical.money import currency
from ledgerlink.canonical.records import Invoice, Payment
from ledgerlink.connectors.tally.config import TallyConfig
from ledgerlink.connectors.tally.gst import split_tax, state_name
from ledgerlink.errors import RecordError

BillKind = Literal["New Ref", "Agst Ref"]
VoucherKind = Literal["sales", "credit_note", "receipt"]
ACCOUNTING_VIEW = "Accounting Voucher View"
INVOICE_VIEW = "Invoice Voucher View"
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Party:
    """A party ledger as far as a voucher needs it: name and where it is, for GST."""

    name: str
    state_code: str | None = None
    gstin: str = ""
    abroad: bool = False


@dataclass(frozen=True, slots=True)
class Bill:
    """A bill-wise allocation on the party's line: a new bill, or a settlement against one."""

    name: str
    kind: BillKind
    amount: Decimal
    due_days: int | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One ledger line in Tally's sign: a negative amount is a debit, a positive one a credit."""

    ledger: str
    amount: Decimal
    is_party: bool = False
    bills: tuple[Bill, ...] = ()

    @property
    def is_debit(self) -> bool:
        """Debits are negative in Tally XML and carry ``ISDEEMEDPOSITIVE=Yes``."""
        return self.amount < 0


@dataclass(frozen=True, slots=True)
class StockLine:
    """One stock item line of an invoice-view voucher, credited to a sales ledger."""

    item: str
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    ledger: str
    discount_percent: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class VoucherSpec:
    """A voucher ready to render: its identity, header, ledger lines and stock lines."""

    kind: VoucherKind
    voucher_type: str
    remote_id: str
    when: date
    party: str
    entries: tuple[Entry, ...]
    stock: tuple[StockLine, ...] = ()
    number: str = ""
    narration: str = ""
    place_of_supply: str = ""
    party_gstin: str = ""
    action: Literal["Create", "Alter"] = "Create"
    unit: str = "Nos"

    @property
    def invoice_view(self) -> bool:
        """True when the voucher carries stock items (Tally's invoice view)."""
        return bool(self.stock)

    def imbalance(self) -> Decimal:
        """Sum of every amount; zero for a voucher Tally accepts."""
        return sum((e.amount for e in self.entries), Decimal(0)) + sum(
            (s.amount for s in self.stock), Decimal(0)
        )


@dataclass(frozen=True, slots=True)
class _Parts:
    sales: dict[str, Decimal] = field(default_factory=dict)
    stock: tuple[StockLine, ...] = ()
    taxes: dict[str, Decimal] = field(default_factory=dict)
    round_off: Decimal = Decimal(0)

    @property
    def party_total(self) -> Decimal:
        goods = sum(self.sales.values(), Decimal(0)) + sum(
            (s.amount for s in self.stock), Decimal(0)
        )
        return goods + sum(self.taxes.values(), Decimal(0)) + self.round_off


def rate_text(rate: Decimal) -> str:
    """A rate as people write it in ledger names: ``9``, ``2.5``, ``0.125``."""
    text = format(rate.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def bill_name(invoice: Invoice, remote_id: str) -> str:
    """The bill an invoice opens: its number, else ledgerlink's id for it."""
    return invoice.number.strip() or remote_id


def is_intra_state(party: Party, company_state: str) -> bool:
    """Same state as the company: CGST + SGST. A party abroad is inter-state (IGST).

    A party whose state is unknown (an unregistered customer without an address) is taken to be
    in the company's state: for such supplies the place of supply is the supplier's location.
    """
    if party.abroad:
        return False
    return (party.state_code or company_state) == company_state


def _check_invoice(invoice: Invoice, config: TallyConfig) -> Decimal:
    cur = currency(invoice.currency)
    if cur.code != config.currency:
        raise RecordError(
            f"invoice is in {cur.code} but the Tally company keeps its books in {config.currency}",
            hint="Sync only invoices in the company's currency, or set `currency:` on the "
            "connection if the company's base currency is different",
        )
    lines = sum((line.amount for line in invoice.lines), Decimal(0))
    taxes = sum((t.amount for t in invoice.tax_lines), Decimal(0))
    if lines != invoice.subtotal or taxes != invoice.tax_total:
        raise RecordError(
            f"invoice does not add up: lines {lines} against subtotal {invoice.subtotal}, "
            f"tax lines {taxes} against tax total {invoice.tax_total}",
            hint="Correct the deal's lines in the CRM",
        )
    if invoice.subtotal + invoice.tax_total != invoice.total:
        raise RecordError(
            f"invoice total {invoice.total} is not subtotal {invoice.subtotal} plus tax "
            f"{invoice.tax_total}",
            hint="Correct the deal in the CRM",
        )
    return cur.quantum


def _use_stock(invoice: Invoice, config: TallyConfig) -> bool:
    return config.stock_items and all(
        line.sku.strip()
        and line.quantity > 0
        and line.quantity == line.quantity.to_integral_value()
        for line in invoice.lines
    )


def _parts(invoice: Invoice, party: Party, config: TallyConfig) -> _Parts:
    quantum = _check_invoice(invoice, config)
    intra = is_intra_state(party, config.state_code)
    taxes: dict[str, Decimal] = defaultdict(Decimal)
    for tax in invoice.tax_lines:
        split = split_tax(tax.amount, intra_state=intra, quantum=quantum)
        half = rate_text(tax.rate / 2)
        # Both halves go on the voucher even when one is 0.00 (0.01 of tax), as Tally expects
        # CGST and SGST together on a supply within the state.
        duties = (
            ((config.cgst_ledger, split.cgst, half), (config.sgst_ledger, split.sgst, half))
            if intra
            else ((config.igst_ledger, split.igst, rate_text(tax.rate)),)
        )
        for template, amount, rate in duties:
            if tax.amount:
                taxes[template.replace("{rate}", rate)] += amount
    stock: tuple[StockLine, ...] = ()
    sales: dict[str, Decimal] = {}
    if _use_stock(invoice, config):
        stock = tuple(
            StockLine(
                item=line.sku.strip(),
                quantity=line.quantity,
                rate=line.unit_price,
                amount=line.amount,
                ledger=config.sales_ledger,
                discount_percent=line.discount_percent,
            )
            for line in invoice.lines
        )
    elif invoice.subtotal:
        sales = {config.sales_ledger: invoice.subtotal}
    round_off = Decimal(0)
    if config.round_to is not None:
        total = invoice.total
        rounded = (total / config.round_to).quantize(Decimal(1), ROUND_HALF_UP) * config.round_to
        round_off = rounded.quantize(quantum) - total
    return _Parts(sales, stock, dict(taxes), round_off)


def _header(party: Party) -> tuple[str, str]:
    place = "" if party.abroad or party.state_code is None else state_name(party.state_code)
    return place, party.gstin


def sales_voucher(
    invoice: Invoice,
    party: Party,
    config: TallyConfig,
    *,
    remote_id: str,
    action: Literal["Create", "Alter"] = "Create",
) -> VoucherSpec:
    """The Sales voucher of an invoice: party debited with a new bill, sales and GST credited.

    With ``round_to`` set, the party's total is rounded half-up to it and the difference goes to
    the round-off ledger (credited when the total went up, debited when it went down).
    """
    parts = _parts(invoice, party, config)
    total = parts.party_total
    due_days = (invoice.due_date - invoice.issue_date).days if invoice.due_date else None
    bill = Bill(bill_name(invoice, remote_id), "New Ref", -total, due_days)
    entries = [Entry(party.name, -total, is_party=True, bills=(bill,))]
    entries += [Entry(ledger, amount) for ledger, amount in parts.sales.items()]
    entries += [Entry(ledger, amount) for ledger, amount in parts.taxes.items()]
    if parts.round_off:
        entries.append(Entry(config.round_off_ledger, parts.round_off))
    place, gstin = _header(party)
    return _balanced(
        VoucherSpec(
            kind="sales",
            voucher_type=config.sales_voucher_type,
            remote_id=remote_id,
            when=invoice.issue_date,
            party=party.name,
            entries=tuple(entries),
            stock=parts.stock,
            number=invoice.number.strip(),
            narration=invoice.memo,
            place_of_supply=place,
            party_gstin=gstin,
            action=action,
            unit=config.stock_unit,
        )
    )


def credit_note(
    invoice: Invoice,
    party: Party,
    config: TallyConfig,
    *,
    invoice_remote_id: str,
    remote_id: str,
    when: date,
) -> VoucherSpec:
    """The Credit Note that reverses a voided or refunded invoice in full, against its bill."""
    parts = _parts(invoice, party, config)
    total = parts.party_total
    bill = Bill(bill_name(invoice, invoice_remote_id), "Agst Ref", total)
    entries = [Entry(party.name, total, is_party=True, bills=(bill,))]
    entries += [Entry(ledger, -amount) for ledger, amount in parts.sales.items()]
    entries += [Entry(ledger, -amount) for ledger, amount in parts.taxes.items()]
    if parts.round_off:
        entries.append(Entry(config.round_off_ledger, -parts.round_off))
    stock = tuple(
        StockLine(s.item, s.quantity, s.rate, -s.amount, s.ledger, s.discount_percent)
        for s in parts.stock
    )
    place, gstin = _header(party)
    number = invoice.number.strip()
    return _balanced(
        VoucherSpec(
            kind="credit_note",
            voucher_type=config.credit_note_voucher_type,
            remote_id=remote_id,
            when=when,
            party=party.name,
            entries=tuple(entries),
            stock=stock,
            number=f"{number}/CN" if number else "",
            narration=f"Reverses invoice {bill.name}"
            + (f": {invoice.memo}" if invoice.memo else ""),
            place_of_supply=place,
            party_gstin=gstin,
            unit=config.stock_unit,
        )
    )


def receipt(
    payment: Payment, party: str, bill: str, config: TallyConfig, *, remote_id: str
) -> VoucherSpec:
    """The Receipt voucher of a payment: cash/bank debited, the party credited against its bill."""
    cur = currency(payment.currency)
    if cur.code != config.currency:
        raise RecordError(
            f"payment is in {cur.code} but the Tally company keeps its books in {config.currency}"
        )
    if payment.amount <= 0:
        raise RecordError(f"payment amount {payment.amount} is not positive")
    amount = payment.amount.quantize(cur.quantum)
    entries = (
        Entry(party, amount, is_party=True, bills=(Bill(bill, "Agst Ref", amount),)),
        Entry(config.receipt_ledger, -amount),
    )
    return _balanced(
        VoucherSpec(
            kind="receipt",
            voucher_type=config.receipt_voucher_type,
            remote_id=remote_id,
            when=payment.paid_on,
            party=party,
            entries=entries,
            narration=payment.reference,
        )
    )


def _balanced(spec: VoucherSpec) -> VoucherSpec:
    off = spec.imbalance()
    if off:  # pragma: no cover - every builder above balances by construction
        raise RecordError(f"voucher does not balance: it is off by {off}")
    return spec
