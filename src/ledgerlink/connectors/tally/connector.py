"""The Tally connector: writes customers, invoices and receipts; reads them and payments back."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime

import httpx

from ledgerlink.canonical.records import Customer, Invoice, TargetRecord
from ledgerlink.connectors.base import (
    ConnectorContext,
    ListRead,
    StreamRead,
    TargetCapabilities,
    WriteOutcome,
    WriteRequest,
)
from ledgerlink.connectors.tally.client import SYSTEM, TallyClient
from ledgerlink.connectors.tally.config import TallyConfig
from ledgerlink.connectors.tally.directory import TallyDirectory
from ledgerlink.connectors.tally.filemode import FileWriter
from ledgerlink.connectors.tally.preview import describe_invoice
from ledgerlink.connectors.tally.reader import READABLE, TallyReader
from ledgerlink.connectors.tally.writer import WRITABLE, HttpWriter
from ledgerlink.errors import ConnectionFailedError, RecordError


def _local_today() -> date:
    return datetime.now(UTC).astimezone().date()


class TallyConnector:
    """TallyPrime / Tally.ERP 9 as books, over its XML HTTP server or through import files.

    Everything ledgerlink creates carries its id as ``REMOTEID`` (Tally makes it the object's
    GUID), so a create sent twice alters the first instead of duplicating it. Construction does
    no I/O; ``transport`` lets tests put an emulator behind ``httpx``.
    """

    system = SYSTEM

    def __init__(
        self,
        config: TallyConfig,
        context: ConnectorContext,
        *,
        transport: httpx.BaseTransport | None = None,
        today: Callable[[], date] | None = None,
    ) -> None:
        self.config = config
        self.context = context
        self._today = today or _local_today
        self.client: TallyClient | None = None
        self.files: FileWriter | None = None
        if config.url is not None:
            self.client = TallyClient(
                config.url,
                config.company or "",
                encoding=config.encoding,
                connect_timeout=config.connect_timeout_seconds,
                timeout=config.timeout_seconds,
                transport=transport,
            )
            self.directory = TallyDirectory(self.client, config.currency)
            self.writer = HttpWriter(self.client, config, self.directory, self._today)
            self.reader = TallyReader(self.client, config)
        else:
            self.files = FileWriter(config, context.resolve(config.file or ""), self._today)

    # -- both sides -----------------------------------------------------------------------

    def check(self) -> str:
        """Reach Tally and find the company (or, in file mode, say which files to import)."""
        if self.files is not None:
            folder = self.files.paths.manifest.parent
            if not folder.is_dir():
                raise ConnectionFailedError(
                    f"the folder {folder} for Tally import files does not exist",
                    hint="Create it, or correct `file:`",
                )
            return self.files.describe()
        info = self.directory.refresh()
        parties = sum(
            1 for ledger in self.directory.ledgers() if ledger.parent == self.config.party_group
        )
        last = max(info.alt_master_id, info.alt_voucher_id)
        return (
            f"Tally at {self.config.url}: company {info.name!r}, {parties} party ledger(s) "
            f"under {self.config.party_group}, last alteration {last}"
        )

    def close(self) -> None:
        """Close the HTTP connection pool, if any."""
        if self.client is not None:
            self.client.close()

    # -- target ---------------------------------------------------------------------------

    def writable_streams(self) -> tuple[str, ...]:
        """Customers (party ledgers), invoices (Sales vouchers; voids as Credit Notes) and
        payments (Receipt vouchers)."""
        return WRITABLE

    def capabilities(self) -> TargetCapabilities:
        """Vouchers per envelope, REMOTEID idempotency, half-up rounding, GST per the config."""
        return TargetCapabilities(
            max_batch_size=self.config.batch_size,
            rounding="half-up",
            tax_mode=self.config.tax_mode,
            idempotency="key",
            default_currency=self.config.currency,
        )

    def read_existing(self, stream: str) -> Iterator[TargetRecord]:
        """Party ledgers (hand-made ones too) or Sales vouchers already in Tally.

        In file mode only what ledgerlink exported is known.
        """
        if stream not in ("customers", "invoices"):
            raise RecordError(f"the Tally connector cannot list {stream!r}")
        if self.files is not None:
            if stream == "customers":
                for name, ledger in self.files.manifest().ledgers.items():
                    customer = Customer(display_name=name, tax_id=ledger.get("gstin", ""))
                    yield TargetRecord(name, customer, ledger.get("guid", ""))
            return
        if stream == "customers":
            yield from self.reader.existing_customers()
        else:
            yield from self.reader.existing_invoices()

    def apply(self, requests: Sequence[WriteRequest]) -> list[WriteOutcome]:
        """Apply a batch; one outcome per request, one bad object never failing the others."""
        if not requests:
            return []
        if self.files is not None:
            return self.files.apply(requests)
        return self.writer.apply(requests)

    # -- source ---------------------------------------------------------------------------

    def describe_invoice(self, invoice: Invoice, customer: Customer | None) -> str:
        """The voucher's GST split in words, for the plan."""
        return describe_invoice(self.config, invoice, customer)

    def readable_streams(self) -> tuple[str, ...]:
        """Payments (receipts), invoices with status, customers; none in file mode."""
        return () if self.files is not None else READABLE

    def read(self, stream: str, cursor: str | None) -> StreamRead:
        """Read a stream incrementally; an unchanged company costs a few small requests."""
        if self.files is not None:
            return ListRead([], cursor)
        if stream == "customers":
            return self.reader.read_customers(cursor)
        if stream == "invoices":
            return self.reader.read_invoices(cursor)
        if stream == "payments":
            return self.reader.read_payments(cursor)
        raise RecordError(
            f"the Tally connector has no stream {stream!r}",
            hint=f"Use one of: {', '.join(READABLE)}",
        )
