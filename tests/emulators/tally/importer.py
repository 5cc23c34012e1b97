"""Import of masters and vouchers into the emulated company, with Tally's validation and counts.

Each object in the envelope is validated on its own; one that fails adds to ERRORS and gets a
``LINEERROR`` while the others are imported (reference §3.5: "ERRORS=0 and no LINEERROR" is the
only clean answer). Rules and where they come from:

* Sign and balance (§3.4): a negative AMOUNT is a debit and carries ``ISDEEMEDPOSITIVE=Yes``;
  the amounts of a voucher sum to zero, else "Voucher totals do not match!".
* Ledgers, groups, units, stock items and voucher types must exist ("Ledger 'X' does not
  exist!", the message §3.5 shows).
* GST (§3.3/§3.4): CGST+SGST (duty heads Central Tax and State Tax) only when the place of
  supply is the company's state, IGST (Integrated Tax) only when it is not; the two halves equal
  to the paisa. GSTINs are checked for shape and check character. Tally itself flags these in
  its GST reports rather than refusing the voucher (⚠): the emulator is stricter on purpose.
* Identity (§3.4): REMOTEID becomes the GUID; a Create whose REMOTEID exists alters that object
  instead of duplicating it (⚠ inferred from integrators re-sending REMOTEIDs); an Alter of an
  unknown voucher creates it (⚠ third-party observation); a master whose name exists is
  combined, ignored or modified per ``IMPORTDUPS`` (default: combined, ⚠).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from lxml import etree

from tests.emulators.tally.books import Company, Element, StoredObject
from tests.emulators.tally.gstrules import gstin_ok, state_code

_CENT = Decimal("0.01")
_MASTER_TAGS = ("LEDGER", "GROUP", "STOCKITEM", "UNIT", "VOUCHERTYPE", "CURRENCY", "COSTCENTRE")
_BILL_TYPES = ("New Ref", "Agst Ref", "Advance", "On Account")


class RejectedError(Exception):
    """One object Tally refuses; the message becomes its LINEERROR."""


@dataclass
class Counts:
    """The IMPORTRESULT of one request."""

    created: int = 0
    altered: int = 0
    deleted: int = 0
    combined: int = 0
    ignored: int = 0
    errors: int = 0
    cancelled: int = 0
    exceptions: int = 0
    last_voucher_id: int = 0
    last_master_id: int = 0
    line_errors: list[str] = field(default_factory=list)


def _text(node: Element, tag: str) -> str:
    return (node.findtext(tag) or "").strip()


def _amount(text: str, what: str) -> Decimal:
    try:
        return Decimal(text.replace(",", "").strip() or "0")
    except InvalidOperation:
        raise RejectedError(f"'{text}' is not a valid amount for {what}") from None


def _action(node: Element) -> str:
    return (node.get("ACTION") or "Create").strip().title()


def _name(node: Element) -> str:
    listed = node.findtext("NAME.LIST/NAME")
    return (node.get("NAME") or listed or "").strip()


def import_objects(company: Company, objects: list[Element], dups: str) -> Counts:
    """Import every object; one outcome per object in the counts."""
    counts = Counts()
    for node in objects:
        try:
            if node.tag == "VOUCHER":
                _voucher(company, node, counts)
            elif node.tag in _MASTER_TAGS:
                _master(company, node, counts, dups)
            else:
                raise RejectedError(f"Unknown object type '{node.tag}'")
        except RejectedError as rejected:
            counts.errors += 1
            counts.line_errors.append(str(rejected))
    return counts


# -- masters -------------------------------------------------------------------------------


def _check_master(company: Company, node: Element, creating: bool) -> None:
    kind = node.tag
    parent = _text(node, "PARENT")
    if kind == "LEDGER":
        if creating and not parent:
            raise RejectedError(f"Ledger '{_name(node)}' has no group (PARENT)")
        if parent and company.master("GROUP", parent) is None:
            raise RejectedError(f"Group '{parent}' does not exist!")
        gstin = _text(node, "PARTYGSTIN").upper()
        if gstin and not gstin_ok(gstin):
            raise RejectedError(f"GSTIN/UIN '{gstin}' is invalid")
        state = _text(node, "LEDSTATENAME")
        if state and state_code(state) is None:
            raise RejectedError(f"State '{state}' does not exist!")
        if gstin and state and state_code(state) != gstin[:2]:
            raise RejectedError(f"State '{state}' does not match the GSTIN/UIN '{gstin}'")
    elif kind == "STOCKITEM":
        unit = _text(node, "BASEUNITS")
        if unit and company.master("UNIT", unit) is None:
            raise RejectedError(f"Unit '{unit}' does not exist!")
    elif kind == "GROUP" and parent and company.master("GROUP", parent) is None:
        raise RejectedError(f"Group '{parent}' does not exist!")


def _merge(stored: StoredObject, node: Element) -> None:
    """Alter: every tag given replaces the stored tag (lists as a whole); others stay."""
    for child in node:
        if child.tag == "GUID":
            continue
        for old in stored.node.findall(child.tag):
            stored.node.remove(old)
        stored.node.append(copy.deepcopy(child))


def _clean(node: Element, name: str) -> Element:
    fresh = copy.deepcopy(node)
    _drop_attributes(fresh)
    for guid in fresh.findall("GUID"):
        fresh.remove(guid)
    fresh.set("NAME", name)
    return fresh


def _drop_attributes(node: Element) -> None:
    for attribute in ("ACTION", "REMOTEID"):
        if attribute in node.attrib:
            del node.attrib[attribute]


def _rename_everywhere(company: Company, kind: str, old: str, new: str) -> None:
    """Vouchers refer to masters internally, so a rename shows in every voucher."""
    tags = {"LEDGER": ("LEDGERNAME", "PARTYLEDGERNAME"), "STOCKITEM": ("STOCKITEMNAME",)}
    for voucher in company.vouchers.values():
        for tag in tags.get(kind, ()):
            for element in voucher.node.iter(tag):
                if (element.text or "").strip().casefold() == old.casefold():
                    element.text = new


def _master(company: Company, node: Element, counts: Counts, dups: str) -> None:
    kind, action = node.tag, _action(node)
    name = (node.get("NAME") or "").strip() or _name(node)
    new_name = (node.findtext("NAME.LIST/NAME") or name).strip()
    guid = (node.get("REMOTEID") or _text(node, "GUID")).strip()
    if not name:
        raise RejectedError(f"{kind.title()} has no name")
    existing = company.master(kind, name) or (company.master_by_guid(kind, guid) if guid else None)
    label = "Stock Item" if kind == "STOCKITEM" else kind.title()
    if action == "Delete":
        if existing is None:
            raise RejectedError(f"{label} '{name}' does not exist!")
        if kind == "LEDGER" and company.uses_ledger(existing.name):
            raise RejectedError(f"Ledger '{existing.name}' has vouchers and cannot be deleted")
        del company.masters[(kind, existing.name.casefold())]
        counts.deleted += 1
        return
    _check_master(company, node, creating=existing is None)
    if action == "Create" and existing is None:
        stored = company.put_master(kind, _clean(node, new_name), guid or None)
        counts.created += 1
        counts.last_master_id = stored.master_id
        return
    if existing is None:
        raise RejectedError(f"{label} '{name}' does not exist!")
    if action == "Create" and not (guid and existing.guid == guid):
        mode = dups.strip().casefold()
        if mode in ("@@dupignorecombine", "ignore duplicates"):
            counts.ignored += 1
            return
        if mode not in ("@@dupmodify", "modify with new data"):
            counts.combined += 1  # opening balances combined; nothing else changes
            return
    clash = company.master(kind, new_name)
    if clash is not None and clash is not existing:
        raise RejectedError(f"{label} '{new_name}' already exists!")
    _merge(existing, node)
    if new_name != existing.name:
        old = existing.name
        company.rename(existing, new_name)
        _rename_everywhere(company, kind, old, new_name)
    existing.alter_id = company.next_alter_id(kind)
    counts.altered += 1


# -- vouchers ------------------------------------------------------------------------------


def _check_entry_sign(entry: Element, amount: Decimal, what: str) -> None:
    deemed = _text(entry, "ISDEEMEDPOSITIVE")
    if amount and deemed and (deemed == "Yes") != (amount < 0):
        raise RejectedError(
            f"ISDEEMEDPOSITIVE '{deemed}' of {what} does not agree with its amount {amount} "
            "(a negative amount is a debit and is deemed positive)"
        )


def _check_bills(company: Company, entry: Element, ledger: str, amount: Decimal, own: str) -> None:
    bills = entry.findall("BILLALLOCATIONS.LIST")
    if not bills:
        return
    total = Decimal(0)
    open_bills: dict[str, int] | None = None
    for bill in bills:
        kind = _text(bill, "BILLTYPE")
        if kind not in _BILL_TYPES:
            raise RejectedError(f"Bill type '{kind}' is not valid")
        total += _amount(_text(bill, "AMOUNT"), f"bill of '{ledger}'")
        if kind == "Agst Ref":
            if open_bills is None:
                open_bills = company.bills(ledger)
                if own and own in company.vouchers:
                    open_bills = _without_own(company, ledger, own, open_bills)
            if _text(bill, "NAME").casefold() not in open_bills:
                raise RejectedError(f"Bill '{_text(bill, 'NAME')}' of '{ledger}' does not exist!")
    if total != amount:
        raise RejectedError(
            f"Bill allocations of '{ledger}' ({total}) do not match its amount {amount}"
        )


def _without_own(company: Company, ledger: str, own: str, bills: dict[str, int]) -> dict[str, int]:
    stored = company.vouchers[own].node
    result = dict(bills)
    for entry in stored.iter("ALLLEDGERENTRIES.LIST", "LEDGERENTRIES.LIST"):
        if _text(entry, "LEDGERNAME").casefold() == ledger.casefold():
            for bill in entry.findall("BILLALLOCATIONS.LIST"):
                if _text(bill, "BILLTYPE") == "New Ref":
                    key = _text(bill, "NAME").casefold()
                    result[key] = result.get(key, 1) - 1
    return {k: v for k, v in result.items() if v > 0}


def _quantity(text: str, what: str) -> tuple[Decimal, str]:
    parts = text.strip().split()
    if len(parts) != 2:
        raise RejectedError(f"Quantity '{text}' of {what} has no unit")
    return _amount(parts[0], what), parts[1]


def _check_stock(company: Company, entry: Element) -> Decimal:
    """Validate one inventory line; return what its accounting allocations post."""
    item = _text(entry, "STOCKITEMNAME")
    stored = company.master("STOCKITEM", item)
    if stored is None:
        raise RejectedError(f"Stock Item '{item}' does not exist!")
    what = f"stock item '{item}'"
    quantity, unit = _quantity(_text(entry, "BILLEDQTY") or _text(entry, "ACTUALQTY"), what)
    base = stored.text("BASEUNITS")
    if base and unit.casefold() != base.casefold():
        raise RejectedError(f"Unit '{unit}' of {what} is not its unit '{base}'")
    places = company.master("UNIT", unit)
    if places is not None and places.text("DECIMALPLACES") == "0" and quantity % 1:
        raise RejectedError(f"Quantity {quantity} of {what} must be whole {unit}")
    rate = _amount(_text(entry, "RATE").split("/")[0], what)
    discount = _amount(_text(entry, "DISCOUNT") or "0", what)
    amount = _amount(_text(entry, "AMOUNT"), what)
    expected = (quantity * rate * (100 - discount) / 100).quantize(_CENT, ROUND_HALF_UP)
    if abs(amount) != expected:
        raise RejectedError(
            f"Amount {amount} of {what} is not quantity x rate less discount ({expected})"
        )
    _check_entry_sign(entry, amount, what)
    posted = Decimal(0)
    for allocation in entry.findall("ACCOUNTINGALLOCATIONS.LIST"):
        ledger = _text(allocation, "LEDGERNAME")
        if company.master("LEDGER", ledger) is None:
            raise RejectedError(f"Ledger '{ledger}' does not exist!")
        value = _amount(_text(allocation, "AMOUNT"), f"ledger '{ledger}'")
        _check_entry_sign(allocation, value, f"ledger '{ledger}'")
        posted += value
    if posted != amount:
        raise RejectedError(f"Accounting allocations of {what} ({posted}) do not match {amount}")
    return posted


def _check_gst(company: Company, node: Element, duties: dict[str, Decimal]) -> None:
    if not duties:
        return
    party = _text(node, "PARTYLEDGERNAME")
    ledger = company.master("LEDGER", party) if party else None
    gstin = (_text(node, "PARTYGSTIN") or (ledger.text("PARTYGSTIN") if ledger else "")).upper()
    if gstin and not gstin_ok(gstin):
        raise RejectedError(f"GSTIN/UIN '{gstin}' of party '{party}' is invalid")
    country = ledger.text("COUNTRYNAME") if ledger else ""
    abroad = bool(country) and country.casefold() != "india"
    place = _text(node, "PLACEOFSUPPLY") or _text(node, "STATENAME")
    where = state_code(place) if place else None
    where = where or (gstin[:2] if gstin else None)
    where = where or (state_code(ledger.text("LEDSTATENAME")) if ledger else None)
    home = company.gstin[:2] if company.gstin else state_code(company.state)
    intra = not abroad and (where or home) == home
    central, state = duties.get("Central Tax"), duties.get("State Tax")
    if intra and "Integrated Tax" in duties:
        raise RejectedError(
            f"IGST cannot be charged on a supply within {company.state}; use CGST and SGST"
        )
    if not intra and (central is not None or state is not None):
        raise RejectedError(
            f"CGST/SGST cannot be charged on an inter-state supply (place of supply "
            f"{place or where or country}, company in {company.state}); use IGST"
        )
    if intra and (central is None) != (state is None):
        raise RejectedError("CGST and SGST must be charged together")
    if central is not None and state is not None and abs(central - state) > _CENT:
        raise RejectedError(f"CGST {central} and SGST {state} are not equal halves of the tax")


def _check_voucher(company: Company, node: Element, own: str) -> None:
    vtype = _text(node, "VOUCHERTYPENAME") or (node.get("VCHTYPE") or "")
    if company.master("VOUCHERTYPE", vtype) is None:
        raise RejectedError(f"Voucher Type '{vtype}' does not exist!")
    try:
        datetime.strptime(_text(node, "DATE"), "%Y%m%d")
    except ValueError:
        raise RejectedError(f"Date '{_text(node, 'DATE')}' is not valid (YYYYMMDD)") from None
    party = _text(node, "PARTYLEDGERNAME")
    if party and company.master("LEDGER", party) is None:
        raise RejectedError(f"Ledger '{party}' does not exist!")
    debit = credit = Decimal(0)
    duties: dict[str, Decimal] = {}
    entries = [*node.findall("ALLLEDGERENTRIES.LIST"), *node.findall("LEDGERENTRIES.LIST")]
    stock = [*node.findall("ALLINVENTORYENTRIES.LIST"), *node.findall("INVENTORYENTRIES.LIST")]
    if not entries and not stock:
        raise RejectedError("Voucher has no entries")
    amounts = []
    for entry in entries:
        name = _text(entry, "LEDGERNAME")
        ledger = company.master("LEDGER", name)
        if ledger is None:
            raise RejectedError(f"Ledger '{name}' does not exist!")
        amount = _amount(_text(entry, "AMOUNT"), f"ledger '{name}'")
        _check_entry_sign(entry, amount, f"ledger '{name}'")
        _check_bills(company, entry, ledger.name, amount, own)
        head = ledger.text("GSTDUTYHEAD")
        if head:
            duties[head] = duties.get(head, Decimal(0)) + amount
        amounts.append(amount)
    amounts.extend(_check_stock(company, entry) for entry in stock)
    for amount in amounts:
        if amount < 0:
            debit -= amount
        else:
            credit += amount
    if debit != credit:
        raise RejectedError(f"Voucher totals do not match! Dr: {debit:.2f} Cr: {credit:.2f}")
    _check_gst(company, node, duties)


def _voucher(company: Company, node: Element, counts: Counts) -> None:
    action = _action(node)
    guid = (node.get("REMOTEID") or _text(node, "GUID")).strip()
    existing = company.vouchers.get(guid) if guid else None
    if action == "Delete":
        if existing is None:
            raise RejectedError("Voucher does not exist!")
        del company.vouchers[guid]
        counts.deleted += 1
        return
    if action == "Cancel":
        if existing is None:
            raise RejectedError("Voucher does not exist!")
        for old in existing.node.findall("ISCANCELLED"):
            existing.node.remove(old)
        etree.SubElement(existing.node, "ISCANCELLED").text = "Yes"
        existing.alter_id = company.next_alter_id("VOUCHER")
        counts.cancelled += 1
        return
    _check_voucher(company, node, guid if existing else "")
    fresh = copy.deepcopy(node)
    _drop_attributes(fresh)
    for old in fresh.findall("GUID"):
        fresh.remove(old)
    if existing is not None:
        existing.node = fresh
        existing.alter_id = company.next_alter_id("VOUCHER")
        counts.altered += 1
        return
    stored = company.put_voucher(fresh, guid or None)
    counts.created += 1
    counts.last_voucher_id = stored.master_id
