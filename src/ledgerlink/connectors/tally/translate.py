"""Canonical customers and voucher specs as Tally LEDGER, STOCKITEM and VOUCHER elements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledgerlink.canonical.records import Address, Customer
from ledgerlink.connectors.tally.config import TallyConfig
from ledgerlink.connectors.tally.gst import is_india, normalise_gstin, state_code, state_name
from ledgerlink.connectors.tally.vouchers import (
    ACCOUNTING_VIEW,
    INVOICE_VIEW,
    Entry,
    Party,
    StockLine,
    VoucherSpec,
)
from ledgerlink.connectors.tally.xml import Element, element, sub, subs, yes_no
from ledgerlink.errors import RecordError

# Which ledger tags an update of a canonical field rewrites (a sparse Alter keeps the rest).
_FIELD_TAGS: dict[str, tuple[str, ...]] = {
    "display_name": ("NAME.LIST",),
    "email": ("EMAIL",),
    "phone": ("LEDGERPHONE",),
    "billing_address": ("ADDRESS.LIST", "LEDSTATENAME", "COUNTRYNAME", "PINCODE"),
    "tax_id": ("PARTYGSTIN", "GSTREGISTRATIONTYPE", "LEDSTATENAME", "COUNTRYNAME"),
    "kind": ("GSTREGISTRATIONTYPE",),
}
ALL_LEDGER_TAGS = frozenset(tag for tags in _FIELD_TAGS.values() for tag in tags)


@dataclass(frozen=True, slots=True)
class PartyLedger:
    """A customer as a party ledger: name, address, GST state and registration."""

    name: str
    address_lines: tuple[str, ...]
    state: str
    country: str
    pincode: str
    email: str
    phone: str
    gstin: str
    registration: str

    def party(self) -> Party:
        """What a voucher needs to know of this ledger."""
        abroad = not is_india(self.country)
        return Party(self.name, None if abroad else state_code(self.state), self.gstin, abroad)


def tally_date(when: date) -> str:
    """A date as Tally writes it: ``YYYYMMDD``."""
    return when.strftime("%Y%m%d")


def amount_text(amount: Decimal) -> str:
    """An amount with two decimals (Tally keeps two for INR), sign as given."""
    return format(amount.quantize(Decimal("0.01")), "f")


def quantity_text(quantity: Decimal, unit: str) -> str:
    """A quantity with its unit, as Tally writes it: ``10 Nos``."""
    return f"{format(quantity.normalize(), 'f')} {unit}"


def customer_ledger(customer: Customer) -> PartyLedger:
    """Where a customer's ledger details come from; raises ``RecordError`` for a bad GSTIN."""
    name = customer.display_name.strip()
    if not name:
        raise RecordError("customer has no name", hint="Give the contact a name in the CRM")
    address = customer.billing_address or Address()
    india = is_india(address.country)
    gstin = ""
    tax_id = customer.tax_id.strip()
    if tax_id and india:
        gstin = normalise_gstin(tax_id)
    code = gstin[:2] if gstin else (state_code(address.region) if india else None)
    lines = [part.strip() for part in address.street.splitlines() if part.strip()]
    if address.city.strip():
        lines.append(address.city.strip())
    if india and address.region.strip() and code is None:
        raise RecordError(
            f"{address.region!r} is not an Indian state or union territory",
            hint="Correct the state in the customer's address in the CRM (a name such as "
            "Maharashtra, or its GST code such as 27)",
        )
    if not india and address.region.strip():
        lines.append(address.region.strip())
    if gstin:
        registration = "Regular"
    else:
        registration = "Consumer" if customer.kind == "person" and india else "Unregistered"
    return PartyLedger(
        name=name,
        address_lines=tuple(lines),
        state=state_name(code) if code else "",
        country="India" if india else address.country.strip(),
        pincode=address.postal_code.strip(),
        email=customer.email.strip(),
        phone=customer.phone.strip(),
        gstin=gstin,
        registration=registration,
    )


def tags_for(changed_fields: tuple[str, ...]) -> frozenset[str]:
    """The ledger tags an update rewrites: those of the changed fields, or all when unknown."""
    if not changed_fields:
        return ALL_LEDGER_TAGS
    tags: set[str] = set()
    for name in changed_fields:
        tags.update(_FIELD_TAGS.get(name.split(".", 1)[0], ()))
    return frozenset(tags)


