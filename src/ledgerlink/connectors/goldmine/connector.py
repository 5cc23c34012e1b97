"""The GoldMine source connector: checks the database (or dBase folder), reads its streams and
takes changes back from the books (SQL databases only)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, String, create_engine, func, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from ledgerlink.canonical.records import Contact, Invoice
from ledgerlink.connectors.base import (
    ConnectorContext,
    ListRead,
    StreamRead,
    WriteOutcome,
    WriteRequest,
)
from ledgerlink.connectors.goldmine import dbf
from ledgerlink.connectors.goldmine.client import SYSTEM, Database
from ledgerlink.connectors.goldmine.config import GoldMineConfig
from ledgerlink.connectors.goldmine.contact_writer import CONTACT_FIELDS, ContactWriteBack
from ledgerlink.connectors.goldmine.schema import GoldMineTables, goldmine_tables
from ledgerlink.connectors.goldmine.stamps import ReadCursor
from ledgerlink.connectors.goldmine.streams import (
    Item,
    ReadPlan,
    read_columns,
    read_contacts,
    read_deals,
)
from ledgerlink.connectors.goldmine.translate import ContactSettings, DealSettings, stage_label
from ledgerlink.connectors.goldmine.writer import (
    GoldMineWriteBack,
    InvoiceStatus,
    opportunity_account,
)
from ledgerlink.errors import ConfigError, ErrorContext, LedgerlinkError, RecordError

READABLE = ("contacts", "deals")
WRITE_BACK = ("contacts", "deals")
#: The fields of a deal's invoice that write-back carries into GoldMine.
DEAL_FIELDS = ("number", "status", "balance", "paid_on")
#: dBase files ledgerlink reads: the four it needs, then the sync logs when present.
DBF_TABLES = ("CONTACT1", "CONTACT2", "CONTSUPP", "OPMGR", "CONTTLOG", "GMTLOG")

Produce = Callable[[Engine, ReadPlan], Generator[Item, None, ReadCursor]]


class GoldMineRead:
    """One read of a stream: its records as they are fetched, then the cursor to resume from."""

    def __init__(
        self,
        produce: Callable[[], Generator[Item, None, ReadCursor]],
        previous: str | None,
        on_error: Callable[[SQLAlchemyError], LedgerlinkError],
        files: str | None = None,
    ) -> None:
        self._produce = produce
        self._previous = previous
        self._on_error = on_error
        self._files = files
        self._next: str | None = None

    def __iter__(self) -> Iterator[Item]:
        try:
            result = yield from self._produce()
        except SQLAlchemyError as exc:
            raise self._on_error(exc) from None
        self._next = replace(result, files=self._files).encode()

    def cursor(self) -> str | None:
        """The cursor after a complete read; the previous one if the read did not finish."""
        return self._next if self._next is not None else self._previous


class GoldMineConnector:
    """Reads GoldMine contacts and opportunities from its SQL database or its dBase files.

    Construction does no I/O: the database is opened (and its driver imported) on first use.
    """

    system = SYSTEM

    def __init__(
        self,
        config: GoldMineConfig,
        context: ConnectorContext,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config
        self.context = context
        self._clock = clock or (lambda: datetime.now(UTC))
        user_columns = config.user_fields.all_columns()
        self.tables: GoldMineTables = goldmine_tables(
            {name: String() for name in user_columns},
            gmbase_schema=config.gmbase_schema,
            strict=config.url is not None,  # a dBase staging copy has no NOT NULL columns
        )
        self._db = Database(config, context.resolve) if config.url is not None else None
        self._folder = context.resolve(config.dbf_path) if config.dbf_path is not None else None

    def readable_streams(self) -> tuple[str, ...]:
        """Contacts (CONTACT1 with CONTACT2 and e-mails) and deals (OPMGR opportunities)."""
        return READABLE

    def close(self) -> None:
        """Release the pooled database connections (the next use opens new ones)."""
        if self._db is not None:
            self._db.dispose()

    # -- checking -------------------------------------------------------------------------

    def check(self) -> str:
        """Reach GoldMine, confirm its tables and user fields exist, count contacts."""
        if self._folder is not None:
            return self._check_folder(self._folder)
        assert self._db is not None
        db = self._db
        try:
            with db.engine().connect() as conn:
                found = inspect(conn)
                tables = (*self.tables.required(), self.tables.conttlog, self.tables.gmtlog)
                missing = [t.name for t in tables if not found.has_table(t.name, schema=t.schema)]
                if missing:
                    raise ConfigError(
                        f"the database {db.shown} has no GoldMine table {', '.join(missing)}",
                        hint="Point `url:` at GoldMine's contact-set database; set "
                        "`gmbase_schema:` if OPMGR and GMTLOG live in another database",
                        context=ErrorContext(system=SYSTEM, location=db.shown),
                    )
                self._check_user_fields({c["name"].upper() for c in found.get_columns("CONTACT2")})
                contacts = conn.execute(select(func.count()).select_from(self.tables.contact1))
                count = contacts.scalar_one()
        except SQLAlchemyError as exc:
            raise db.error(exc, "checking the connection") from None
        return f"GoldMine database {db.shown}: {count} contact(s)"

    def _check_folder(self, folder: Path) -> str:
        if not folder.is_dir():
            raise ConfigError(
                f"the GoldMine folder {folder} does not exist",
                hint="Check `dbf_path:` in the config",
                context=ErrorContext(system=SYSTEM, location=str(folder)),
            )
        missing = [t.name for t in self.tables.required() if dbf.find_table(folder, t.name) is None]
        if missing:
            raise ConfigError(
                f"the GoldMine folder {folder} has no {', '.join(m + '.DBF' for m in missing)}",
                hint="Point `dbf_path:` at the folder holding CONTACT1.DBF",
                context=ErrorContext(system=SYSTEM, location=str(folder)),
            )
        contact2 = dbf.find_table(folder, "CONTACT2")
        assert contact2 is not None
        self._check_user_fields({n.upper() for n in dbf.open_table(contact2, None).field_names})
        count = dbf.count_records(folder, "CONTACT1")
        return f"GoldMine dBase files in {folder}: {count} contact(s)"

    def _check_user_fields(self, present: set[str]) -> None:
        absent = [c for c in self.config.user_fields.all_columns() if c not in present]
        if absent:
            raise ConfigError(
                f"CONTACT2 has no user field {', '.join(absent)}",
                hint="Set `user_fields:` to the site's field names, or null for the ones it "
                "does not use",
                context=ErrorContext(system=SYSTEM, location="CONTACT2"),
            )

    # -- reading --------------------------------------------------------------------------

    def read(self, stream: str, cursor: str | None) -> StreamRead:
        """Contacts changed since ``cursor`` (all without one) or every deal, then deletions."""
        produce = self._producer(stream)
        previous = ReadCursor.decode(cursor)
        now_local = self._clock().astimezone(self.config.zone()).replace(tzinfo=None)
        plan = ReadPlan(
            self.tables, previous, timedelta(seconds=self.config.overlap_seconds), now_local
        )
        if self._folder is not None:
            return self._read_folder(self._folder, stream, produce, plan, cursor)
        assert self._db is not None
        db = self._db
        return GoldMineRead(
            lambda: produce(db.engine(), plan),
            cursor,
            lambda exc: db.error(exc, f"reading {stream}"),
        )

    def _producer(self, stream: str) -> Produce:
        config = self.config
        if stream == "contacts":
            settings = ContactSettings(
                config.user_fields.read_columns(),
                config.zone(),
                config.default_region,
                config.currency or "",
            )
            return lambda engine, plan: read_contacts(engine, plan, settings)
        if stream == "deals":
            if config.currency is None:
                raise ConfigError(
                    "GoldMine stores no currency, so reading deals needs `currency:`",
                    hint="Add for example `currency: USD` to the GoldMine connection",
                    context=ErrorContext(system=SYSTEM, stream="deals"),
                )
            deal_settings = DealSettings(
                config.currency,
                frozenset(stage_label(s) for s in config.won_stages),
                frozenset(stage_label(s) for s in config.lost_stages),
            )
            return lambda engine, plan: read_deals(engine, plan, deal_settings)
        raise ConfigError(
            f"GoldMine has no stream {stream!r}",
            hint=f"It reads {', '.join(READABLE)}",
            context=ErrorContext(system=SYSTEM),
        )

    def _read_folder(
        self, folder: Path, stream: str, produce: Produce, plan: ReadPlan, cursor: str | None
    ) -> StreamRead:
        files = dbf.fingerprint(folder, DBF_TABLES)
        wanted = read_columns(self.config.user_fields.all_columns())
        if plan.cursor is not None and plan.cursor.files == files:
            return ListRead([], cursor)  # not one byte changed since the last read

        def staged() -> Generator[Item, None, ReadCursor]:
            with tempfile.TemporaryDirectory(prefix="ledgerlink-goldmine-") as scratch:
                engine = create_engine(f"sqlite:///{Path(scratch) / 'staged.db'}")
                try:
                    dbf.stage_folder(folder, plan.tables, engine, self.config.dbf_encoding, wanted)
                    return (yield from produce(engine, plan))
                finally:
                    engine.dispose()

        def failed(exc: SQLAlchemyError) -> LedgerlinkError:
            return ConfigError(
                f"reading {stream} from the dBase files in {folder} failed: {exc}",
                context=ErrorContext(system=SYSTEM, location=str(folder)),
            )

        return GoldMineRead(staged, cursor, failed, files)

    # -- writing back ---------------------------------------------------------------------

    def write_back_streams(self) -> tuple[str, ...]:
        """Contacts and deals (their invoice's payment state).

        dBase files are read only: ``write_back`` then refuses the whole batch with a
        ``ConfigError`` saying so (the streams are still named, so the refusal is explicit).
        """
        return WRITE_BACK

    def write_back(self, requests: Sequence[WriteRequest]) -> list[WriteOutcome]:
        """Apply contact or deal updates from the books; one outcome per request, in order.

        A contact request names the ACCOUNTNO and the Contact fields to write; a deal request
        names the OPID and carries the books' ``Invoice`` (number, status, balance, paid date).
        """
        self._writable()
        outcomes: list[WriteOutcome] = []
        for request in requests:
            try:
                written = self._write_back_one(request)
            except RecordError as error:
                error.with_context(system=SYSTEM, stream=request.stream, record=request.target_id)
                outcomes.append(WriteOutcome(request, error=error))
            else:
                outcomes.append(WriteOutcome(request, target_id=written))
        return outcomes

    def _write_back_one(self, request: WriteRequest) -> str:
        key = (request.target_id or "").strip()
        if request.action != "update" or not key:
            raise RecordError(
                f"GoldMine write-back takes updates of existing records, not {request.action!r}"
                + ("" if key else " without a key"),
                hint="Create and delete GoldMine records in GoldMine",
            )
        record = request.record
        if request.stream == "contacts" and isinstance(record, Contact):
            fields = request.changed_fields or CONTACT_FIELDS
            self.contact_writer().update(key, record, fields)
            return key
        if request.stream == "deals" and isinstance(record, Invoice):
            self._write_deal(key, record, request.changed_fields)
            return key
        raise RecordError(
            f"GoldMine cannot take a {type(record).__name__} for the {request.stream!r} stream",
            hint=f"GoldMine takes back {', '.join(WRITE_BACK)}: contacts as Contact records, "
            "deals as the books' Invoice",
        )

    def _write_deal(self, opid: str, invoice: Invoice, changed_fields: Sequence[str]) -> None:
        unknown = [f for f in changed_fields if f not in DEAL_FIELDS]
        if unknown:
            raise RecordError(
                f"GoldMine cannot take the deal field(s) {', '.join(unknown)}",
                hint=f"Write back only {', '.join(DEAL_FIELDS)}",
            )
        db = self._writable()
        try:
            account = opportunity_account(db.engine(), self.tables, opid)
        except SQLAlchemyError as exc:
            raise db.error(exc, "looking up an opportunity") from None
        if account is None:
            raise RecordError(
                f"GoldMine has no opportunity with OPID {opid!r}",
                hint="It may have been deleted in GoldMine",
                context=ErrorContext(system=SYSTEM, location=f"OPMGR OPID={opid}"),
            )
        paid = invoice.status == "paid"
        status = InvoiceStatus(
            account_no=account,
            invoice_number=invoice.number,
            paid=paid,
            opportunity=opid if self.config.opportunity_fields is not None else None,
            balance=invoice.balance,
            paid_on=invoice.paid_on if paid else None,
        )
        self.invoice_writer().record_invoice(status)

    def _writable(self) -> Database:
        if self._db is None:
            raise ConfigError(
                "write-back needs GoldMine's SQL database; dBase files are read only",
                hint="Use `url:` instead of `dbf_path:`, or make the pipe one-way",
                context=ErrorContext(system=SYSTEM),
            )
        return self._db

    def invoice_writer(self) -> GoldMineWriteBack:
        """The write-back of invoice numbers and paid statuses (SQL databases only)."""
        db = self._writable()
        return GoldMineWriteBack(
            db.engine(), self.tables, self.config, clock=self._clock, on_error=db.error
        )

    def contact_writer(self) -> ContactWriteBack:
        """The write-back of contact fields (SQL databases only)."""
        db = self._writable()
        return ContactWriteBack(
            db.engine(), self.tables, self.config, clock=self._clock, on_error=db.error
        )
