"""The GoldMine streams: contacts (CONTACT1 + CONTACT2 + CONTSUPP e-mails) and deals (OPMGR).

Each stream runs one streamed query for its main rows and one batched lookup per chunk of rows
(never one query per row), does only cheap work per row (key, stamp, content digest, location) and
builds the canonical record lazily in ``Change.load``. Deletions come from GoldMine's sync logs.
"""

from __future__ import annotations

import functools
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ledgerlink.canonical.records import Change, ReadFailure, Record
from ledgerlink.connectors.goldmine.schema import (
    EMAIL_DETAIL,
    TABLEID_CONTACT1,
    TABLEID_OPMGR,
    GoldMineTables,
)
from ledgerlink.connectors.goldmine.stamps import LogWindow, ReadCursor, StampWindow, local_stamp
from ledgerlink.connectors.goldmine.translate import (
    ContactSettings,
    DealSettings,
    Row,
    build_contact,
    build_deal,
    digest_values,
    text,
)
from ledgerlink.errors import ErrorContext, RecordError

Item = Change | ReadFailure
CHUNK_SIZE = 1_000
#: CONTACT1 columns the contacts stream reads; its version is a digest of exactly these (with the
#: CONTACT2 fields and e-mail rows), so touching LASTDATE or an unmapped field changes nothing.
CONTACT1_COLUMNS = (
    *("ACCOUNTNO", "COMPANY", "CONTACT", "LASTNAME", "PHONE1", "PHONE2", "PHONE3"),
    *("ADDRESS1", "ADDRESS2", "ADDRESS3", "CITY", "STATE", "ZIP", "COUNTRY", "NOTES", "recid"),
)
STAMP_COLUMNS = ("LASTDATE", "LASTTIME", "CREATEON", "CREATEAT")
EMAIL_COLUMNS = ("ACCOUNTNO", "CONTSUPREF", "ADDRESS1", "ZIP", "recid", "LASTDATE", "LASTTIME")
OPMGR_COLUMNS = (
    *("OPID", "RECTYPE", "ACCOUNTNO", "NAME", "STATUS", "STAGE", "STARTDATE", "CLOSEDDATE"),
    *("CLOSEBY", "FORAMT", "FORPROB", "CLOSEAMT", "PRODUCTNAME", "RECID"),
)


def read_columns(user_columns: Sequence[str]) -> dict[str, frozenset[str]]:
    """The columns the streams read, per table: all a dBase staging copy needs."""
    log = frozenset(("LOGSTAMP", "FRECID", "USERID", "TABLEID", "ACTION"))
    return {
        "CONTACT1": frozenset((*CONTACT1_COLUMNS, *STAMP_COLUMNS)),
        "CONTACT2": frozenset(("ACCOUNTNO", *user_columns)),
        "CONTSUPP": frozenset((*EMAIL_COLUMNS, "RECTYPE", "CONTACT")),
        "OPMGR": frozenset(OPMGR_COLUMNS),
        "CONTTLOG": log,
        "GMTLOG": log,
    }


class RawRow(Mapping[str, str]):
    """A row's values as text, built only when the dead-letter queue asks for them."""

    EMAILS = "E-MAIL ADDRESSES"

    def __init__(self, values: Row, emails: Sequence[Row] | None = None) -> None:
        self._values = values
        self._emails = emails

    def __getitem__(self, key: str) -> str:
        if key == self.EMAILS and self._emails is not None:
            return "; ".join(text(e["CONTSUPREF"]) + text(e["ADDRESS1"]) for e in self._emails)
        return text(self._values[key])

    def __iter__(self) -> Iterator[str]:
        # Plain str: SQLAlchemy's column names are a str subclass that JSON encoders refuse.
        yield from (str(name) for name in self._values)
        if self._emails is not None:
            yield self.EMAILS

    def __len__(self) -> int:
        return len(self._values) + (self._emails is not None)


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """What one read of a stream needs: tables, settings, cursor, look-back and 'now'."""

    tables: GoldMineTables
    cursor: ReadCursor | None
    overlap: timedelta
    now_local: datetime


def _after(day: Any, clock: Any, since: datetime) -> ColumnElement[bool]:
    """SQL for 'the stamp (date column + HH:MM text) is at or after ``since``', coarsely.

    It may let a few earlier rows through (clock text that is not zero-padded), never fewer:
    the exact comparison happens in Python on the parsed stamp.
    """
    midnight = datetime.combine(since.date(), datetime.min.time())
    if since == midnight:
        return day >= midnight  # type: ignore[no-any-return]
    clock_text = f"{since.hour:02d}:{since.minute:02d}"
    return or_(day >= midnight + timedelta(days=1), and_(day >= midnight, clock >= clock_text))


