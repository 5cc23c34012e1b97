"""Collection exports from the emulated company (reference §3.2 "Collection export", §3.6).

A request names a collection (``HEADER/ID``) defined inline under ``DESC/TDL/TDLMESSAGE``: its
``TYPE`` (Company, Ledger, Group, StockItem, Unit, VoucherType, Voucher), ``CHILDOF`` (a group
for ledgers, with ``BELONGSTO`` Yes for sub-groups too; a voucher type for vouchers), ``FETCH``
or ``NATIVEMETHOD`` fields, and ``FILTER`` names defined as ``SYSTEM TYPE="Formulae"``. Unknown
collections and formulae come back as a ``LINEERROR``, as Tally answers. Numbers come back the
way Tally writes them, with ``TYPE="Number"`` and a leading space; lists as ``*.LIST``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from lxml import etree

from tests.emulators.tally.books import Company, Element, StoredObject
from tests.emulators.tally.formulae import Formula, FormulaError

_TYPES = {
    "company": "COMPANY", "ledger": "LEDGER", "group": "GROUP", "stockitem": "STOCKITEM",
    "unit": "UNIT", "vouchertype": "VOUCHERTYPE", "voucher": "VOUCHER",
}  # fmt: skip
_SPECIAL_GROUPS = {
    "$$groupsundrydebtors": "Sundry Debtors",
    "$$groupsundrycreditors": "Sundry Creditors",
}


class ExportError(Exception):
    """The export cannot be answered; the message becomes a LINEERROR."""


def _fetch_names(collection: Element) -> set[str]:
    names: set[str] = set()
    for tag in ("FETCH", "NATIVEMETHOD"):
        for node in collection.findall(tag):
            for part in (node.text or "").split(","):
                if part.strip():
                    names.add(part.strip().split(".")[0].casefold())
    return names


def _wanted(tag: str, fetch: set[str]) -> bool:
    if "*" in fetch:
        return True
    return tag.casefold().removesuffix(".list") in fetch


def _number(parent: Element, tag: str, value: int) -> None:
    node = etree.SubElement(parent, tag, TYPE="Number")
    node.text = f" {value}"


def _render_object(stored: StoredObject, fetch: set[str]) -> Element:
    if stored.kind == "VOUCHER":
        out = etree.Element(
            "VOUCHER",
            REMOTEID=stored.guid,
            VCHKEY=f"{stored.guid}:{stored.master_id:08d}",
            VCHTYPE=(stored.node.findtext("VOUCHERTYPENAME") or "").strip(),
            ACTION="Create",
            OBJVIEW=(stored.node.findtext("PERSISTEDVIEW") or "Accounting Voucher View").strip(),
        )
    else:
        out = etree.Element(stored.kind, NAME=stored.name, RESERVEDNAME="")
    if "guid" in fetch or "*" in fetch:
        etree.SubElement(out, "GUID", TYPE="String").text = stored.guid
    if "alterid" in fetch or "*" in fetch:
        _number(out, "ALTERID", stored.alter_id)
    if "masterid" in fetch or "*" in fetch:
        _number(out, "MASTERID", stored.master_id)
    for child in stored.node:
        if child.tag in ("GUID", "ALTERID", "MASTERID"):
            continue
        if _wanted(child.tag, fetch) or (child.tag == "NAME.LIST" and "name" in fetch):
            out.append(copy.deepcopy(child))
    return out


def _company_object(company: Company) -> Element:
    out = etree.Element("COMPANY", NAME=company.name, RESERVEDNAME="")
    etree.SubElement(out, "NAME").text = company.name
    etree.SubElement(out, "GUID", TYPE="String").text = company.guid
    _number(out, "ALTMSTID", company.alt_master_id)
    _number(out, "ALTVCHID", company.alt_voucher_id)
    etree.SubElement(out, "STATENAME").text = company.state
    return out


def _field_getter(company: Company, stored: StoredObject) -> Callable[[str], str]:
    def field(name: str) -> str:
        key = name.casefold()
        if key == "name":
            return stored.name
        if key == "guid":
            return stored.guid
        if key in ("remoteid",):
            return stored.guid
        if key == "alterid":
            return str(stored.alter_id)
        if key == "masterid":
            return str(stored.master_id)
        for child in stored.node:
            if child.tag.casefold() == key:
                return (child.text or "").strip()
        return ""

    return field


def _company_getter(company: Company) -> Callable[[str], str]:
    values = {
        "name": company.name, "guid": company.guid, "altmstid": str(company.alt_master_id),
        "altvchid": str(company.alt_voucher_id), "statename": company.state,
    }  # fmt: skip
    return lambda name: values.get(name.casefold(), "")


def _candidates(company: Company, kind: str, collection: Element) -> list[StoredObject]:
    child_of = (collection.findtext("CHILDOF") or "").strip()
    child_of = _SPECIAL_GROUPS.get(child_of.casefold(), child_of)
    belongs = (collection.findtext("BELONGSTO") or "").strip().casefold() == "yes"
    if kind == "VOUCHER":
        found = sorted(company.vouchers.values(), key=lambda v: v.master_id)
        if child_of:
            wanted = child_of.casefold()
            found = [v for v in found if v.text("VOUCHERTYPENAME").casefold() == wanted]
        return found
    masters = (m for m in company.masters.values() if m.kind == kind)
    found = sorted(masters, key=lambda m: m.master_id)
    if child_of:
        if belongs:
            found = [m for m in found if company.descends(m.text("PARENT"), child_of)]
        else:
            found = [m for m in found if m.text("PARENT").casefold() == child_of.casefold()]
    return found


def export_collection(
    companies: list[Company], company: Company | None, request: Element, variables: dict[str, str]
) -> list[Element]:
    """The objects a collection export asks for, or ``ExportError``."""
    name = (request.findtext("HEADER/ID") or "").strip()
    collection = next(
        (
            c
            for c in request.iterfind(".//TDLMESSAGE/COLLECTION")
            if (c.get("NAME") or "").casefold() == name.casefold()
        ),
        None,
    )
    if collection is None:
        raise ExportError(f"Could not find Collection '{name}'")
    type_name = (collection.findtext("TYPE") or "").strip()
    kind = _TYPES.get(type_name.casefold().replace(" ", ""))
    if kind is None:
        raise ExportError(f"Unknown Type '{type_name}' in Collection '{name}'")
    formulae = {
        (s.get("NAME") or "").casefold(): (s.text or "")
        for s in request.iterfind(".//TDLMESSAGE/SYSTEM")
        if (s.get("TYPE") or "").casefold() == "formulae"
    }
    filters = []
    for node in collection.findall("FILTER"):
        for filter_name in (node.text or "").split(","):
            text = formulae.get(filter_name.strip().casefold())
            if text is None:
                raise ExportError(f"Could not find Formula '{filter_name.strip()}'")
            base = company.base_voucher_type if company else (lambda _name: "")
            try:
                filters.append(Formula(text, variables, base))
            except FormulaError as exc:
                raise ExportError(f"Error in Formula '{filter_name.strip()}': {exc}") from None
    try:
        if kind == "COMPANY":
            return [
                _company_object(c)
                for c in companies
                if all(f.matches(_company_getter(c)) for f in filters)
            ]
        if company is None:
            raise ExportError("No company is open")
        fetch = _fetch_names(collection)
        return [
            _render_object(stored, fetch)
            for stored in _candidates(company, kind, collection)
            if all(f.matches(_field_getter(company, stored)) for f in filters)
        ]
    except FormulaError as exc:
        raise ExportError(f"Error in a filter of Collection '{name}': {exc}") from None
