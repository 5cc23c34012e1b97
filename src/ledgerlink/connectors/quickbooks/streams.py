"""Readable streams: one small declaration per object, the query paginator and the CDC reader.

A read with no cursor is a paged query of everything. With a cursor (a QuickBooks timestamp) it
asks Change Data Capture for what changed since, within CDC's 30-day window; CDC's 1,000-object
cap, a refused CDC or an older cursor fall back to a paged query on ``MetaData.LastUpdatedTime``.
The next cursor is the server's own time of the first answer, less a look-back for clock skew.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ledgerlink.canonical.records import Change, ReadFailure
from ledgerlink.connectors.quickbooks.client import QboApi, quote, select
from ledgerlink.errors import LedgerlinkError, RecordError

log = logging.getLogger("ledgerlink.quickbooks")

CDC_WINDOW = timedelta(days=30)
CDC_MARGIN = timedelta(hours=1)
CDC_MAX_OBJECTS = 1000
LOOKBACK = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class QboStream:
    """A readable stream: its QuickBooks entity, key, cursor field and sort order."""

    name: str
    entity: str
    name_list: bool = False
    key: str = "Id"
    cursor_field: str = "MetaData.LastUpdatedTime"
    order_by: str = "MetaData.CreateTime"

    def select(self, since: str | None = None) -> str:
        """The query of this stream (inactive rows too), changed since ``since`` when given."""
        conditions: list[str] = []
        if self.name_list:
            conditions.append("Active IN (true, false)")
        if since:
            conditions.append(f"{self.cursor_field} >= {quote(since)}")
        return select(self.entity, *conditions, tail=f" ORDERBY {self.order_by}")


CUSTOMERS = QboStream("customers", "Customer", name_list=True)
INVOICES = QboStream("invoices", "Invoice")
PAYMENTS = QboStream("payments", "Payment")
STREAMS = {s.name: s for s in (PAYMENTS, INVOICES, CUSTOMERS)}


class QueryPaginator:
    """Pages a query with STARTPOSITION/MAXRESULTS.

    Stops on a short page, on a page that repeats the previous one (a server ignoring
    STARTPOSITION) and at ``max_pages``; the last two mark the read incomplete.
    """

    def __init__(self, api: QboApi, page_size: int, max_pages: int) -> None:
        self._api, self._size, self._max = api, page_size, max_pages
        self.complete = True
        self.server_time = ""
        self.pages = 0

    def rows(self, entity: str, statement: str) -> Iterator[dict[str, Any]]:
        """Every row of ``statement``, page by page."""
        previous: str | None = None
        for page in range(self._max):
            start = page * self._size + 1
            result, time = self._api.query(
                f"{statement} STARTPOSITION {start} MAXRESULTS {self._size}"
            )
            self.pages += 1
            if page == 0:
                self.server_time = time
            rows = [r for r in result.get(entity) or [] if isinstance(r, dict)]
            first = str(rows[0].get("Id")) if rows else None
            if rows and first == previous:
                log.warning("QuickBooks repeated a page of %s; stopping this read", entity)
                self.complete = False
                return
            previous = first
            yield from rows
            if len(rows) < self._size:
                return
        log.warning(
            "reading %s stopped after %d pages (max_pages); the cursor stays where it was",
            entity,
            self._max,
        )
        self.complete = False


def parse_time(text: str | None) -> datetime | None:
    """A QuickBooks timestamp (or cursor) as an aware datetime; None when absent or unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def next_cursor(server_time: str, fallback: datetime) -> str:
    """The cursor to resume from: the server's time less the look-back, second precision."""
    moment = parse_time(server_time) or fallback
    return (moment - LOOKBACK).isoformat(timespec="seconds")


#: Builds the changes of a page of rows (at most ``page_size``), in order.
Build = Callable[[list[dict[str, Any]]], list[Change | ReadFailure]]


class StreamReader:
    """A ``StreamRead`` over one QuickBooks stream; pages lazily, cursor known at the end."""

    def __init__(
        self,
        api: QboApi,
        stream: QboStream,
        cursor: str | None,
        *,
        page_size: int,
        max_pages: int,
        now: Callable[[], datetime],
        build: Build,
    ) -> None:
        self._api, self._stream, self._cursor = api, stream, cursor
        self._page_size, self._max_pages = page_size, max_pages
        self._now, self._build = now, build
        self._next: str | None = cursor
        self.used_cdc = False

    def cursor(self) -> str | None:
        """Where the next read starts (unchanged when this read stopped early)."""
        return self._next

    def __iter__(self) -> Iterator[Change | ReadFailure]:
        since = parse_time(self._cursor)
        started = self._now()
        rows: Iterator[dict[str, Any]] | None = None
        if since is not None and started - since < CDC_WINDOW - CDC_MARGIN:
            rows = self._cdc(since, started)
        if rows is None:
            rows = self._query(since, started)
        chunk: list[dict[str, Any]] = []
        for row in rows:  # built a page at a time, so a page's lookups are one call
            chunk.append(row)
            if len(chunk) >= self._page_size:
                yield from self._build(chunk)
                chunk = []
        if chunk:
            yield from self._build(chunk)

    def _cdc(self, since: datetime, started: datetime) -> Iterator[dict[str, Any]] | None:
        entity = self._stream.entity
        try:
            responses, time = self._api.cdc(entity, since.isoformat(timespec="seconds"))
        except RecordError as error:  # a 400: CDC refused this window
            log.info("CDC refused for %s (%s); reading with a query instead", entity, error)
            return None
        rows = [
            row
            for response in responses
            for row in response.get(entity) or []
            if isinstance(row, dict)
        ]
        if len(rows) >= CDC_MAX_OBJECTS:
            log.info("CDC hit its %d-object cap for %s; paging instead", CDC_MAX_OBJECTS, entity)
            return None
        self.used_cdc = True
        self._next = next_cursor(time, started)
        return iter(rows)

    def _query(self, since: datetime | None, started: datetime) -> Iterator[dict[str, Any]]:
        paginator = QueryPaginator(self._api, self._page_size, self._max_pages)
        statement = self._stream.select(since.isoformat(timespec="seconds") if since else None)
        yield from paginator.rows(self._stream.entity, statement)
        if paginator.complete:
            self._next = next_cursor(paginator.server_time, started)


def failure(key: str, location: str, error: LedgerlinkError, raw: dict[str, str]) -> ReadFailure:
    """A row that could not become a record, kept with what QuickBooks sent."""
    record_error = error if isinstance(error, RecordError) else RecordError(error.message)
    return ReadFailure(key=key, location=location, error=record_error, raw=raw)
