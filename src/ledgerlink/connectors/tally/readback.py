"""Tally LEDGER and VOUCHER elements read back as canonical customers, invoices and payments."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from ledgerlink.canonical.money import currency
from ledgerlink.canonical.records import (
    Address,
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    TaxLine,
)
from ledgerlink.connectors.tally.config import TallyConfig
from ledgerlink.connectors.tally.gst import is_india, state_code
from ledgerlink.connectors.tally.vouchers import Party
from ledgerlink.connectors.tally.xml import (
    BadXmlError,
    Element,
    decimal_of,
    int_of,
    text_of,
    texts_of,
    yes,
)

_DAYS = re.compile(r"^\s*(\d+)\s*Days?\s*$", re.IGNORECASE)
_HUNDRED = Decimal(100)


def parse_date(text: str) -> date:
    """``YYYYMMDD`` (imports and native exports) or ``d-Mon-yyyy`` (some reports)."""
    value = text.strip()
    for layout in ("%Y%m%d", "%d-%b-%Y", "%d-%b-%y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, layout).date()  # noqa: DTZ007 - a date, not a time
        except ValueError:
            continue
    raise BadXmlError(f"{text!r} is not a Tally date")


def object_name(node: Element) -> str:
    """A master's name: its NAME attribute, else the first ``NAME.LIST/NAME``, else ``NAME``."""
    name = (node.get("NAME") or "").strip()
    if name:
        return name
    listed = texts_of(node, "NAME.LIST/NAME")
    return listed[0] if listed else text_of(node, "NAME")


@dataclass(frozen=True, slots=True)
class LedgerInfo:
    """A ledger as read from Tally: identity, group and GST details, and the customer it is."""

    name: str
    guid: str
    alter_id: int
    parent: str
    state: str
    country: str
    gstin: str
    customer: Customer

    def party(self) -> Party:
        """The voucher's view of this ledger."""
        abroad = bool(self.country) and not is_india(self.country)
        code = self.gstin[:2] if self.gstin[:2].isdigit() else None
        return Party(
            self.name, code or (None if abroad else state_code(self.state)), self.gstin, abroad
        )

    @property
    def ledgerlink_id(self) -> str:
        """ledgerlink's id when ledgerlink created this ledger (its REMOTEID became the GUID)."""
        return self.guid if self.guid.startswith("ll-") else ""


def _latest(node: Element, path: str) -> Element | None:
    # TallyPrime 3+ keeps dated lists; the last entry is the one in force today.
    found = node.findall(path)
    return found[-1] if found else None


def ledger_info(node: Element, default_currency: str) -> LedgerInfo:
    """A LEDGER element (flat tags, or TallyPrime 3's dated mailing and GST sub-lists)."""
    name = object_name(node)
    mailing = _latest(node, "LEDMAILINGDETAILS.LIST")
    gst = _latest(node, "LEDGSTREGDETAILS.LIST")
    lines = texts_of(node, "ADDRESS.LIST/ADDRESS")
    state = text_of(node, "LEDSTATENAME") or text_of(node, "STATENAME")
    country = text_of(node, "COUNTRYNAME")
    pincode = text_of(node, "PINCODE")
    if mailing is not None:
        lines = lines or texts_of(mailing, "ADDRESS.LIST/ADDRESS")
        state = state or text_of(mailing, "STATE")
        country = country or text_of(mailing, "COUNTRY")
        pincode = pincode or text_of(mailing, "PINCODE")
    gstin = text_of(node, "PARTYGSTIN") or (text_of(gst, "GSTIN") if gst is not None else "")
    registration = text_of(node, "GSTREGISTRATIONTYPE")
    address = Address(street="\n".join(lines), region=state, postal_code=pincode, country=country)
    customer = Customer(
        display_name=name,
        kind="person" if registration == "Consumer" else "company",
        email=text_of(node, "EMAIL"),
        phone=text_of(node, "LEDGERPHONE") or text_of(node, "LEDGERMOBILE"),
        billing_address=None if address.is_empty() else address,
        tax_id=gstin,
        currency=default_currency,
    )
    return LedgerInfo(
        name=name,
        guid=text_of(node, "GUID"),
        alter_id=int_of(text_of(node, "ALTERID")),
        parent=text_of(node, "PARENT"),
        state=state,
        country=country,
        gstin=gstin.upper(),
        customer=customer,
    )


