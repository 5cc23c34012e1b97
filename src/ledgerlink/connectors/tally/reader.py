"""Reading Tally incrementally: AltMstId/AltVchId, ``$AlterID > n``, deletions by GUID."""

from __future__ import annotations

import base64
import json
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ledgerlink.canonical.records import (
    Change,
    InvoiceStatus,
    ReadFailure,
    Record,
    TargetRecord,
)
from ledgerlink.canonical.serialise import record_digest
from ledgerlink.connectors.base import StreamRead
from ledgerlink.connectors.tally import queries
from ledgerlink.connectors.tally.client import TallyClient
from ledgerlink.connectors.tally.config import TallyConfig
from ledgerlink.connectors.tally.readback import (
    TaxLedgers,
    VoucherRead,
    ledger_info,
    new_bills,
    receipt_payments,
    settlements,
    voucher_invoice,
    voucher_read,
)
from ledgerlink.connectors.tally.xml import BadXmlError, Element, text_of
from ledgerlink.errors import ConnectionFailedError, ErrorContext, RecordError

_PREFIX = "tally1:"
READABLE = ("payments", "invoices", "customers")


@dataclass(slots=True)
class ReadCursor:
    """Where a stream's last read ended: the company, its AlterID then, and the keys per GUID.

    Tally does not report deletions (reference §3.6), so the cursor keeps the GUIDs it has seen
    and the keys it yielded for each; a GUID that is gone next time is a deletion.
    """

    company: str
    alter_id: int
    keys: dict[str, list[str]] = field(default_factory=dict)
    others: list[str] = field(default_factory=list)

    def encode(self) -> str:
        """A compact text form (JSON, deflated, base64)."""
        data = {"c": self.company, "a": self.alter_id, "k": self.keys, "o": self.others}
        packed = zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 9)
        return _PREFIX + base64.urlsafe_b64encode(packed).decode("ascii")

    @classmethod
    def decode(cls, text: str | None, company: str) -> ReadCursor | None:
        """The cursor, or None (read everything) when absent, foreign or of another company."""
        if not text or not text.startswith(_PREFIX):
            return None
        try:
            data: dict[str, Any] = json.loads(zlib.decompress(base64.urlsafe_b64decode(text[7:])))
        except (ValueError, zlib.error):
            return None
        if data.get("c") != company:
            return None
        return cls(company, int(data["a"]), dict(data.get("k", {})), list(data.get("o", [])))


def parse_vouchers(nodes: Iterable[Element]) -> tuple[list[VoucherRead], list[ReadFailure]]:
    """Every voucher that can be read, and a failure naming each one that cannot."""
    readable: list[VoucherRead] = []
    failures: list[ReadFailure] = []
    for node in nodes:
        try:
            readable.append(voucher_read(node))
        except BadXmlError as exc:
            guid = text_of(node, "GUID") or node.get("REMOTEID") or "?"
            error = RecordError(
                f"Tally's voucher {guid} cannot be read: {exc}",
                hint="Open the voucher in Tally and correct it; it is read again next time",
            )
            failures.append(ReadFailure(guid, f"tally:{guid}", error))
    return readable, failures


def _bill_status(amount: Decimal, paid: Decimal, credited: Decimal) -> InvoiceStatus:
    if amount and credited >= amount:
        return "void"
    if amount and paid > 0 and paid + credited >= amount:
        return "paid"
    return "issued"


