"""The QuickBooks Online connector: a target for customers and invoices, a source of payments."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime

import httpx

from ledgerlink.canonical.records import Change, ReadFailure, Record, TargetRecord
from ledgerlink.connectors.base import (
    ConnectorContext,
    StreamRead,
    TargetCapabilities,
    WriteOutcome,
    WriteRequest,
)
from ledgerlink.connectors.http import HttpClient, OAuth2RefreshAuth, RateBudgets
from ledgerlink.connectors.quickbooks.client import SYSTEM, QboApi, build_http
from ledgerlink.connectors.quickbooks.config import QuickBooksOnlineConfig
from ledgerlink.connectors.quickbooks.dto import CustomerDto, InvoiceDto, PaymentDto
from ledgerlink.connectors.quickbooks.items import ItemCatalog
from ledgerlink.connectors.quickbooks.paid import paid_on, payment_dates
from ledgerlink.connectors.quickbooks.streams import (
    CUSTOMERS,
    INVOICES,
    STREAMS,
    QboStream,
    QueryPaginator,
    StreamReader,
    parse_time,
)
from ledgerlink.connectors.quickbooks.translate import (
    customer_from_dto,
    invoice_from_dto,
    payments_from_dto,
)
from ledgerlink.connectors.quickbooks.writer import QboWriter
from ledgerlink.errors import (
    ConnectionFailedError,
    ErrorContext,
    LedgerlinkError,
    RecordError,
    TransientError,
)

WRITABLE = ("customers", "invoices")
READABLE = ("payments", "invoices", "customers")


def _deleted(entity: str, identifier: str) -> Record:
    raise RecordError(f"{entity} {identifier} was deleted in QuickBooks")


def _invoice_dtos(rows: list[dict[str, object]]) -> list[InvoiceDto]:
    """The rows that are valid invoices (the others become read failures, one by one)."""
    found: list[InvoiceDto] = []
    for row in rows:
        try:
            found.append(InvoiceDto.model_validate(row))
        except ValueError:
            continue
    return found


#: What a QuickBooks read gives back as written: terms and credit limit are not read, and the
#: currency comes back filled in with the company's home currency when the customer had none.
ROUND_TRIP_FIELDS = {
    "customers": (
        "display_name",
        "given_name",
        "family_name",
        "company",
        "email",
        "phone",
        "billing_address",
        "tax_id",
        "notes",
    ),
    "invoices": ("number", "status", "balance", "paid_on"),
}


class QuickBooksOnlineConnector:
    """QuickBooks Online as books: writes customers and invoices, reads payments and status.

    Nothing touches the network until the first call: the HTTP client (OAuth2 refresh with
    rotation stored through ``context.tokens``, rate budget per realm, retries) is built then.
    Without a token store, rotated tokens live in memory only for the process's life. Pass
    ``budgets`` to share one rate budget per company between connections or workers.
    """

    system = SYSTEM

    def __init__(
        self,
        config: QuickBooksOnlineConfig,
        context: ConnectorContext,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        budgets: RateBudgets | None = None,
    ) -> None:
        self.config = config
        self._budgets = budgets
        self.context = context
        self._transport = transport
        self._clock, self._monotonic, self._sleep = clock, monotonic, sleep
        self._parts: tuple[HttpClient, OAuth2RefreshAuth, QboApi, QboWriter, ItemCatalog] | None = (
            None
        )
        self._wiring = threading.Lock()

    # -- wiring ---------------------------------------------------------------------------

    def _wired(self) -> tuple[HttpClient, OAuth2RefreshAuth, QboApi, QboWriter, ItemCatalog]:
        with self._wiring:  # one client per connection, even when threads arrive together
            return self._wire()

    def _wire(self) -> tuple[HttpClient, OAuth2RefreshAuth, QboApi, QboWriter, ItemCatalog]:
        if self._parts is None:
            http, auth = build_http(
                self.config,
                connection=self.context.name,
                tokens=self.context.tokens,
                transport=self._transport,
                clock=self._clock,
                monotonic=self._monotonic,
                sleep=self._sleep,
                budgets=self._budgets,
            )
            api = QboApi(self.config, http)
            items = ItemCatalog(api, self.config)
            self._parts = (http, auth, api, QboWriter(api, self.config, items), items)
        return self._parts

    @property
    def http(self) -> HttpClient:
        """The connection's HTTP client (its ``stats`` count the calls made)."""
        return self._wired()[0]

    @property
    def api(self) -> QboApi:
        """The QuickBooks calls of this connection."""
        return self._wired()[2]

    def close(self) -> None:
        """Release the connection pool."""
        if self._parts is not None:
            self._parts[0].close()

    # -- both sides -----------------------------------------------------------------------

    def check(self) -> str:
        """Reach the company with the configured credentials; describe it."""
        try:
            info = self.api.company_info()
        except TransientError as error:
            raise ConnectionFailedError(
                f"QuickBooks could not be reached: {error.message}",
                hint="Check `base_url` and the network, then run `ledgerlink check` again",
                context=ErrorContext(system=SYSTEM, location=self.context.name),
            ) from None
        name = info.get("CompanyName") or "(unnamed)"
        return f"QuickBooks Online company {name!r} (realm {self.config.realm_id})"

    def writable_streams(self) -> tuple[str, ...]:
        """Customers and invoices."""
        return WRITABLE

    def readable_streams(self) -> tuple[str, ...]:
        """Payments, invoices (with status and balance) and customers."""
        return READABLE

    def capabilities(self) -> TargetCapabilities:
        """Batches of up to 30, idempotent by requestid, tax on the document, half-up cents."""
        return TargetCapabilities(
            max_batch_size=self.config.batch_size,
            rounding="half-up",
            tax_mode="document",
            idempotency="key",
            default_currency=self.config.currency,
            round_trip_fields=ROUND_TRIP_FIELDS,
        )

    # -- reading --------------------------------------------------------------------------

    def read_existing(self, stream: str) -> Iterator[TargetRecord]:
        """Every customer (inactive ones too, as ``active=False``) or invoice in the company."""
        declared = self._stream(stream, WRITABLE)
        paginator = QueryPaginator(self.api, self.config.page_size, self.config.max_pages)
        for row in paginator.rows(declared.entity, declared.select()):
            if declared is CUSTOMERS:
                customer, stamp = customer_from_dto(CustomerDto.model_validate(row))
                yield TargetRecord(str(row.get("Id")), customer, stamp)
            else:
                invoice, stamp = invoice_from_dto(
                    InvoiceDto.model_validate(row), self.config.currency, self.config.default_item
                )
                yield TargetRecord(str(row.get("Id")), invoice, stamp)

    def read(self, stream: str, cursor: str | None) -> StreamRead:
        """What changed since ``cursor`` (everything when None); the cursor is a timestamp."""
        declared = self._stream(stream, READABLE)
        return StreamReader(
            self.api,
            declared,
            cursor,
            page_size=self.config.page_size,
            max_pages=self.config.max_pages,
            now=lambda: datetime.fromtimestamp(self._clock(), UTC),
            build=lambda rows: self._changes_of(declared, rows),
        )

    def _changes_of(
        self, stream: QboStream, rows: list[dict[str, object]]
    ) -> list[Change | ReadFailure]:
        dates: dict[str, date] = {}
        if stream is INVOICES:  # the paid dates of a page's paid invoices: one lookup
            dates = payment_dates(self.api, _invoice_dtos(rows))
        return [item for row in rows for item in self._changes(stream, row, dates)]

    def _changes(
        self, stream: QboStream, row: dict[str, object], dates: dict[str, date]
    ) -> list[Change | ReadFailure]:
        identifier = str(row.get("Id") or "")
        location = f"{stream.entity} {identifier}"
        if row.get("status") == "Deleted":
            key = f"{identifier}:*" if stream.name == "payments" else identifier
            return [
                Change(
                    key=key,
                    version=f"deleted:{(row.get('MetaData') or {})!s}",
                    load=lambda: _deleted(stream.entity, identifier),
                    location=location,
                    raw={"Id": identifier, "status": "Deleted"},
                    deleted=True,
                )
            ]
        try:
            if stream is CUSTOMERS:
                dto = CustomerDto.model_validate(row)
                customer, _ = customer_from_dto(dto)
                records: list[tuple[str, Record]] = [(identifier, customer)]
                version = str(dto.sync_token)
                updated = parse_time(dto.meta.last_updated_time if dto.meta else None)
            elif stream is INVOICES:
                invoice_dto = InvoiceDto.model_validate(row)
                invoice, _ = invoice_from_dto(
                    invoice_dto,
                    self.config.currency,
                    self.config.default_item,
                    paid_on=paid_on(invoice_dto, dates),
                )
                records = [(identifier, invoice)]
                version = f"{invoice_dto.sync_token}:{invoice_dto.balance}:{invoice_dto.status}"
                meta = invoice_dto.meta
                updated = parse_time(meta.last_updated_time if meta else None)
            else:
                payment = PaymentDto.model_validate(row)
                records = list(payments_from_dto(payment, self.config.currency))
                version = str(payment.sync_token)
                updated = parse_time(payment.meta.last_updated_time if payment.meta else None)
        except (ValueError, LedgerlinkError) as error:
            problem = error if isinstance(error, RecordError) else RecordError(str(error))
            return [ReadFailure(identifier, location, problem, {"Id": identifier})]
        return [
            replace(
                Change.of(key, record, version=f"{version}:{key}", location=location),
                updated_at=updated,
            )
            for key, record in records
        ]

    @staticmethod
    def _stream(stream: str, allowed: tuple[str, ...]) -> QboStream:
        if stream not in allowed:
            raise RecordError(
                f"the QuickBooks connector has no stream {stream!r}",
                hint=f"Use one of: {', '.join(allowed)}",
            )
        return STREAMS[stream]

    # -- writing --------------------------------------------------------------------------

    def apply(self, requests: Sequence[WriteRequest]) -> list[WriteOutcome]:
        """Apply one stream's writes in batches of up to 30; one outcome per request, in order."""
        if not requests:
            return []
        return self._wired()[3].apply(requests)
