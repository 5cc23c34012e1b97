"""The emulated company: groups, ledgers, stock items, voucher types, vouchers, and their counters.

Identity follows reference §3.4: names identify masters; ``GUID`` is stable; ``REMOTEID`` given on
import becomes the object's GUID (third-party generators set both to the same value and Tally
exports them equal, ⚠ not documented by Tally); ``MASTERID`` is a per-kind integer; ``ALTERID``
is one company-wide counter raised by every creation or alteration. The company exposes the
highest master and voucher AlterIDs as ``AltMstId`` and ``AltVchId`` (§3.6).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

Element = etree._Element
# lxml refuses control characters in text; the emulator stores each as this private-use mark
# followed by two digits, and writes it back raw (or as ``&#4;``) when it answers.
CONTROL_MARK = "\ue000"


def stored_text(text: str) -> str:
    """Text as the emulator stores it: control characters (but TAB, LF, CR) marked."""
    return "".join(
        f"{CONTROL_MARK}{ord(c):02d}" if ord(c) < 0x20 and c not in "\t\n\r" else c for c in text
    )


# Tally's predefined groups (the 28 primary ones, the ones ledgerlink needs) and their parents.
PRIMARY_GROUPS = {
    "Capital Account": "", "Current Assets": "", "Current Liabilities": "", "Direct Expenses": "",
    "Direct Incomes": "", "Indirect Expenses": "", "Indirect Incomes": "", "Sales Accounts": "",
    "Purchase Accounts": "", "Sundry Debtors": "Current Assets",
    "Sundry Creditors": "Current Liabilities", "Duties & Taxes": "Current Liabilities",
    "Cash-in-Hand": "Current Assets", "Bank Accounts": "Current Assets",
}  # fmt: skip
# Predefined voucher types and the base type each behaves as.
VOUCHER_TYPES = {
    "Sales": "Sales", "Purchase": "Purchase", "Receipt": "Receipt", "Payment": "Payment",
    "Journal": "Journal", "Contra": "Contra", "Credit Note": "Credit Note",
    "Debit Note": "Debit Note",
}  # fmt: skip


def _node(tag: str, name: str, **children: str) -> Element:
    node = etree.Element(tag, NAME=name)
    names = etree.SubElement(node, "NAME.LIST", TYPE="String")
    etree.SubElement(names, "NAME").text = name
    for child, text in children.items():
        etree.SubElement(node, child).text = text
    return node


@dataclass(slots=True)
class StoredObject:
    """A master or voucher as the emulated Tally holds it: its element plus its identifiers."""

    kind: str
    node: Element
    guid: str
    master_id: int
    alter_id: int

    @property
    def name(self) -> str:
        """The object's name (masters) or empty."""
        return self.node.get("NAME") or ""

    def text(self, tag: str) -> str:
        """The text of a child element, trimmed."""
        child = self.node.find(tag)
        return (child.text or "").strip() if child is not None else ""