def _email_filter(tables: GoldMineTables) -> ColumnElement[bool]:
    supp = tables.contsupp.c
    return and_(supp.RECTYPE == "P", func.upper(func.rtrim(supp.CONTACT)) == EMAIL_DETAIL)


def contacts_query(
    tables: GoldMineTables, user_columns: Sequence[str], since: datetime | None
) -> Select[Any]:
    """The one query of the contacts stream: CONTACT1 left-joined to CONTACT2, by ACCOUNTNO."""
    c1, c2, supp = tables.contact1, tables.contact2, tables.contsupp
    columns: list[ColumnElement[Any]] = [c1.c[n] for n in (*CONTACT1_COLUMNS, *STAMP_COLUMNS)]
    columns += [c2.c[n].label(f"c2_{n}") for n in user_columns]
    query = select(*columns).select_from(c1.outerjoin(c2, c2.c.ACCOUNTNO == c1.c.ACCOUNTNO))
    if since is not None:
        recent_email = c1.c.ACCOUNTNO.in_(  # uncorrelated: evaluated once, not per contact
            select(supp.c.ACCOUNTNO).where(
                _email_filter(tables), _after(supp.c.LASTDATE, supp.c.LASTTIME, since)
            )
        )
        query = query.where(
            or_(
                _after(c1.c.LASTDATE, c1.c.LASTTIME, since),
                _after(c1.c.CREATEON, c1.c.CREATEAT, since),
                recent_email,
            )
        )
    return query.order_by(c1.c.ACCOUNTNO)


def fetch_emails(
    conn: Connection, tables: GoldMineTables, accounts: Sequence[str]
) -> dict[str, list[Any]]:
    """The e-mail rows of a chunk of accounts, in one query, by trimmed ACCOUNTNO.

    SQL Server ignores trailing spaces when comparing, so padded and unpadded ACCOUNTNOs of the
    same contact meet in the query; trimming the keys makes them meet here too.
    """
    supp = tables.contsupp
    query = select(*(supp.c[n] for n in EMAIL_COLUMNS)).where(
        supp.c.ACCOUNTNO.in_(accounts), _email_filter(tables)
    )
    found: dict[str, list[Any]] = {}
    for row in conn.execute(query):
        found.setdefault(text(row.ACCOUNTNO), []).append(row._mapping)
    return found


def _contact_stamp(main: Row, emails: Sequence[Row]) -> datetime | None:
    stamps = [
        local_stamp(main["LASTDATE"], main["LASTTIME"]),
        local_stamp(main["CREATEON"], main["CREATEAT"]),
        *(local_stamp(e["LASTDATE"], e["LASTTIME"]) for e in emails),
    ]
    present = [s for s in stamps if s is not None]
    return max(present) if present else None


def _contact_digest(main: Row, user_labels: Sequence[str], emails: Sequence[Row]) -> str:
    values: list[Any] = [main[n] for n in CONTACT1_COLUMNS]
    values += [main[label] for label in user_labels]
    for email in sorted(emails, key=lambda e: text(e["recid"])):
        values += [email["recid"], email["CONTSUPREF"], email["ADDRESS1"], email["ZIP"]]
    return digest_values(values)


def read_contacts(
    engine: Engine, plan: ReadPlan, settings: ContactSettings
) -> Generator[Item, None, ReadCursor]:
    """Contacts changed since the cursor (all of them without one), then deletions."""
    window = StampWindow(plan.cursor, plan.overlap, plan.now_local)
    user_columns = list(dict.fromkeys(settings.user_columns.values()))
    labels = [f"c2_{n}" for n in user_columns]
    row_settings = ContactSettings(
        {meaning: f"c2_{column}" for meaning, column in settings.user_columns.items()},
        settings.zone,
        settings.region,
        settings.currency,
    )
    query = contacts_query(plan.tables, user_columns, window.since)
    with engine.connect() as main_conn, engine.connect() as lookup_conn:
        result = main_conn.execution_options(stream_results=True, yield_per=CHUNK_SIZE).execute(
            query
        )
        for chunk in result.partitions():
            emails = fetch_emails(lookup_conn, plan.tables, [row.ACCOUNTNO for row in chunk])
            for row in chunk:
                main = row._mapping
                key = text(main["ACCOUNTNO"])
                location = f"CONTACT1 ACCOUNTNO={key}"
                if not key:
                    yield _blank_key(location, main, "CONTACT1 row without ACCOUNTNO")
                    continue
                rows = emails.get(key, [])
                stamp = _contact_stamp(main, rows)
                version = _contact_digest(main, labels, rows)
                if window.wants(key, stamp, version):
                    yield Change(
                        key=key,
                        version=version,
                        load=functools.partial(build_contact, main, rows, stamp, row_settings),
                        location=location,
                        raw=RawRow(main, rows),
                        updated_at=stamp.replace(tzinfo=settings.zone) if stamp else None,
                        # the deletion log names a contact by its row id (see _deletions)
                        aliases=(f"RECID:{recid}",) if (recid := text(main["recid"])) else (),
                    )
        log = LogWindow(plan.cursor)
        yield from _deletions(lookup_conn, plan.tables, "contacts", log)
    stamp, at_stamp = window.result()
    log_stamp, log_ids = log.result()
    return ReadCursor(stamp=stamp, at_stamp=at_stamp, log_stamp=log_stamp, log_ids=log_ids)


