"""Write-back into GoldMine: an invoice's number and paid status on the contact and opportunity.

GoldMine shows CONTACT2 user fields on the contact screen, so the account's latest invoice number
and paid status go there; an opportunity becomes one invoice, so when ``opportunity_fields`` is
configured they also go into that opportunity's OPMGR user fields (F1-F3). Each update is one
transaction and stamps CONTACT1's LASTDATE/LASTTIME/LASTUSER the way GoldMine's own write procedures
do (date at midnight plus local ``HH:MM``).

The reader's versions leave out those write-back fields and the stamps, so reading the contact
again after a write-back finds it unchanged: ledgerlink's own writes never come back as changes.
Sync-log (CONTTLOG/GMTLOG) rows are not written: their 7-character stamp encoding is not published,
so GoldSync remote sites do not receive these two fields.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, update
from sqlalchemy.exc import DataError, SQLAlchemyError

from ledgerlink.connectors.goldmine.config import GoldMineConfig
from ledgerlink.connectors.goldmine.schema import GoldMineTables
from ledgerlink.connectors.goldmine.stamps import goldmine_stamp
from ledgerlink.errors import ConfigError, ErrorContext, LedgerlinkError, RecordError

RECID_LENGTH = 15
_RECID_ALPHABET = string.ascii_uppercase + string.digits + "#$%&()*+-/"
_BASE36 = string.digits + string.ascii_uppercase


@dataclass(frozen=True, slots=True)
class InvoiceStatus:
    """What the books say about the invoice of an account (and of one opportunity of it)."""

    account_no: str
    invoice_number: str
    paid: bool
    opportunity: str | None = None


def new_recid(now: datetime) -> str:
    """A unique 15-character RECID: base-36 time in microseconds, then random characters.

    GoldMine's own RECID algorithm is not published; this keeps its length and uniqueness.
    """
    micros = int(now.timestamp() * 1_000_000)
    stamp = ""
    while micros:
        micros, digit = divmod(micros, 36)
        stamp = _BASE36[digit] + stamp
    tail = "".join(secrets.choice(_RECID_ALPHABET) for _ in range(RECID_LENGTH - len(stamp)))
    return (stamp + tail)[:RECID_LENGTH]


class GoldMineWriteBack:
    """Writes invoice numbers and paid statuses into GoldMine's SQL database."""

    def __init__(
        self,
        engine: Engine,
        tables: GoldMineTables,
        config: GoldMineConfig,
        *,
        clock: Callable[[], datetime] | None = None,
        on_error: Callable[[SQLAlchemyError, str], LedgerlinkError] | None = None,
    ) -> None:
        self._engine = engine
        self._tables = tables
        self._config = config
        self._clock = clock or (lambda: datetime.now(UTC))
        self._on_error = on_error

    def record_invoice(self, status: InvoiceStatus) -> datetime:
        """Write one invoice's number and paid status; return the stamp written (GoldMine's zone).

        Raises ``RecordError`` (nothing written) when the account or the opportunity is unknown
        or a value does not fit its field.
        """
        location = f"CONTACT1 ACCOUNTNO={status.account_no}"
        local = self._clock().astimezone(self._config.zone()).replace(second=0, microsecond=0)
        try:
            with self._engine.begin() as conn:
                self._stamp_contact(conn, status, local, location)
                self._write_contact2(conn, status, local)
                if status.opportunity is not None:
                    self._write_opportunity(conn, status)
        except DataError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise RecordError(
                f"GoldMine refused the invoice {status.invoice_number!r}: {reason}",
                hint="Make the GoldMine user field longer, or shorten the invoice numbers",
                context=ErrorContext(system="goldmine", location=location),
            ) from None
        except SQLAlchemyError as exc:
            if self._on_error is None:
                raise
            raise self._on_error(exc, "writing back to GoldMine") from None
        return local

    def record_invoices(self, statuses: Sequence[InvoiceStatus]) -> list[LedgerlinkError | None]:
        """Write each status in its own transaction; one outcome per status, ``None`` for done."""
        outcomes: list[LedgerlinkError | None] = []
        for status in statuses:
            try:
                self.record_invoice(status)
            except RecordError as error:
                outcomes.append(error)
            else:
                outcomes.append(None)
        return outcomes

    def _paid_text(self, paid: bool) -> str:
        fields = self._config.user_fields
        return fields.paid_text if paid else fields.unpaid_text

    def _stamp_contact(
        self, conn: Connection, status: InvoiceStatus, local: datetime, location: str
    ) -> None:
        contact1 = self._tables.contact1
        day, clock = goldmine_stamp(local)
        result = conn.execute(
            update(contact1)
            .where(contact1.c["ACCOUNTNO"] == status.account_no)
            .values(LASTDATE=day, LASTTIME=clock, LASTUSER=self._config.write_user)
        )
        if result.rowcount == 0:
            raise RecordError(
                f"GoldMine has no contact with ACCOUNTNO {status.account_no!r}",
                hint="It may have been deleted or merged in GoldMine",
                context=ErrorContext(system="goldmine", location=location),
            )

    def _write_contact2(self, conn: Connection, status: InvoiceStatus, local: datetime) -> None:
        fields = self._config.user_fields
        values: dict[str, Any] = {}
        if fields.invoice_number:
            values[fields.invoice_number] = status.invoice_number
        if fields.paid_status:
            values[fields.paid_status] = self._paid_text(status.paid)
        if not values:
            return
        contact2 = self._tables.contact2
        result = conn.execute(
            update(contact2).where(contact2.c["ACCOUNTNO"] == status.account_no).values(values)
        )
        if result.rowcount == 0:  # GoldMine creates CONTACT2 rows lazily, on the first user field
            row = {"ACCOUNTNO": status.account_no, "recid": new_recid(local), **values}
            conn.execute(insert(contact2).values(row))

    def _write_opportunity(self, conn: Connection, status: InvoiceStatus) -> None:
        fields = self._config.opportunity_fields
        if fields is None:
            raise ConfigError(
                "write-back to an opportunity needs `opportunity_fields:` (which of F1-F3 to fill)",
                hint="Add for example `opportunity_fields: {invoice_number: F1, paid_status: F2}`",
            )
        opmgr = self._tables.opmgr
        result = conn.execute(
            update(opmgr)
            .where(
                opmgr.c["OPID"] == status.opportunity,
                func.rtrim(opmgr.c.RECTYPE) == "O",
                opmgr.c["ACCOUNTNO"] == status.account_no,
            )
            .values(
                {
                    fields.invoice_number: status.invoice_number,
                    fields.paid_status: self._paid_text(status.paid),
                }
            )
        )
        if result.rowcount == 0:
            raise RecordError(
                f"GoldMine has no opportunity {status.opportunity!r} of account "
                f"{status.account_no!r}",
                hint="It may have been deleted, or moved to another contact",
                context=ErrorContext(
                    system="goldmine", location=f"OPMGR OPID={status.opportunity}"
                ),
            )