@dataclass(frozen=True, slots=True)
class BillRef:
    """A bill allocation on a voucher line."""

    name: str
    kind: str
    amount: Decimal
    credit_period: str = ""


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """A ledger line of a voucher read back (Tally's sign)."""

    ledger: str
    amount: Decimal
    is_party: bool
    bills: tuple[BillRef, ...]


@dataclass(frozen=True, slots=True)
class StockRead:
    """A stock line of a voucher read back."""

    item: str
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    discount: Decimal


@dataclass(frozen=True, slots=True)
class VoucherRead:
    """A voucher as read from Tally."""

    guid: str
    alter_id: int
    voucher_type: str
    when: date
    number: str
    party: str
    narration: str
    cancelled: bool
    lines: tuple[LedgerLine, ...]
    stock: tuple[StockRead, ...]

    def party_line(self) -> LedgerLine | None:
        """The party's line: marked as such, else the line of the party ledger."""
        marked = [line for line in self.lines if line.is_party]
        named = [line for line in self.lines if line.ledger == self.party]
        found = marked or named
        return found[0] if found else None


def _bills(node: Element) -> tuple[BillRef, ...]:
    return tuple(
        BillRef(
            name=text_of(bill, "NAME"),
            kind=text_of(bill, "BILLTYPE"),
            amount=decimal_of(text_of(bill, "AMOUNT")),
            credit_period=text_of(bill, "BILLCREDITPERIOD"),
        )
        for bill in node.findall("BILLALLOCATIONS.LIST")
        if text_of(bill, "NAME")
    )


def _quantity(text: str) -> Decimal:
    return decimal_of(text.split("/", maxsplit=1)[0]) if text.strip() else Decimal(0)


def voucher_read(node: Element) -> VoucherRead:
    """A VOUCHER element, in either view, as plain data."""
    party = text_of(node, "PARTYLEDGERNAME")
    lines = tuple(
        LedgerLine(
            ledger=text_of(entry, "LEDGERNAME"),
            amount=decimal_of(text_of(entry, "AMOUNT")),
            is_party=yes(text_of(entry, "ISPARTYLEDGER")),
            bills=_bills(entry),
        )
        for tag in ("ALLLEDGERENTRIES.LIST", "LEDGERENTRIES.LIST")
        for entry in node.findall(tag)
    )
    stock = tuple(
        StockRead(
            item=text_of(entry, "STOCKITEMNAME"),
            quantity=_quantity(text_of(entry, "BILLEDQTY") or text_of(entry, "ACTUALQTY")),
            rate=_quantity(text_of(entry, "RATE")),
            amount=decimal_of(text_of(entry, "AMOUNT")),
            discount=decimal_of(text_of(entry, "DISCOUNT")),
        )
        for tag in ("ALLINVENTORYENTRIES.LIST", "INVENTORYENTRIES.LIST")
        for entry in node.findall(tag)
    )
    return VoucherRead(
        guid=text_of(node, "GUID") or (node.get("REMOTEID") or ""),
        alter_id=int_of(text_of(node, "ALTERID")),
        voucher_type=text_of(node, "VOUCHERTYPENAME") or (node.get("VCHTYPE") or ""),
        when=parse_date(text_of(node, "DATE")),
        number=text_of(node, "VOUCHERNUMBER"),
        party=party,
        narration=text_of(node, "NARRATION"),
        cancelled=yes(text_of(node, "ISCANCELLED")),
        lines=lines,
        stock=stock,
    )


class TaxLedgers:
    """Recognises the configured GST ledgers (``{rate}`` templates included) and their rates."""

    def __init__(self, config: TallyConfig) -> None:
        self._patterns = [
            (
                re.compile(
                    "^" + re.escape(t).replace(re.escape("{rate}"), r"(?P<rate>[0-9.]+)") + "$"
                ),
                f,
            )
            for t, f in ((config.cgst_ledger, 2), (config.sgst_ledger, 2), (config.igst_ledger, 1))
        ]

    def match(self, ledger: str) -> tuple[bool, Decimal | None]:
        """Whether ``ledger`` is a GST ledger, and the GST rate its name carries (if any)."""
        for pattern, factor in self._patterns:
            found = pattern.match(ledger)
            if found:
                rate = found.groupdict().get("rate")
                return True, Decimal(rate) * factor if rate else None
        return False, None