def read_deals(
    engine: Engine, plan: ReadPlan, settings: DealSettings
) -> Generator[Item, None, ReadCursor]:
    """Every opportunity (OPMGR keeps no modification stamp), then deletions since the cursor.

    Re-reading costs one streamed query; unchanged opportunities keep their version, so the
    engine skips them without building them.
    """
    op = plan.tables.opmgr
    query = (
        select(*(op.c[n] for n in OPMGR_COLUMNS))
        .where(func.rtrim(op.c.RECTYPE) == "O")
        .order_by(op.c.OPID)
    )
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=CHUNK_SIZE).execute(query)
        for row in result:
            main = row._mapping
            key = text(main["OPID"]) or text(main["RECID"])
            location = f"OPMGR OPID={key}"
            if not key:
                yield _blank_key(location, main, "OPMGR opportunity without OPID or RECID")
                continue
            yield Change(
                key=key,
                version=digest_values(main[n] for n in OPMGR_COLUMNS),
                load=functools.partial(build_deal, main, settings),
                location=location,
                raw=RawRow(main),
            )
        result.close()
        log = LogWindow(plan.cursor)
        yield from _deletions(conn, plan.tables, "deals", log)
    log_stamp, log_ids = log.result()
    return ReadCursor(log_stamp=log_stamp, log_ids=log_ids)


def _blank_key(location: str, main: Row, message: str) -> ReadFailure:
    error = RecordError(message, hint="Repair the row in GoldMine (or remove it)")
    error.with_context(location=location)
    return ReadFailure(key="", location=location, error=error, raw=dict(RawRow(main)))


def _deletions(
    conn: Connection, tables: GoldMineTables, stream: str, window: LogWindow
) -> Iterator[Item]:
    """Deleted records from the sync log: CONTTLOG for contacts, GMTLOG for opportunities.

    The log names the deleted row by RECID. GoldMine gives an opportunity's main row the same
    RECID as its OPID, so a deal deletion carries the deal's key. A contact's key is its ACCOUNTNO,
    which the log does not record: contact deletions carry ``RECID:<recid>``, the alias each
    contact was read with, which the engine maps back to the ACCOUNTNO it has linked.
    """
    log, table_id = (
        (tables.conttlog, TABLEID_CONTACT1)
        if stream == "contacts"
        else (tables.gmtlog, TABLEID_OPMGR)
    )
    query = select(log.c.LOGSTAMP, log.c.FRECID, log.c.USERID).where(
        log.c["TABLEID"] == table_id, func.rtrim(log.c.ACTION) == "D"
    )
    if window.since:
        query = query.where(log.c["LOGSTAMP"] >= window.since)
    for row in conn.execute(query.order_by(log.c.LOGSTAMP, log.c.FRECID)):
        stamp, record_id = text(row.LOGSTAMP), text(row.FRECID)
        if not record_id or not window.wants(stamp, record_id):
            continue
        key = record_id if stream == "deals" else f"RECID:{record_id}"
        location = f"{log.name} FRECID={record_id}"
        yield Change(
            key=key,
            version=f"deleted:{stamp}",
            load=functools.partial(_deleted, stream, record_id, text(row.USERID), location),
            location=location,
            raw={"FRECID": record_id, "LOGSTAMP": stamp, "USERID": text(row.USERID), "ACTION": "D"},
            deleted=True,
        )


def _deleted(stream: str, record_id: str, user: str, location: str) -> Record:
    """A deleted record cannot be built: GoldMine keeps nothing of it but its RECID."""
    what = "contact" if stream == "contacts" else "opportunity"
    by = f" by {user.lstrip('~')}" if user else ""
    raise RecordError(
        f"the GoldMine {what} with RECID {record_id} was deleted{by}; nothing of it is left",
        hint="Deactivate or void what it became in the books, if anything",
        context=ErrorContext(system="goldmine", location=location),
    )