class TallyReader:
    """Reads customers, invoices (with status) and payments from a running Tally."""

    def __init__(self, client: TallyClient, config: TallyConfig) -> None:
        self._client = client
        self._config = config
        self._taxes = TaxLedgers(config)

    def _company(self) -> queries.CompanyInfo:
        info = queries.company_info(self._client)
        if info is None:
            raise ConnectionFailedError(
                f"the company {self._client.company!r} is not open in Tally",
                hint="Open it in Tally (F3 Select Company), or correct `company:`",
                context=ErrorContext(system="tally", location=self._client.url),
            )
        return info

    # -- customers ----------------------------------------------------------------------

    def read_customers(self, cursor: str | None) -> StreamRead:
        """Party ledgers changed since the cursor, and those deleted."""
        info = self._company()
        previous = ReadCursor.decode(cursor, info.guid)
        group = self._config.party_group
        ids = queries.ledger_ids(self._client, group)
        after = previous.alter_id if previous else None
        changed = {g for g, (alter, _) in ids.items() if after is None or alter > after}
        items: list[Change | ReadFailure] = []
        keys: dict[str, list[str]] = {}
        if changed:
            for node in queries.ledgers(self._client, group=group, alter_after=after):
                ledger = ledger_info(node, self._config.currency)
                items.append(_change(ledger.name, ledger.customer))
                keys[ledger.guid] = [ledger.name]
        return _finish(previous, ids, keys, items, company=info.guid, alter_id=info.alt_master_id)

    def existing_customers(self) -> Iterable[TargetRecord]:
        """Every party ledger, hand-made ones included, for first-sync matching."""
        self._company()
        for node in queries.ledgers(self._client, group=self._config.party_group):
            ledger = ledger_info(node, self._config.currency)
            yield TargetRecord(ledger.name, ledger.customer, ledger.ledgerlink_id)

    # -- invoices -----------------------------------------------------------------------

    def _settlement_totals(
        self,
    ) -> tuple[dict[tuple[str, str], Decimal], dict[tuple[str, str], Decimal]]:
        paid: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        credited: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        cfg = self._config
        types = (cfg.receipt_voucher_type, cfg.credit_note_voucher_type)
        for voucher in parse_vouchers(queries.vouchers(self._client, types))[0]:
            if voucher.cancelled:
                continue
            target = paid if voucher.voucher_type == cfg.receipt_voucher_type else credited
            for bill, amount in settlements(voucher):
                target[(voucher.party, bill)] += amount
        return paid, credited

    def _invoices(self, vouchers: Iterable[VoucherRead]) -> list[tuple[VoucherRead, Record]]:
        paid, credited = self._settlement_totals()
        result: list[tuple[VoucherRead, Record]] = []
        for voucher in vouchers:
            bills = new_bills(voucher)
            key = (voucher.party, bills[0][0]) if bills else (voucher.party, "")
            amount = bills[0][1] if bills else Decimal(0)
            status = _bill_status(amount, paid[key], credited[key])
            result.append((voucher, voucher_invoice(voucher, self._config, self._taxes, status)))
        return result

    def read_invoices(self, cursor: str | None) -> StreamRead:
        """Sales vouchers changed since the cursor, with their status from receipts and credit
        notes; all of them (the engine skips unchanged versions) when a settlement changed."""
        info = self._company()
        previous = ReadCursor.decode(cursor, info.guid)
        cfg = self._config
        ids = queries.voucher_ids(self._client, (cfg.sales_voucher_type,))
        settle_ids = queries.voucher_ids(
            self._client, (cfg.receipt_voucher_type, cfg.credit_note_voucher_type)
        )
        after = previous.alter_id if previous else None
        settled_moved = previous is None or (
            any(a > previous.alter_id for a in settle_ids.values())
            or bool(set(previous.others) - set(settle_ids))
        )
        changed_sales = any(after is None or a > after for a in ids.values())
        items: list[Change | ReadFailure] = []
        keys: dict[str, list[str]] = {}
        if settled_moved or changed_sales:
            since = None if settled_moved else after
            nodes = queries.vouchers(self._client, (cfg.sales_voucher_type,), alter_after=since)
            vouchers, failures = parse_vouchers(nodes)
            items.extend(failures)
            for voucher, invoice in self._invoices(vouchers):
                items.append(_change(voucher.guid, invoice))
                keys[voucher.guid] = [voucher.guid]
        read = _finish(previous, ids, keys, items, company=info.guid, alter_id=info.alt_voucher_id)
        read.others = sorted(settle_ids)
        return read

    def existing_invoices(self) -> Iterable[TargetRecord]:
        """Every Sales voucher, for first-sync matching."""
        self._company()
        nodes = queries.vouchers(self._client, (self._config.sales_voucher_type,))
        for voucher, invoice in self._invoices(parse_vouchers(nodes)[0]):
            own = voucher.guid if voucher.guid.startswith("ll-") else ""
            yield TargetRecord(voucher.guid, invoice, own)

    # -- payments -----------------------------------------------------------------------

    def read_payments(self, cursor: str | None) -> StreamRead:
        """Receipts changed since the cursor as payments against the invoices they settle."""
        info = self._company()
        previous = ReadCursor.decode(cursor, info.guid)
        cfg = self._config
        ids = queries.voucher_ids(self._client, (cfg.receipt_voucher_type,))
        after = previous.alter_id if previous else None
        items: list[Change | ReadFailure] = []
        keys: dict[str, list[str]] = {}
        if any(after is None or a > after for a in ids.values()):
            nodes = queries.vouchers(self._client, (cfg.receipt_voucher_type,), alter_after=after)
            receipts, failures = parse_vouchers(nodes)
            items.extend(failures)
            invoice_ids = self._invoice_ids() if receipts else {}
            for voucher in receipts:
                found = receipt_payments(voucher, cfg, invoice_ids)
                keys[voucher.guid] = [key for key, _ in found]
                items.extend(_change(key, payment) for key, payment in found)
        return _finish(previous, ids, keys, items, company=info.guid, alter_id=info.alt_voucher_id)

    def _invoice_ids(self) -> dict[tuple[str, str], str]:
        fields = ("GUID", "Date", "PartyLedgerName", "AllLedgerEntries", "LedgerEntries")
        nodes = queries.vouchers(self._client, (self._config.sales_voucher_type,), fields=fields)
        found: dict[tuple[str, str], str] = {}
        for voucher in parse_vouchers(nodes)[0]:
            for bill, _ in new_bills(voucher):
                found[(voucher.party, bill)] = voucher.guid
        return found


