"""Tally request envelopes (import, collection export) and the import response's counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from ledgerlink.connectors.tally.xml import Element, element, int_of, sub, text_of

ImportReport = Literal["All Masters", "Vouchers"]
UDF_NAMESPACE = "TallyUDF"


def _header(parent: Element, request: str, kind: str, name: str) -> None:
    header = sub(parent, "HEADER")
    sub(header, "VERSION", "1")
    sub(header, "TALLYREQUEST", request)
    sub(header, "TYPE", kind)
    sub(header, "ID", name)


def _static(parent: Element, company: str | None, **variables: str) -> None:
    static = sub(parent, "STATICVARIABLES")
    for name, value in variables.items():
        sub(static, name.upper(), value)
    if company:
        sub(static, "SVCURRENTCOMPANY", company)


def _message(objects: Iterable[Element]) -> Iterable[Element]:
    for obj in objects:
        message = etree.Element("TALLYMESSAGE", nsmap={"UDF": UDF_NAMESPACE})
        message.append(obj)
        yield message


def import_request(
    report: ImportReport, company: str | None, objects: Iterable[Element]
) -> Element:
    """An import in TallyPrime's style: ``TALLYREQUEST=Import``, ``TYPE=Data``, ``ID=report``."""
    root = element("ENVELOPE")
    _header(root, "Import", "Data", report)
    body = sub(root, "BODY")
    _static(sub(body, "DESC"), company)
    data = sub(body, "DATA")
    for message in _message(objects):
        data.append(message)
    return root


def import_file(report: ImportReport, objects: Iterable[Element]) -> Element:
    """An import file in the Tally.ERP 9 style that Import > Masters/Transactions reads."""
    root = element("ENVELOPE")
    header = sub(root, "HEADER")
    sub(header, "TALLYREQUEST", "Import Data")
    import_data = sub(sub(root, "BODY"), "IMPORTDATA")
    sub(sub(import_data, "REQUESTDESC"), "REPORTNAME", report)
    data = sub(import_data, "REQUESTDATA")
    for message in _message(objects):
        data.append(message)
    return root


def collection_request(
    name: str,
    company: str | None,
    *,
    object_type: str,
    fetch: Sequence[str],
    child_of: str | None = None,
    filters: Mapping[str, str] | None = None,
) -> Element:
    """An export of an inline-defined collection: type, fields to fetch, and filter formulae."""
    root = element("ENVELOPE")
    _header(root, "Export", "Collection", name)
    desc = sub(sub(root, "BODY"), "DESC")
    _static(desc, company, SVEXPORTFORMAT="$$SysName:XML")
    message = sub(sub(desc, "TDL"), "TDLMESSAGE")
    collection = sub(message, "COLLECTION", NAME=name)
    sub(collection, "TYPE", object_type)
    if child_of:
        sub(collection, "CHILDOF", child_of)
        sub(collection, "BELONGSTO", "Yes")  # sub-groups too
    sub(collection, "FETCH", ",".join(fetch))
    for formula_name in filters or {}:
        sub(collection, "FILTER", formula_name)
    for formula_name, formula in (filters or {}).items():
        sub(message, "SYSTEM", formula, TYPE="Formulae", NAME=formula_name)
    return root


def quote(value: str) -> str:
    """A string literal for a TDL formula."""
    return '"' + value.replace('"', "") + '"'


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What Tally says an import did (reference §3.5); ``line_errors`` are its own messages."""

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
    line_errors: tuple[str, ...] = ()
    status: int | None = None

    @property
    def accepted(self) -> int:
        """Objects Tally took in, whether new, altered, merged, skipped as duplicates or removed."""
        return (
            self.created
            + self.altered
            + self.combined
            + self.ignored
            + self.deleted
            + self.cancelled
        )

    @property
    def clean(self) -> bool:
        """No error of any kind was reported."""
        return not (self.errors or self.exceptions or self.line_errors) and self.status != 0

    def describe(self) -> str:
        """The counts in one line, for messages."""
        return (
            f"created {self.created}, altered {self.altered}, combined {self.combined}, "
            f"ignored {self.ignored}, errors {self.errors}, exceptions {self.exceptions}"
        )


def import_result(root: Element) -> ImportResult:
    """Read an import response: ``ENVELOPE/BODY/DATA/IMPORTRESULT`` or the legacy ``RESPONSE``."""
    counts = root.find(".//IMPORTRESULT")
    if counts is None:
        counts = root if root.tag == "RESPONSE" else element("IMPORTRESULT")
    header = root.find("HEADER")
    status_text = text_of(header, "STATUS") if header is not None else ""
    return ImportResult(
        created=int_of(text_of(counts, "CREATED")),
        altered=int_of(text_of(counts, "ALTERED")),
        deleted=int_of(text_of(counts, "DELETED")),
        combined=int_of(text_of(counts, "COMBINED")),
        ignored=int_of(text_of(counts, "IGNORED")),
        errors=int_of(text_of(counts, "ERRORS")),
        cancelled=int_of(text_of(counts, "CANCELLED")),
        exceptions=int_of(text_of(counts, "EXCEPTIONS")),
        last_voucher_id=int_of(text_of(counts, "LASTVCHID")),
        last_master_id=int_of(text_of(counts, "LASTMID")),
        line_errors=line_errors(root),
        status=int_of(status_text) if status_text else None,
    )


def line_errors(root: Element) -> tuple[str, ...]:
    """Every ``LINEERROR`` message in a response, trimmed."""
    return tuple(
        (node.text or "").strip() for node in root.iter("LINEERROR") if (node.text or "").strip()
    )


def collection_objects(root: Element, tag: str) -> list[Element]:
    """The objects of a collection export (``DATA/COLLECTION/<tag>``, or anywhere if unwrapped)."""
    found = root.findall(f".//COLLECTION/{tag}")
    return found if found else root.findall(f".//{tag}")
