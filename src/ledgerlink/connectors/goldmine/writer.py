"""Write-back into GoldMine: an invoice's number and paid state on the contact and opportunity.

GoldMine shows CONTACT2 user fields on the contact screen, so the account's latest invoice number
and paid status (and, where the site has fields for them, balance and paid date) go there; an
opportunity becomes one invoice, so when ``opportunity_fields`` is configured they also go into that
opportunity's OPMGR user fields (F1-F3). Each update is one transaction and stamps CONTACT1's
LASTDATE/LASTTIME/LASTUSER the way GoldMine's own write procedures do (date at midnight plus local
``HH:MM``); values GoldMine already holds are not written, and then nothing is stamped.

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
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import DataError, SQLAlchemyError

from ledgerlink.connectors.goldmine.config import GoldMineConfig, OpportunityFields
from ledgerlink.connectors.goldmine.schema import GoldMineTables
from ledgerlink.connectors.goldmine.stamps import goldmine_stamp
from ledgerlink.connectors.goldmine.values import (
    ColumnKind,
    amount_text,
    changed,
    column_kinds,
    typed,
)
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
    balance: Decimal | None = None
    paid_on: date | None = None


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
        self._contact2_kinds: dict[str, ColumnKind] | None = None

    def record_invoice(self, status: InvoiceStatus) -> datetime | None:
        """Write one invoice's number and paid status; return the stamp written (GoldMine's zone).

        Values GoldMine already holds are not written again: when every one is there already,
        nothing is written or stamped and ``None`` is returned. Raises ``RecordError`` (nothing
        written) when the account or the opportunity is unknown or a value does not fit its field.
        """
        location = f"CONTACT1 ACCOUNTNO={status.account_no}"
        local = self._clock().astimezone(self._config.zone()).replace(second=0, microsecond=0)
        try:
            with self._engine.begin() as conn:
                self._require_contact(conn, status, location)
                contact2 = self._contact2_changes(conn, status)
                opportunity = (
                    self._opportunity_changes(conn, status)
                    if status.opportunity is not None
                    else {}
                )
                if not contact2 and not opportunity:
                    return None
                self._stamp_contact(conn, status, local, location)
                if contact2:
                    self._write_contact2(conn, status, contact2, local)
                if opportunity:
                    self._write_opportunity(conn, status, opportunity)
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

    def _kinds(self, conn: Connection) -> dict[str, ColumnKind]:
        if self._contact2_kinds is None:
            self._contact2_kinds = column_kinds(conn, self._tables.contact2)
        return self._contact2_kinds

    def _require_contact(self, conn: Connection, status: InvoiceStatus, location: str) -> None:
        contact1 = self._tables.contact1
        found = conn.execute(
            select(contact1.c.ACCOUNTNO).where(contact1.c["ACCOUNTNO"] == status.account_no)
        ).first()
        if found is None:
            raise RecordError(
                f"GoldMine has no contact with ACCOUNTNO {status.account_no!r}",
                hint="It may have been deleted or merged in GoldMine",
                context=ErrorContext(system="goldmine", location=location),
            )

    def _contact2_changes(self, conn: Connection, status: InvoiceStatus) -> dict[str, Any]:
        fields = self._config.user_fields
        wanted: dict[str, Any] = {}
        if fields.invoice_number:
            wanted[fields.invoice_number] = status.invoice_number
        if fields.paid_status:
            wanted[fields.paid_status] = self._paid_text(status.paid)
        if fields.balance and status.balance is not None:
            wanted[fields.balance] = status.balance
        if fields.paid_on:
            wanted[fields.paid_on] = status.paid_on if status.paid else None
        if not wanted:
            return {}
        contact2 = self._tables.contact2
        row = conn.execute(
            select(*(contact2.c[name] for name in wanted)).where(
                contact2.c["ACCOUNTNO"] == status.account_no
            )
        ).first()
        return changed(row._mapping if row is not None else {}, wanted)

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

    def _write_contact2(
        self, conn: Connection, status: InvoiceStatus, values: dict[str, Any], local: datetime
    ) -> None:
        contact2 = self._tables.contact2
        bound = typed(self._kinds(conn), values)
        result = conn.execute(
            update(contact2).where(contact2.c["ACCOUNTNO"] == status.account_no).values(bound)
        )
        if result.rowcount == 0:  # GoldMine creates CONTACT2 rows lazily, on the first user field
            row = {"ACCOUNTNO": status.account_no, "recid": new_recid(local), **bound}
            conn.execute(insert(contact2).values(row))

    def _opportunity_fields(self) -> OpportunityFields:
        fields = self._config.opportunity_fields
        if fields is None:
            raise ConfigError(
                "write-back to an opportunity needs `opportunity_fields:` (which of F1-F3 to fill)",
                hint="Add for example `opportunity_fields: {invoice_number: F1, paid_status: F2}`",
            )
        return fields

    def _opportunity_changes(self, conn: Connection, status: InvoiceStatus) -> dict[str, Any]:
        fields = self._opportunity_fields()
        wanted: dict[str, Any] = {
            fields.invoice_number: status.invoice_number,
            fields.paid_status: self._paid_text(status.paid),
        }
        if fields.balance and status.balance is not None:
            wanted[fields.balance] = amount_text(status.balance)
        if fields.paid_on:
            paid_on = status.paid_on if status.paid else None
            wanted[fields.paid_on] = paid_on.isoformat() if paid_on else ""
        opmgr = self._tables.opmgr
        row = conn.execute(
            select(*(opmgr.c[name] for name in wanted)).where(
                opmgr.c["OPID"] == status.opportunity,
                func.rtrim(opmgr.c.RECTYPE) == "O",
                opmgr.c["ACCOUNTNO"] == status.account_no,
            )
        ).first()
        if row is None:
            raise RecordError(
                f"GoldMine has no opportunity {status.opportunity!r} of account "
                f"{status.account_no!r}",
                hint="It may have been deleted, or moved to another contact",
                context=ErrorContext(
                    system="goldmine", location=f"OPMGR OPID={status.opportunity}"
                ),
            )
        return changed(row._mapping, wanted)

    def _write_opportunity(
        self, conn: Connection, status: InvoiceStatus, values: dict[str, Any]
    ) -> None:
        opmgr = self._tables.opmgr
        conn.execute(
            update(opmgr)
            .where(
                opmgr.c["OPID"] == status.opportunity,
                func.rtrim(opmgr.c.RECTYPE) == "O",
                opmgr.c["ACCOUNTNO"] == status.account_no,
            )
            .values(values)
        )


def opportunity_account(engine: Engine, tables: GoldMineTables, opid: str) -> str | None:
    """The ACCOUNTNO of the opportunity ``opid`` (its ``O`` row), or None when there is none."""
    opmgr = tables.opmgr
    with engine.connect() as conn:
        found = conn.execute(
            select(opmgr.c.ACCOUNTNO).where(
                opmgr.c["OPID"] == opid, func.rtrim(opmgr.c.RECTYPE) == "O"
            )
        ).first()
    return None if found is None else str(found.ACCOUNTNO)