@dataclass
class Company:
    """One company loaded in the emulated Tally."""

    name: str
    state: str
    gstin: str = ""
    guid: str = field(default_factory=lambda: str(uuid.uuid4()))
    masters: dict[tuple[str, str], StoredObject] = field(default_factory=dict)
    vouchers: dict[str, StoredObject] = field(default_factory=dict)
    _alter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _master_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _voucher_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _unnamed: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    alt_master_id: int = 0
    alt_voucher_id: int = 0

    # -- identifiers --------------------------------------------------------------------

    def next_alter_id(self, kind: str) -> int:
        """Raise the company-wide AlterID for a master or a voucher."""
        value = next(self._alter)
        if kind == "VOUCHER":
            self.alt_voucher_id = value
        else:
            self.alt_master_id = value
        return value

    def new_guid(self, kind: str, master_id: int) -> str:
        """A GUID in Tally's shape: the company GUID, a dash and eight hex digits."""
        prefix = "v" if kind == "VOUCHER" else ""
        return f"{self.guid}-{prefix}{master_id:08x}"

    # -- masters ------------------------------------------------------------------------

    def master(self, kind: str, name: str) -> StoredObject | None:
        """A master by type and name; Tally compares names without regard to case."""
        return self.masters.get((kind, name.casefold()))

    def master_by_guid(self, kind: str, guid: str) -> StoredObject | None:
        """A master by type and GUID."""
        return next((m for m in self.masters.values() if m.kind == kind and m.guid == guid), None)

    def put_master(self, kind: str, node: Element, guid: str | None = None) -> StoredObject:
        """Store a new master (its NAME attribute set), with fresh identifiers."""
        master_id = next(self._master_ids)
        stored = StoredObject(
            kind, node, guid or self.new_guid(kind, master_id), master_id, self.next_alter_id(kind)
        )
        self.masters[(kind, stored.name.casefold())] = stored
        return stored

    def rename(self, stored: StoredObject, new_name: str) -> None:
        """Re-key a master under its new name."""
        self.masters.pop((stored.kind, stored.name.casefold()), None)
        stored.node.set("NAME", new_name)
        self.masters[(stored.kind, new_name.casefold())] = stored

    def group_of(self, ledger: str) -> str:
        """The parent group of a ledger."""
        found = self.master("LEDGER", ledger)
        return found.text("PARENT") if found else ""

    def descends(self, group: str, ancestor: str) -> bool:
        """True when ``group`` is ``ancestor`` or one of its sub-groups."""
        seen = set()
        current = group
        while current and current.casefold() not in seen:
            if current.casefold() == ancestor.casefold():
                return True
            seen.add(current.casefold())
            found = self.master("GROUP", current)
            current = found.text("PARENT") if found else ""
        return False

    def base_voucher_type(self, name: str) -> str:
        """The predefined type a voucher type behaves as."""
        current, seen = name, set()
        while current.casefold() not in seen:
            seen.add(current.casefold())
            found = self.master("VOUCHERTYPE", current)
            if found is None:
                return ""
            parent = found.text("PARENT")
            if not parent or parent.casefold() == current.casefold():
                return found.name
            current = parent
        return ""

    # -- vouchers -----------------------------------------------------------------------

    def put_voucher(self, node: Element, guid: str | None) -> StoredObject:
        """Store a new voucher with fresh identifiers."""
        voucher_id = next(self._voucher_ids)
        stored = StoredObject(
            "VOUCHER",
            node,
            guid or self.new_guid("VOUCHER", voucher_id),
            voucher_id,
            self.next_alter_id("VOUCHER"),
        )
        self.vouchers[stored.guid] = stored
        return stored

    def bills(self, party: str) -> dict[str, int]:
        """Bills opened on a party (``New Ref``) by vouchers not cancelled: name → count."""
        found: dict[str, int] = {}
        for voucher in self.vouchers.values():
            if voucher.text("ISCANCELLED") == "Yes":
                continue
            for entry in voucher.node.iter("ALLLEDGERENTRIES.LIST", "LEDGERENTRIES.LIST"):
                ledger = (entry.findtext("LEDGERNAME") or "").strip()
                if ledger.casefold() != party.casefold():
                    continue
                for bill in entry.findall("BILLALLOCATIONS.LIST"):
                    if (bill.findtext("BILLTYPE") or "").strip() == "New Ref":
                        name = (bill.findtext("NAME") or "").strip()
                        found[name.casefold()] = found.get(name.casefold(), 0) + 1
        return found

    def uses_ledger(self, name: str) -> bool:
        """True when a voucher posts to the ledger."""
        return any(
            (entry.findtext("LEDGERNAME") or "").strip().casefold() == name.casefold()
            for voucher in self.vouchers.values()
            for entry in voucher.node.iter("ALLLEDGERENTRIES.LIST", "LEDGERENTRIES.LIST")
        )


def new_company(name: str, state: str, gstin: str = "") -> Company:
    """A company with Tally's predefined groups and voucher types, the unit ``Nos``, and the
    ledgers a GST sales set-up has: Sales, Output CGST/SGST/IGST (Duties & Taxes with their
    GST duty heads, reference §3.3), Round Off and Cash."""
    company = Company(name=name, state=state, gstin=gstin)
    for group, parent in PRIMARY_GROUPS.items():
        node = _node("GROUP", group, PARENT=parent)
        company.put_master("GROUP", node)
    for vtype, parent in VOUCHER_TYPES.items():
        company.put_master("VOUCHERTYPE", _node("VOUCHERTYPE", vtype, PARENT=parent))
    company.put_master("UNIT", _node("UNIT", "Nos", DECIMALPLACES="0"))
    seeded: tuple[tuple[str, str, dict[str, str]], ...] = (
        ("Sales", "Sales Accounts", {}),
        ("Output CGST", "Duties & Taxes", {"TAXTYPE": "GST", "GSTDUTYHEAD": "Central Tax"}),
        ("Output SGST", "Duties & Taxes", {"TAXTYPE": "GST", "GSTDUTYHEAD": "State Tax"}),
        ("Output IGST", "Duties & Taxes", {"TAXTYPE": "GST", "GSTDUTYHEAD": "Integrated Tax"}),
        ("Round Off", "Indirect Expenses", {}),
        ("Cash", "Cash-in-Hand", {}),
    )
    for ledger, parent, extra in seeded:
        company.put_master("LEDGER", _node("LEDGER", ledger, PARENT=parent, **extra))
    return company