def _finish(
    previous: ReadCursor | None,
    ids: dict[str, Any],
    keys: dict[str, list[str]],
    items: list[Change | ReadFailure],
    *,
    company: str,
    alter_id: int,
) -> TallyRead:
    """Add deletions (GUIDs gone, keys no longer yielded) and the next cursor."""
    before = previous.keys if previous else {}
    current = {guid: keys.get(guid, before.get(guid, [])) for guid in ids}
    still = {key for listed in current.values() for key in listed}
    gone = sorted({key for listed in before.values() for key in listed} - still)
    deletions = [
        Change(key=key, version="deleted", load=_deleted_load(key), deleted=True) for key in gone
    ]
    return TallyRead([*items, *deletions], ReadCursor(company, alter_id, current))


def _change(key: str, record: Record) -> Change:
    return Change.of(key, record, version=record_digest(record), location=f"tally:{key}")


def _deleted_load(key: str) -> Callable[[], Record]:
    def load() -> Record:
        raise RecordError(f"{key!r} was deleted in Tally")

    return load


class TallyRead:
    """A ``StreamRead`` over a read's changes; its cursor is encoded when asked for."""

    def __init__(self, items: list[Change | ReadFailure], cursor: ReadCursor) -> None:
        self.items = items
        self.next_cursor = cursor

    def __iter__(self) -> Iterator[Change | ReadFailure]:
        return iter(self.items)

    @property
    def others(self) -> list[str]:
        """GUIDs of related objects the cursor remembers (settlements, for invoices)."""
        return self.next_cursor.others

    @others.setter
    def others(self, value: list[str]) -> None:
        self.next_cursor.others = value

    def cursor(self) -> str | None:
        """The encoded cursor."""
        return self.next_cursor.encode()
