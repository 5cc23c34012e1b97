"""The collection exports ledgerlink asks Tally for: company, ledgers, vouchers, GUID lists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ledgerlink.connectors.tally.client import TallyClient
from ledgerlink.connectors.tally.envelopes import (
    collection_objects,
    collection_request,
    line_errors,
    quote,
)
from ledgerlink.connectors.tally.readback import object_name
from ledgerlink.connectors.tally.xml import Element, int_of, text_of
from ledgerlink.errors import ErrorContext, FatalError

LEDGER_FIELDS = (
    "Name", "GUID", "AlterID", "Parent", "Address", "LedStateName", "CountryName", "PinCode",
    "Email", "LedgerPhone", "LedgerMobile", "PartyGSTIN", "GSTRegistrationType",
    "LedMailingDetails", "LedGSTRegDetails",
)  # fmt: skip
VOUCHER_FIELDS = (
    "GUID", "AlterID", "Date", "VoucherTypeName", "VoucherNumber", "PartyLedgerName",
    "Narration", "IsCancelled", "AllLedgerEntries", "LedgerEntries", "AllInventoryEntries",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CompanyInfo:
    """The loaded company and its change counters (reference §3.6)."""

    name: str
    guid: str
    alt_master_id: int
    alt_voucher_id: int


def _objects(client: TallyClient, request: Element, tag: str) -> list[Element]:
    root = client.post(request)
    errors = line_errors(root)
    if errors:
        raise FatalError(
            f"Tally refused ledgerlink's export request: {'; '.join(errors)}",
            hint="This Tally release may not support the request; report it with the message",
            context=ErrorContext(system="tally", location=client.url),
        )
    return collection_objects(root, tag)


def company_info(client: TallyClient) -> CompanyInfo | None:
    """The configured company's GUID and AltMstId/AltVchId; None when it is not loaded."""
    request = collection_request(
        "LedgerlinkCompany",
        client.company,
        object_type="Company",
        fetch=("Name", "GUID", "AltMstId", "AltVchId"),
        filters={"LedgerlinkThisCompany": "$$IsEqual:##SVCurrentCompany:$Name"},
    )
    for node in _objects(client, request, "COMPANY"):
        if object_name(node).casefold() == client.company.casefold():
            return CompanyInfo(
                name=object_name(node),
                guid=text_of(node, "GUID"),
                alt_master_id=int_of(text_of(node, "ALTMSTID")),
                alt_voucher_id=int_of(text_of(node, "ALTVCHID")),
            )
    return None


def _and(*formulae: str | None) -> dict[str, str]:
    return {f"LedgerlinkFilter{i}": f for i, f in enumerate(f for f in formulae if f)}


def ledgers(
    client: TallyClient,
    *,
    group: str | None = None,
    alter_after: int | None = None,
    fields: Sequence[str] = LEDGER_FIELDS,
) -> list[Element]:
    """Ledgers (of ``group`` and its sub-groups when given), only those altered after a point."""
    request = collection_request(
        "LedgerlinkLedgers",
        client.company,
        object_type="Ledger",
        fetch=fields,
        child_of=group,
        filters=_and(f"$AlterID > {alter_after}" if alter_after is not None else None),
    )
    return _objects(client, request, "LEDGER")


def stock_items(client: TallyClient) -> set[str]:
    """Names of every stock item."""
    request = collection_request(
        "LedgerlinkStockItems", client.company, object_type="StockItem", fetch=("Name",)
    )
    return {object_name(node) for node in _objects(client, request, "STOCKITEM")}


def type_formula(voucher_types: Iterable[str]) -> str:
    """A formula true for vouchers of any of the given types."""
    return " OR ".join(f"$VoucherTypeName = {quote(t)}" for t in voucher_types)


def vouchers(
    client: TallyClient,
    voucher_types: Sequence[str],
    *,
    alter_after: int | None = None,
    fields: Sequence[str] = VOUCHER_FIELDS,
) -> list[Element]:
    """Vouchers of the given types, only those altered after a point when given."""
    request = collection_request(
        "LedgerlinkVouchers",
        client.company,
        object_type="Voucher",
        fetch=fields,
        filters=_and(
            type_formula(voucher_types),
            f"$AlterID > {alter_after}" if alter_after is not None else None,
        ),
    )
    return _objects(client, request, "VOUCHER")


def voucher_ids(client: TallyClient, voucher_types: Sequence[str]) -> dict[str, int]:
    """GUID → AlterID of every voucher of the given types: the cheap list deletions show in."""
    nodes = vouchers(client, voucher_types, fields=("GUID", "AlterID"))
    return {text_of(n, "GUID"): int_of(text_of(n, "ALTERID")) for n in nodes}


def ledger_ids(client: TallyClient, group: str) -> dict[str, tuple[int, str]]:
    """GUID → (AlterID, name) of every ledger under ``group``."""
    nodes = ledgers(client, group=group, fields=("Name", "GUID", "AlterID"))
    return {text_of(n, "GUID"): (int_of(text_of(n, "ALTERID")), object_name(n)) for n in nodes}


def vouchers_altered_after(client: TallyClient, after: int) -> set[str]:
    """GUIDs of vouchers created or altered after AlterID ``after``: what an import did."""
    request = collection_request(
        "LedgerlinkAltered",
        client.company,
        object_type="Voucher",
        fetch=("GUID",),
        filters={"LedgerlinkAfter": f"$AlterID > {after}"},
    )
    return {text_of(n, "GUID") for n in _objects(client, request, "VOUCHER")}


def masters_altered_after(client: TallyClient, object_type: str, after: int) -> dict[str, str]:
    """Name → GUID of masters of a type created or altered after AlterID ``after``."""
    request = collection_request(
        "LedgerlinkAlteredMasters",
        client.company,
        object_type=object_type,
        fetch=("Name", "GUID"),
        filters={"LedgerlinkAfter": f"$AlterID > {after}"},
    )
    tag = object_type.upper()
    return {object_name(n): text_of(n, "GUID") for n in _objects(client, request, tag)}
