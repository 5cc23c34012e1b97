"""When an invoice was paid: the latest payment applied to it, looked up in one query per page.

QuickBooks keeps no "paid on" date on an invoice. A fully paid invoice (``Balance`` 0) lists the
payments applied to it in its ``LinkedTxn`` (``TxnType: "Payment"``, reference §1.3: "On the
Invoice side the link is mirrored in Invoice.LinkedTxn"), and each Payment has its ``TxnDate``.
So for each page of invoices read, the payments of the paid ones are fetched in ONE query
(``SELECT * FROM Payment WHERE Id IN (...)``), and the paid date is the latest of their dates:
the day the balance reached zero, as the books record it (not the day someone typed it in).

When that lookup is not possible (the query is refused, a payment was deleted, the invoice was
settled by something other than a Payment, e.g. a credit memo or a journal), the paid date is the
date of ``MetaData.LastUpdatedTime`` (in the company's own offset): the last change of a paid
invoice is, in the usual case, the payment that paid it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from ledgerlink.connectors.quickbooks.client import QboApi, in_list, select
from ledgerlink.connectors.quickbooks.dto import InvoiceDto
from ledgerlink.connectors.quickbooks.streams import parse_time
from ledgerlink.errors import RecordError

log = logging.getLogger("ledgerlink.quickbooks")

#: Payment ids per lookup query (well under MAXRESULTS, and a short statement).
IDS_PER_QUERY = 100


def is_paid(dto: InvoiceDto) -> bool:
    """True for a live invoice with something to pay and nothing left to pay."""
    total = dto.total or Decimal(0)
    return dto.status != "Voided" and dto.balance is not None and dto.balance == 0 and total > 0


def payment_ids(dto: InvoiceDto) -> list[str]:
    """The ids of the payments applied to the invoice, as its ``LinkedTxn`` lists them."""
    return [link.txn_id for link in dto.linked or [] if link.txn_type == "Payment"]


def payment_dates(api: QboApi, invoices: Iterable[InvoiceDto]) -> dict[str, date]:
    """Payment id -> TxnDate, for the payments applied to the paid invoices among ``invoices``.

    One query per 100 payments; a refused query leaves those payments out (the caller then falls
    back to the invoice's last update).
    """
    wanted = list(dict.fromkeys(i for dto in invoices if is_paid(dto) for i in payment_ids(dto)))
    found: dict[str, date] = {}
    for start in range(0, len(wanted), IDS_PER_QUERY):
        chunk = wanted[start : start + IDS_PER_QUERY]
        statement = select("Payment", in_list("Id", chunk), tail=f" MAXRESULTS {IDS_PER_QUERY}")
        try:
            result, _ = api.query(statement)
        except RecordError as error:
            log.info("looking up payments for paid dates failed (%s); using update dates", error)
            continue
        found.update(_dates(result.get("Payment") or []))
    return found


def _dates(rows: Sequence[Any]) -> Mapping[str, date]:
    dates: dict[str, date] = {}
    for row in rows:
        if isinstance(row, dict) and row.get("Id") and row.get("TxnDate"):
            try:
                dates[str(row["Id"])] = date.fromisoformat(str(row["TxnDate"]))
            except ValueError:
                continue
    return dates


def paid_on(dto: InvoiceDto, dates: Mapping[str, date]) -> date | None:
    """The date a paid invoice was paid (None while something is left to pay)."""
    if not is_paid(dto):
        return None
    known = [dates[i] for i in payment_ids(dto) if i in dates]
    if known:
        return max(known)
    updated = parse_time(dto.meta.last_updated_time if dto.meta else None)
    return updated.date() if updated else None
