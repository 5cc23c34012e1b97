"""Turn write requests into ledger edits: new directives, blocks replaced in place, reversals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ledgerlink.canonical.records import Customer, Invoice
from ledgerlink.connectors.base import WriteRequest
from ledgerlink.connectors.beancount.config import BeancountConfig
from ledgerlink.connectors.beancount.index import (
    LEDGERLINK_KEY,
    CustomerEntry,
    InvoiceEntry,
    LedgerIndex,
    meta_str,
)
from ledgerlink.connectors.beancount.names import account_segment, link_for, unique_name
from ledgerlink.connectors.beancount.render import CloseSpec, OpenSpec, keyed_meta_lines
from ledgerlink.connectors.beancount.text import Edit, LedgerText
from ledgerlink.connectors.beancount.translate import (
    INVOICE_KEYS,
    InvoiceAccounts,
    customer_currency,
    customer_keys_for,
    customer_open,
    invoice_transaction,
    void_transaction,
)
from ledgerlink.errors import RecordError

_EDIT_HINT = (
    "ledgerlink writes only the main ledger file; move the directive there or edit it by hand"
)


@dataclass(frozen=True, slots=True)
class Planned:
    """A request that needs no write (``edits`` empty) or the edits that carry it out."""

    target_id: str
    edits: tuple[Edit, ...] = ()


@dataclass(slots=True)
class BatchPlanner:
    """Plans one batch against one loaded ledger, remembering what the batch itself adds."""

    config: BeancountConfig
    text: LedgerText
    index: LedgerIndex
    today: date
    edits: list[Edit] = field(default_factory=list)
    _new_accounts: set[str] = field(default_factory=set)
    _new_links: set[str] = field(default_factory=set)
    _created: dict[str, tuple[str, Edit]] = field(default_factory=dict)
    _replaced: dict[int, Edit] = field(default_factory=dict)
    _appended: dict[str, Edit] = field(default_factory=dict)
    _opens: dict[str, Edit] = field(default_factory=dict)

    def plan(self, position: int, request: WriteRequest) -> Planned:
        """The edits for one request; raises ``RecordError`` when it cannot be written."""
        handlers: dict[tuple[str, str], Callable[[int, WriteRequest], Planned]] = {
            ("customers", "create"): self._create_customer,
            ("customers", "update"): self._update_customer,
            ("customers", "deactivate"): self._deactivate_customer,
            ("invoices", "create"): self._create_invoice,
            ("invoices", "update"): self._update_invoice,
            ("invoices", "void"): self._void_invoice,
            ("invoices", "deactivate"): self._void_invoice,
        }
        handler = handlers.get((request.stream, request.action))
        if handler is None:
            raise RecordError(
                f"cannot {request.action} {request.stream} in a Beancount ledger",
                hint="Beancount books take customers (create, update, deactivate) and invoices "
                "(create, update, void)",
            )
        return handler(position, request)

    # -- shared steps ---------------------------------------------------------------------

    def _add(self, position: int, lines: list[str], start: int | None = None, end: int = 0) -> Edit:
        _check_encodable(lines)
        if start is not None and start in self._replaced:
            edit = self._replaced[start]  # a later update in the batch supersedes an earlier one
            edit.lines = tuple(lines)
            edit.owners.add(position)
            return edit
        edit = Edit({position}, tuple(lines), start, end)
        self.edits.append(edit)
        if start is not None:
            self._replaced[start] = edit
        return edit

    def _again(self, position: int, request: WriteRequest) -> Planned | None:
        """A create of a record this batch already creates: share that edit (one directive).

        A record whose id is stamped somewhere ledgerlink does not look for it (a person moved
        the account out of the receivable account, or removed the invoice's link) is refused
        rather than written twice.
        """
        stray = self.index.stamped.get((request.stream, request.ledgerlink_id))
        if stray is not None:
            where = f"{meta_str(stray.meta, 'filename')}:{meta_str(stray.meta, 'lineno')}"
            raise RecordError(
                f"this record is already in the ledger at {where}, but not as ledgerlink wrote it",
                hint="Restore its account under the receivable account (or its ^link), or remove "
                "its `ledgerlink:` metadata to have it written again",
            )
        found = self._created.get(f"{request.stream}:{request.ledgerlink_id}")
        if found is None:
            return None
        target, edit = found
        edit.owners.add(position)
        return Planned(target, (edit,))

    def _block(self, entry: Any, what: str, target: str) -> tuple[int, int]:
        if not self.index.in_main_file(entry):
            raise RecordError(
                f"{what} {target} is in the included file {meta_str(entry.meta, 'filename')}",
                hint=_EDIT_HINT,
            )
        return self.text.block(int(entry.meta["lineno"]))

    def _unchanged(self, start: int, end: int, lines: list[str]) -> bool:
        old = [line.rstrip("\n").removesuffix("\r") for line in self.text.lines[start:end]]
        return old == lines

    def _open_accounts(self, position: int, accounts: list[str]) -> list[Edit]:
        """``open`` directives for the income and tax accounts an invoice needs and lacks."""
        needed: list[Edit] = []
        for account in dict.fromkeys(accounts):
            if account in self.index.opened:
                continue
            edit = self._opens.get(account)
            if edit is None:
                edit = Edit(set(), tuple(OpenSpec(self.config.open_date, account).lines()))
                self._opens[account] = edit
                self.edits.append(edit)
            edit.owners.add(position)
            needed.append(edit)
        return needed

    # -- customers ------------------------------------------------------------------------

    def _customer_of(self, request: WriteRequest) -> Customer:
        if not isinstance(request.record, Customer):
            raise RecordError(f"expected a customer, got {type(request.record).__name__}")
        return request.record

    def _existing_customer(self, request: WriteRequest) -> CustomerEntry:
        """The account to change: its target id, or wherever a person moved (renamed) it."""
        target = request.target_id or ""
        found = self.index.customers.get(target)
        if found is None and request.ledgerlink_id in self.index.customer_ids:
            found = self.index.customers[self.index.customer_ids[request.ledgerlink_id]]
        if found is None:
            raise RecordError(
                f"customer account {target or '(none)'} is not in the ledger",
                hint="It was removed by hand: restore its `open` directive, or unlink the record "
                "in ledgerlink so that the next sync creates it again",
            )
        owner = found.ledgerlink_id
        if owner and owner != request.ledgerlink_id:
            raise RecordError(
                f"customer account {target} belongs to another ledgerlink record ({owner})",
                hint="Check the link of this record (ledgerlink matches) before retrying",
            )
        return found

    def _create_customer(self, position: int, request: WriteRequest) -> Planned:
        customer = self._customer_of(request)
        existing = self.index.customer_ids.get(request.ledgerlink_id)
        if existing is not None:
            return Planned(existing)
        again = self._again(position, request)
        if again is not None:
            return again
        base = f"{self.config.receivable_account}:{account_segment(customer.display_name)}"
        account = unique_name(
            base,
            lambda name: name in self.index.opened or name in self._new_accounts,
        )
        spec = customer_open(customer, account, request.ledgerlink_id, self.config.open_date)
        edit = self._add(position, spec.lines())
        edits = [edit]
        if not customer.active:
            edits.append(self._close(position, account, request.ledgerlink_id, spec.date))
        self._new_accounts.add(account)
        self._created[f"customers:{request.ledgerlink_id}"] = (account, edit)
        return Planned(account, tuple(edits))

    def _update_customer(self, position: int, request: WriteRequest) -> Planned:
        customer = self._customer_of(request)
        entry = self._existing_customer(request)
        start, end = self._block(entry.open, "customer account", entry.account)
        code = customer_currency(customer)
        spec = customer_open(customer, entry.account, request.ledgerlink_id, entry.open.date)
        old_currencies = tuple(entry.open.currencies or ())
        changed = request.changed_fields
        if code and old_currencies != (code,) and (not changed or "currency" in changed):
            header = OpenSpec(entry.open.date, entry.account, (code,)).header()
        else:
            header = self.text.lines[start].rstrip("\n").removesuffix("\r")
        fresh = keyed_meta_lines(spec.meta, "  ")
        meta, trailing = self.text.merge_meta(start, end, fresh, customer_keys_for(changed))
        lines = [header, *meta, *trailing]
        reopen = self._close_block(entry) if customer.active and entry.close else None
        edits: list[Edit] = []
        if not self._unchanged(start, end, lines):
            edits.append(self._add(position, lines, start, end))
        if not customer.active:
            edits.extend(self._deactivate_customer(position, request).edits)
        elif reopen is not None:
            edits.append(self._add(position, [], *reopen))
        return Planned(entry.account, tuple(edits))

    def _close_block(self, entry: CustomerEntry) -> tuple[int, int]:
        """The lines of the ``close`` ledgerlink wrote, removed to make a customer active again."""
        close = entry.close
        if close is None or not meta_str(close.meta, LEDGERLINK_KEY):
            raise RecordError(
                f"customer account {entry.account} was closed by hand in the ledger",
                hint="Remove its `close` directive to make the customer active again",
            )
        return self._block(close, "close of", entry.account)

    def _deactivate_customer(self, position: int, request: WriteRequest) -> Planned:
        entry = self._existing_customer(request)
        if entry.close is not None:
            return Planned(entry.account)
        used = self.index.last_used.get(entry.account, entry.open.date)
        when = max(self.today, used, entry.open.date)
        return Planned(
            entry.account, (self._close(position, entry.account, request.ledgerlink_id, when),)
        )

    def _close(self, position: int, account: str, ledgerlink_id: str, when: date) -> Edit:
        key = f"close:{account}"
        edit = self._appended.get(key)
        if edit is None:
            spec = CloseSpec(when, account, ((LEDGERLINK_KEY, ledgerlink_id),))
            edit = self._add(position, spec.lines())
            self._appended[key] = edit
        edit.owners.add(position)
        return edit

    # -- invoices -------------------------------------------------------------------------

    def _accounts(self) -> InvoiceAccounts:
        return InvoiceAccounts(
            income=self.config.income_account,
            tax=self.config.tax_account,
            items=dict(self.config.item_accounts),
            default_currency=self.config.currency,
        )

    def _invoice_of(self, request: WriteRequest) -> Invoice:
        if not isinstance(request.record, Invoice):
            raise RecordError(f"expected an invoice, got {type(request.record).__name__}")
        return request.record

    def _customer_for(self, request: WriteRequest, fallback: str = "") -> str:
        account = request.references.get("customer", "") or fallback
        if not account:
            raise RecordError(
                "the invoice has no customer in the books",
                hint="Sync its customer first; the invoice is retried after it",
            )
        found = self.index.customers.get(account)
        if found is None:
            raise RecordError(
                f"customer account {account} is not in the ledger",
                hint="It was removed by hand: restore its `open` directive, or sync the customer "
                "again",
            )
        if found.close is not None:
            raise RecordError(
                f"customer account {account} is closed",
                hint="Make the customer active again before invoicing it",
            )
        return account

    def _create_invoice(self, position: int, request: WriteRequest) -> Planned:
        invoice = self._invoice_of(request)
        existing = self.index.invoice_ids.get(request.ledgerlink_id)
        if existing is not None:
            return Planned(existing)
        again = self._again(position, request)
        if again is not None:
            return again
        account = self._customer_for(request)
        link = unique_name(
            link_for(invoice.number, request.ledgerlink_id),
            lambda name: name in self.index.invoices or name in self._new_links,
        )
        spec = invoice_transaction(
            invoice,
            ledgerlink_id=request.ledgerlink_id,
            link=link,
            customer_account=account,
            payee=self.index.customer_name(account),
            accounts=self._accounts(),
        )
        opens = self._open_accounts(position, [p.account for p in spec.postings[1:]])
        edit = self._add(position, spec.lines())
        self._new_links.add(link)
        self._created[f"invoices:{request.ledgerlink_id}"] = (link, edit)
        return Planned(link, (*opens, edit))

    def _existing_invoice(self, request: WriteRequest) -> InvoiceEntry:
        """The invoice to change: by its link, or by ledgerlink's id when a person changed it."""
        target = request.target_id or ""
        found = self.index.invoices.get(target)
        if found is None and request.ledgerlink_id in self.index.invoice_ids:
            found = self.index.invoices[self.index.invoice_ids[request.ledgerlink_id]]
        if found is None:
            raise RecordError(
                f"invoice ^{target or '(none)'} is not in the ledger",
                hint="It was removed by hand: restore the transaction, or unlink the record in "
                "ledgerlink so that the next sync creates it again",
            )
        return found

    def _update_invoice(self, position: int, request: WriteRequest) -> Planned:
        invoice = self._invoice_of(request)
        entry = self._existing_invoice(request)
        if not entry.ledgerlink_id:
            raise RecordError(
                f"invoice ^{entry.link} was entered by hand; ledgerlink does not rewrite a "
                "person's transactions",
                hint=f'Edit it in the ledger, or add `ledgerlink: "{request.ledgerlink_id}"` to '
                "it to let ledgerlink manage it",
            )
        if entry.void is not None:
            raise RecordError(
                f"invoice ^{entry.link} is void", hint="A void invoice is not changed any more"
            )
        start, end = self._block(entry.txn, "invoice", "^" + entry.link)
        account = self._customer_for(request, entry.account)
        spec = invoice_transaction(
            invoice,
            ledgerlink_id=entry.ledgerlink_id,
            link=entry.link,
            customer_account=account,
            payee=self.index.customer_name(account),
            accounts=self._accounts(),
        )
        fresh = keyed_meta_lines(spec.meta, "  ")
        meta, trailing = self.text.merge_meta(start, end, fresh, INVOICE_KEYS)
        lines = [spec.header(), *meta, *spec.posting_lines(), *trailing]
        if self._unchanged(start, end, lines):
            return Planned(entry.link)
        opens = self._open_accounts(position, [p.account for p in spec.postings[1:]])
        return Planned(entry.link, (*opens, self._add(position, lines, start, end)))

    def _void_invoice(self, position: int, request: WriteRequest) -> Planned:
        entry = self._existing_invoice(request)
        if entry.void is not None:
            return Planned(entry.link)
        key = f"void:{entry.link}"
        edit = self._appended.get(key)
        if edit is None:
            spec = void_transaction(entry, request.ledgerlink_id, self.today)
            edit = self._add(position, spec.lines())
            self._appended[key] = edit
        edit.owners.add(position)
        return Planned(entry.link, (edit,))


def _check_encodable(lines: list[str]) -> None:
    try:
        "\n".join(lines).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RecordError(
            f"text holds a character that cannot be written as UTF-8 ({exc.object[exc.start]!r})",
            hint="Correct the text in the CRM",
        ) from None
