"""The Beancount connector: customers and invoices written to a ledger file, payments read back."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from ledgerlink.canonical.records import Change, Record, TargetRecord
from ledgerlink.canonical.serialise import record_digest
from ledgerlink.connectors.base import (
    ConnectorContext,
    ListRead,
    StreamRead,
    TargetCapabilities,
    WriteOutcome,
    WriteRequest,
)
from ledgerlink.connectors.beancount.config import BeancountConfig
from ledgerlink.connectors.beancount.index import LedgerIndex, build_index
from ledgerlink.connectors.beancount.ledger import (
    SYSTEM,
    LedgerSnapshot,
    load_snapshot,
    read_bytes,
    starter_text,
)
from ledgerlink.connectors.beancount.settle import rejection, settle
from ledgerlink.connectors.beancount.text import LedgerText
from ledgerlink.connectors.beancount.translate import entry_customer, entry_invoice, entry_payment
from ledgerlink.connectors.beancount.writer import BatchPlanner, Planned
from ledgerlink.errors import (
    ConnectionFailedError,
    ErrorContext,
    FatalError,
    LedgerlinkError,
    RecordError,
)

WRITABLE = ("customers", "invoices")
READABLE = ("payments", "invoices", "customers")


def _local_today() -> date:
    return datetime.now(UTC).astimezone().date()


class BeancountConnector:
    """A Beancount ledger as books: a target for customers and invoices, a source of payments.

    Every write loads the ledger once with Beancount's own loader, refuses to touch a ledger
    that does not load, validates the whole new text before replacing the file atomically, and
    answers for each request separately.
    """

    system = SYSTEM

    def __init__(
        self,
        config: BeancountConfig,
        context: ConnectorContext,
        *,
        today: Callable[[], date] | None = None,
    ) -> None:
        self.config = config
        self.context = context
        self.path = context.resolve(config.path)
        self._today = today or _local_today
        self._cache: tuple[LedgerSnapshot, LedgerIndex] | None = None
        self.last_validations = 0

    # -- both sides -----------------------------------------------------------------------

    def check(self) -> str:
        """Load the ledger as ``bean-check`` would; describe it, or raise if it cannot be used."""
        try:
            loaded = self._load(for_write=False)
        except FatalError as error:
            raise ConnectionFailedError(
                error.message, hint=error.hint, context=error.context, details=error.details
            ) from None
        if loaded is None:
            return f"Beancount ledger {self.path} does not exist yet; the first sync creates it"
        _, index = loaded
        return (
            f"Beancount ledger {self.path}: {len(index.customers)} customer account(s), "
            f"{len(index.invoices)} invoice(s), {len(index.payments)} payment(s)"
        )

    def writable_streams(self) -> tuple[str, ...]:
        """Customers (open/close directives) and invoices (transactions)."""
        return WRITABLE

    def readable_streams(self) -> tuple[str, ...]:
        """Payments a person recorded, invoices with their status, and customers."""
        return READABLE

    def capabilities(self) -> TargetCapabilities:
        """Large batches (one load and one validation each), idempotent by stamped id."""
        return TargetCapabilities(
            max_batch_size=self.config.batch_size,
            rounding=self.config.rounding,
            tax_mode=self.config.tax_mode,
            idempotency="key",
            default_currency=self.config.currency,
        )

    # -- reading --------------------------------------------------------------------------

    def read_existing(self, stream: str) -> Iterator[TargetRecord]:
        """Every customer account below the receivable account (opened by hand or not) or
        every invoice (a transaction charging one, with a link)."""
        self._known(stream, WRITABLE)
        loaded = self._load(for_write=False)
        if loaded is None:
            return
        _, index = loaded
        if stream == "customers":
            for account, customer in index.customers.items():
                yield TargetRecord(account, entry_customer(customer), customer.ledgerlink_id)
        else:
            for link, invoice in index.invoices.items():
                record = entry_invoice(invoice, self.config.tax_account)
                yield TargetRecord(link, record, invoice.ledgerlink_id)

    def read(self, stream: str, cursor: str | None) -> StreamRead:
        """The whole stream, or nothing when the ledger (and its includes) are as at ``cursor``."""
        self._known(stream, READABLE)
        loaded = self._load(for_write=False)
        if loaded is None:
            return ListRead([], cursor)
        snapshot, index = loaded
        version = f"sha256:{_digest(snapshot)}"
        if cursor == version:
            return ListRead([], cursor)
        records: list[tuple[str, Record]] = []
        if stream == "customers":
            records = [(a, entry_customer(c)) for a, c in index.customers.items()]
        elif stream == "invoices":
            tax = self.config.tax_account
            records = [(lk, entry_invoice(i, tax)) for lk, i in index.invoices.items()]
        else:
            seen: dict[str, int] = {}
            for payment in index.payments:
                record = entry_payment(payment)
                key = f"payment:{record_digest(record)[:16]}"
                seen[key] = seen.get(key, 0) + 1
                records.append((key if seen[key] == 1 else f"{key}-{seen[key]}", record))
        changes = [Change.of(key, rec, version=record_digest(rec)) for key, rec in records]
        return ListRead(changes, version)

    # -- writing --------------------------------------------------------------------------

    def apply(self, requests: Sequence[WriteRequest]) -> list[WriteOutcome]:
        """Apply a batch: one load, one validation, one atomic write; one outcome per request."""
        outcomes: dict[int, WriteOutcome] = {}
        by_stream: dict[str, list[int]] = {}
        for position, request in enumerate(requests):
            if request.stream in WRITABLE:
                by_stream.setdefault(request.stream, []).append(position)
            else:
                error = RecordError(
                    f"the Beancount connector does not write {request.stream!r}",
                    hint=f"It writes {', '.join(WRITABLE)}",
                )
                outcomes[position] = self._failed(request, error)
        for positions in by_stream.values():
            outcomes.update(self._apply_stream([(p, requests[p]) for p in positions]))
        return [outcomes[position] for position in range(len(requests))]

    def _apply_stream(self, batch: list[tuple[int, WriteRequest]]) -> dict[int, WriteOutcome]:
        loaded = self._load(for_write=True)
        assert loaded is not None  # for_write creates or raises
        snapshot, index = loaded
        planner = BatchPlanner(self.config, snapshot.text, index, self._today())
        outcomes: dict[int, WriteOutcome] = {}
        planned: dict[int, Planned] = {}
        for position, request in batch:
            try:
                planned[position] = planner.plan(position, request)
            except RecordError as error:
                for edit in planner.edits:
                    edit.owners.discard(position)
                outcomes[position] = self._failed(request, error)
        edits = [edit for edit in planner.edits if edit.owners]
        settlement = settle(snapshot, edits)
        self.last_validations = settlement.validations
        if settlement.written is not None:
            written = settlement.written
            self._cache = (
                written,
                build_index(written.entries, index.receivable, written.main_name),
            )
        requests = dict(batch)
        for position, plan in planned.items():
            request = requests[position]
            if position in settlement.rejected:
                rejected = rejection(settlement.rejected[position], request.stream[:-1])
                outcomes[position] = self._failed(request, rejected)
            else:
                outcomes[position] = WriteOutcome(request, target_id=plan.target_id)
        return outcomes

    # -- helpers --------------------------------------------------------------------------

    def _failed(self, request: WriteRequest, error: LedgerlinkError) -> WriteOutcome:
        error.with_context(
            system=SYSTEM,
            stream=request.stream,
            record=request.ledgerlink_id,
            location=str(self.path),
        )
        return WriteOutcome(request, error=error)

    @staticmethod
    def _known(stream: str, streams: tuple[str, ...]) -> None:
        if stream not in streams:
            raise RecordError(
                f"the Beancount connector has no stream {stream!r}",
                hint=f"Use one of: {', '.join(streams)}",
            )

    def _load(self, *, for_write: bool) -> tuple[LedgerSnapshot, LedgerIndex] | None:
        """The ledger as it is now, from the cache when its bytes have not changed."""
        path = self._real_path()
        data = read_bytes(path)
        if data is None:
            if not self.config.create:
                raise ConnectionFailedError(
                    f"the ledger {self.path} does not exist",
                    hint="Create it, correct `path:`, or set `create: true`",
                    context=ErrorContext(system=SYSTEM, location=str(self.path)),
                )
            return self._new_ledger(path) if for_write else None
        if self._cache is not None and self._cache[0].still_current(data):
            return self._cache
        snapshot = load_snapshot(path, data)
        index = build_index(snapshot.entries, self.config.receivable_account, snapshot.main_name)
        self._cache = (snapshot, index)
        return self._cache

    def _real_path(self) -> Path:
        """The file itself when ``path`` is a symbolic link: the link stays, its target changes."""
        return Path(os.path.realpath(self.path))

    def _new_ledger(self, path: Path) -> tuple[LedgerSnapshot, LedgerIndex]:
        if not path.parent.is_dir():
            raise ConnectionFailedError(
                f"the folder of the ledger {self.path} does not exist",
                hint="Create the folder, or correct `path:`",
                context=ErrorContext(system=SYSTEM, location=str(self.path)),
            )
        text = starter_text(self.config.currency)
        snapshot = LedgerSnapshot(
            path=path,
            data=b"",
            text=LedgerText.parse(text),
            entries=[],
            options={},
            main_name=str(path),
            exists=False,
        )
        return snapshot, build_index([], self.config.receivable_account, str(path))


def _digest(snapshot: LedgerSnapshot) -> str:
    """Changes when the bytes of the main file or of any included file do."""
    digest = hashlib.sha256(snapshot.data)
    digest.update(repr(sorted(snapshot.includes.items())).encode())
    return digest.hexdigest()