def _due(issue: date, party: LedgerLine | None) -> date | None:
    for bill in party.bills if party else ():
        found = _DAYS.match(bill.credit_period)
        if found:
            return issue + timedelta(days=int(found.group(1)))
    return None


def voucher_invoice(
    voucher: VoucherRead, config: TallyConfig, taxes: TaxLedgers, status: InvoiceStatus
) -> Invoice:
    """A Sales voucher as a canonical invoice; a round-off line is left out of the totals."""
    quantum = currency(config.currency).quantum
    party = voucher.party_line()
    lines: list[InvoiceLine] = [
        InvoiceLine(
            description=s.item,
            quantity=s.quantity,
            unit_price=s.rate,
            amount=s.amount,
            sku=s.item,
            discount_percent=s.discount,
        )
        for s in voucher.stock
    ]
    tax_by_rate: dict[Decimal | None, Decimal] = defaultdict(Decimal)
    for line in voucher.lines:
        if line is party or line.ledger in (voucher.party, config.round_off_ledger):
            continue
        is_tax, rate = taxes.match(line.ledger)
        if is_tax:
            tax_by_rate[rate] += line.amount
        elif not voucher.stock and line.amount:
            lines.append(InvoiceLine(line.ledger, Decimal(1), line.amount, line.amount))
    subtotal = sum((line.amount for line in lines), Decimal(0))
    tax_lines: list[TaxLine] = []
    for named_rate, amount in tax_by_rate.items():
        if named_rate is None:
            # The ledger names carry no rate: the effective rate over the whole invoice.
            rate = (amount * _HUNDRED / subtotal).quantize(Decimal("0.01")) if subtotal else amount
            taxable = subtotal
        else:
            rate = named_rate
            taxable = (amount * _HUNDRED / rate).quantize(quantum) if rate else subtotal
        tax_lines.append(TaxLine(rate.normalize(), taxable, amount))
    tax_total = sum((t.amount for t in tax_lines), Decimal(0))
    return Invoice(
        customer_key=voucher.party,
        currency=config.currency,
        issue_date=voucher.when,
        lines=tuple(lines),
        tax_lines=tuple(sorted(tax_lines, key=lambda t: t.rate)),
        subtotal=subtotal,
        tax_total=tax_total,
        total=subtotal + tax_total,
        due_date=_due(voucher.when, party),
        number=voucher.number,
        status="void" if voucher.cancelled else status,
        memo=voucher.narration,
        tax_mode=config.tax_mode,
    )


def new_bills(voucher: VoucherRead) -> list[tuple[str, Decimal]]:
    """The bills a voucher opens on its party: (bill name, amount as a positive number)."""
    party = voucher.party_line()
    return [(b.name, -b.amount) for b in (party.bills if party else ()) if b.kind == "New Ref"]


def settlements(voucher: VoucherRead) -> list[tuple[str, Decimal]]:
    """The bills a receipt or credit note settles: (bill name, amount settled, positive)."""
    party = voucher.party_line()
    settled: dict[str, Decimal] = defaultdict(Decimal)
    for bill in party.bills if party else ():
        if bill.kind == "Agst Ref":
            settled[bill.name] += bill.amount
    return [(name, amount) for name, amount in settled.items() if amount]


def receipt_payments(
    voucher: VoucherRead, config: TallyConfig, invoice_ids: dict[tuple[str, str], str]
) -> list[tuple[str, Payment]]:
    """The payments a receipt records, one per bill it settles; keyed ``GUID#bill``.

    ``invoice_ids`` maps (party, bill) to the invoice's GUID; a bill not found keeps its name.
    """
    if voucher.cancelled:
        return []
    return [
        (
            f"{voucher.guid}#{bill}",
            Payment(
                invoice_ref=invoice_ids.get((voucher.party, bill), bill),
                amount=amount,
                currency=config.currency,
                paid_on=voucher.when,
                reference=voucher.number or voucher.narration,
                customer_ref=voucher.party,
            ),
        )
        for bill, amount in settlements(voucher)
    ]
