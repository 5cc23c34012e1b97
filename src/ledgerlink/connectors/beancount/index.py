"""What a loaded ledger holds, in ledgerlink's terms: customers, invoices, voids and payments."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from beancount.core import data

LEDGERLINK_KEY = "ledgerlink"
VOID_TAG = "void"


def meta_str(meta: dict[str, Any] | None, key: str) -> str:
    """A metadata value as text ("" when absent)."""
    if not meta or key not in meta or meta[key] is None:
        return ""
    return str(meta[key])


@dataclass(slots=True)
class CustomerEntry:
    """A sub-account of the receivable account: a customer, by hand or by ledgerlink."""

    account: str
    open: Any
    close: Any | None = None

    @property
    def ledgerlink_id(self) -> str:
        """The id ledgerlink stamped on it ("" for an account a person opened)."""
        return meta_str(self.open.meta, LEDGERLINK_KEY)


@dataclass(slots=True)
class InvoiceEntry:
    """A transaction that charges a customer's receivable account, found by its link."""

    link: str
    txn: Any
    account: str
    total: Decimal
    currency: str
    void: Any | None = None
    settled: Decimal = Decimal(0)

    @property
    def ledgerlink_id(self) -> str:
        """The id ledgerlink stamped on it ("" for an invoice a person entered)."""
        return meta_str(self.txn.meta, LEDGERLINK_KEY)

    @property
    def outstanding(self) -> Decimal:
        """What is still owed: the total less the payments that share its link."""
        return self.total - self.settled


@dataclass(frozen=True, slots=True)
class PaymentEntry:
    """One credit to a customer's receivable account outside ledgerlink's own transactions."""

    txn: Any
    posting: Any
    invoice_ref: str


@dataclass(slots=True)
class LedgerIndex:
    """Lookups over a ledger's entries, built in one pass."""

    receivable: str
    main_name: str
    opened: set[str] = field(default_factory=set)
    last_used: dict[str, date] = field(default_factory=dict)
    customers: dict[str, CustomerEntry] = field(default_factory=dict)
    invoices: dict[str, InvoiceEntry] = field(default_factory=dict)
    payments: list[PaymentEntry] = field(default_factory=list)
    customer_ids: dict[str, str] = field(default_factory=dict)
    invoice_ids: dict[str, str] = field(default_factory=dict)
    stamped: dict[tuple[str, str], Any] = field(default_factory=dict)

    def is_customer_account(self, account: str) -> bool:
        """True for any account below the receivable account."""
        return account.startswith(self.receivable + ":")

    def in_main_file(self, entry: Any) -> bool:
        """True when ``entry`` comes from the main file (the only one ledgerlink writes)."""
        return meta_str(entry.meta, "filename") == self.main_name

    def customer_name(self, account: str) -> str:
        """The display name recorded on a customer account (its last component otherwise)."""
        found = self.customers.get(account)
        name = meta_str(found.open.meta, "name") if found else ""
        return name or account.rsplit(":", 1)[-1].replace("-", " ")


def build_index(entries: list[Any], receivable: str, main_name: str) -> LedgerIndex:
    """Index ``entries`` (all files, includes too) for a ledger whose customers are under
    ``receivable``."""
    index = LedgerIndex(receivable=receivable, main_name=main_name)
    transactions: list[Any] = []
    for entry in entries:
        if isinstance(entry, data.Open | data.Transaction) and meta_str(entry.meta, LEDGERLINK_KEY):
            _stamp(index, entry)
        if isinstance(entry, data.Open):
            index.opened.add(entry.account)
            if index.is_customer_account(entry.account):
                index.customers[entry.account] = CustomerEntry(entry.account, entry)
                if meta_str(entry.meta, LEDGERLINK_KEY):
                    index.customer_ids[meta_str(entry.meta, LEDGERLINK_KEY)] = entry.account
        elif isinstance(entry, data.Close):
            found = index.customers.get(entry.account)
            if found is not None:
                found.close = entry
        elif isinstance(entry, data.Transaction):
            transactions.append(entry)
            for posting in entry.postings:
                index.last_used[posting.account] = entry.date
    voids: dict[str, Any] = {}
    for txn in transactions:
        _classify(index, txn, voids)
    for link, void in voids.items():
        if link in index.invoices:
            index.invoices[link].void = void
    _settle(index)
    return index


def _stamp(index: LedgerIndex, entry: Any) -> None:
    """Remember every directive carrying a ledgerlink id, wherever a person may have moved it."""
    if isinstance(entry, data.Transaction):
        if VOID_TAG not in entry.tags:
            index.stamped[("invoices", meta_str(entry.meta, LEDGERLINK_KEY))] = entry
    else:
        index.stamped[("customers", meta_str(entry.meta, LEDGERLINK_KEY))] = entry


def _receivable_postings(index: LedgerIndex, txn: Any) -> list[Any]:
    return [p for p in txn.postings if index.is_customer_account(p.account) and p.units is not None]


def _classify(index: LedgerIndex, txn: Any, voids: dict[str, Any]) -> None:
    postings = _receivable_postings(index, txn)
    if not postings:
        return
    if VOID_TAG in txn.tags:
        for link in txn.links:
            voids.setdefault(link, txn)
        return
    owned = bool(meta_str(txn.meta, LEDGERLINK_KEY))
    # A person's invoice charges a customer; ledgerlink's own may total zero or less (a credit).
    charges = postings if owned else [p for p in postings if p.units.number > 0]
    if charges and txn.links:
        link = min((lk for lk in txn.links if lk not in index.invoices), default="")
        if link:
            charge = charges[0]
            index.invoices[link] = InvoiceEntry(
                link, txn, charge.account, charge.units.number, charge.units.currency
            )
            if owned:
                index.invoice_ids[meta_str(txn.meta, LEDGERLINK_KEY)] = link
    if owned:
        return
    for posting in postings:
        if posting.units.number < 0:
            index.payments.append(PaymentEntry(txn, posting, ""))


def _settle(index: LedgerIndex) -> None:
    """Tie each payment to its invoice (metadata ``invoice:`` first, then a shared link)."""
    settled: dict[str, Decimal] = defaultdict(Decimal)
    resolved: list[PaymentEntry] = []
    for payment in index.payments:
        ref = meta_str(payment.posting.meta, "invoice") or meta_str(payment.txn.meta, "invoice")
        if not ref:
            links = sorted(payment.txn.links)
            ref = next((lk for lk in links if lk in index.invoices), links[0] if links else "")
        resolved.append(PaymentEntry(payment.txn, payment.posting, ref))
        invoice = index.invoices.get(ref)
        if (
            invoice is not None
            and invoice.account == payment.posting.account
            and invoice.currency == payment.posting.units.currency
        ):
            settled[ref] += -payment.posting.units.number
    index.payments = resolved
    for link, amount in settled.items():
        index.invoices[link].settled = amount