def ledger_element(
    ledger: PartyLedger,
    config: TallyConfig,
    *,
    remote_id: str,
    current_name: str | None = None,
    tags: frozenset[str] = ALL_LEDGER_TAGS,
) -> Element:
    """A LEDGER to create (``current_name`` None) or alter (renamed from ``current_name``)."""
    creating = current_name is None
    node = element(
        "LEDGER",
        NAME=ledger.name if creating else str(current_name),
        ACTION="Create" if creating else "Alter",
        REMOTEID=remote_id,
    )
    if creating:
        sub(node, "GUID", remote_id)
    if creating or "NAME.LIST" in tags:
        names = sub(node, "NAME.LIST", TYPE="String")
        sub(names, "NAME", ledger.name)
    sub(node, "PARENT", config.party_group)
    sub(node, "ISBILLWISEON", "Yes")
    if creating or "ADDRESS.LIST" in tags:
        address = sub(node, "ADDRESS.LIST", TYPE="String")
        for line in ledger.address_lines:
            sub(address, "ADDRESS", line)
    values = (
        ("LEDSTATENAME", ledger.state),
        ("COUNTRYNAME", ledger.country),
        ("PINCODE", ledger.pincode),
        ("EMAIL", ledger.email),
        ("LEDGERPHONE", ledger.phone),
        ("GSTREGISTRATIONTYPE", ledger.registration),
        ("PARTYGSTIN", ledger.gstin),
    )
    for tag, value in values:
        if creating and value:
            sub(node, tag, value)
        elif not creating and tag in tags:
            sub(node, tag, value)  # empty text clears the field
    if creating:
        sub(node, "OPENINGBALANCE", "0")
    return node


def stock_item_element(name: str, unit: str) -> Element:
    """A STOCKITEM master in ``unit``, for an invoice line's SKU that Tally does not have yet."""
    node = element("STOCKITEM", NAME=name, ACTION="Create")
    names = sub(node, "NAME.LIST", TYPE="String")
    sub(names, "NAME", name)
    sub(node, "BASEUNITS", unit)
    return node


def _entry(parent: Element, tag: str, entry: Entry) -> None:
    node = sub(parent, tag)
    sub(node, "LEDGERNAME", entry.ledger)
    sub(node, "ISDEEMEDPOSITIVE", yes_no(entry.is_debit))
    if entry.is_party:
        sub(node, "ISPARTYLEDGER", "Yes")
    sub(node, "AMOUNT", amount_text(entry.amount))
    for bill in entry.bills:
        allocation = sub(node, "BILLALLOCATIONS.LIST")
        sub(allocation, "NAME", bill.name)
        sub(allocation, "BILLTYPE", bill.kind)
        if bill.due_days is not None:
            sub(allocation, "BILLCREDITPERIOD", f"{bill.due_days} Days")
        sub(allocation, "AMOUNT", amount_text(bill.amount))


def _stock(parent: Element, line: StockLine, unit: str) -> None:
    node = sub(parent, "ALLINVENTORYENTRIES.LIST")
    sub(node, "STOCKITEMNAME", line.item)
    sub(node, "ISDEEMEDPOSITIVE", yes_no(line.amount < 0))
    sub(node, "RATE", f"{amount_text(line.rate)}/{unit}")
    if line.discount_percent:
        sub(node, "DISCOUNT", format(line.discount_percent.normalize(), "f"))
    sub(node, "AMOUNT", amount_text(line.amount))
    sub(node, "ACTUALQTY", quantity_text(line.quantity, unit))
    sub(node, "BILLEDQTY", quantity_text(line.quantity, unit))
    allocation = sub(node, "ACCOUNTINGALLOCATIONS.LIST")
    sub(allocation, "LEDGERNAME", line.ledger)
    sub(allocation, "ISDEEMEDPOSITIVE", yes_no(line.amount < 0))
    sub(allocation, "AMOUNT", amount_text(line.amount))


def voucher_element(spec: VoucherSpec) -> Element:
    """A VOUCHER in the accounting-voucher view, or the invoice view when it has stock lines."""
    view = INVOICE_VIEW if spec.invoice_view else ACCOUNTING_VIEW
    node = element(
        "VOUCHER",
        REMOTEID=spec.remote_id,
        VCHTYPE=spec.voucher_type,
        ACTION=spec.action,
        OBJVIEW=view,
    )
    sub(node, "GUID", spec.remote_id)
    sub(node, "DATE", tally_date(spec.when))
    sub(node, "EFFECTIVEDATE", tally_date(spec.when))
    sub(node, "VOUCHERTYPENAME", spec.voucher_type)
    subs(
        node,
        (
            ("VOUCHERNUMBER", spec.number),
            ("REFERENCE", spec.number),
            ("PARTYLEDGERNAME", spec.party),
            ("STATENAME", spec.place_of_supply),
            ("PLACEOFSUPPLY", spec.place_of_supply),
            ("PARTYGSTIN", spec.party_gstin),
            ("NARRATION", spec.narration),
        ),
    )
    sub(node, "ISINVOICE", yes_no(spec.invoice_view))
    sub(node, "PERSISTEDVIEW", view)
    ledger_tag = "LEDGERENTRIES.LIST" if spec.invoice_view else "ALLLEDGERENTRIES.LIST"
    for entry in spec.entries:
        _entry(node, ledger_tag, entry)
    for line in spec.stock:
        _stock(node, line, spec.unit)
    return node


def delete_voucher_element(remote_id: str, voucher_type: str) -> Element:
    """A VOUCHER delete addressed by its REMOTEID."""
    node = element("VOUCHER", REMOTEID=remote_id, VCHTYPE=voucher_type, ACTION="Delete")
    sub(node, "GUID", remote_id)
    sub(node, "VOUCHERTYPENAME", voucher_type)
    return node
