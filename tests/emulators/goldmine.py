"""A GoldMine database for tests and benchmarks: GoldMine's schema in any SQLAlchemy URL, seeded.

What it imitates, and where that comes from (the CRM reference, section 3):

- the tables and columns of ``ledgerlink.connectors.goldmine.schema`` (GoldMine's SQL edition),
  with upper-case ``U_*`` shadows filled in as GoldMine does;
- ``LASTDATE`` as the date at midnight plus ``LASTTIME`` as local ``HH:MM`` text, stamped on every
  write (as GoldMine's own write procedures do), ``CREATEON``/``CREATEAT`` on creation;
- e-mail addresses as CONTSUPP rows ``RECTYPE='P'``, ``CONTACT='E-mail Address'``, the address in
  CONTSUPREF and the 4-character ZIP switch with the primary flag at position 2;
- an opportunity as an OPMGR ``O`` row whose OPID is its own RECID, plus its ``OC`` contact row;
- deletions logged as ``ACTION='D'`` rows in CONTTLOG (contacts, TABLEID ``&``) and GMTLOG
  (opportunities, TABLEID ``B``) naming the deleted RECID. GoldMine's 7-character stamp encoding is
  not published: the emulator writes base-36 stamps that sort in time order, as GoldSync needs.

Time is GoldMine's local time, naive, and moves only when a test moves ``now``. ``export_dbf``
writes the same data as dBase III files (with a .DBT memo file) for the dBase source.
"""

from __future__ import annotations

import os
import random
import struct
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import DateTime, Float, Integer, String, Table, Text, create_engine, delete, text
from sqlalchemy import update as sql_update
from sqlalchemy.engine import make_url

from ledgerlink.canonical.records import Change, ReadFailure
from ledgerlink.connectors.base import ConnectorContext
from ledgerlink.connectors.goldmine.config import GoldMineConfig
from ledgerlink.connectors.goldmine.connector import GoldMineConnector
from ledgerlink.connectors.goldmine.schema import goldmine_tables

POSTGRES_URL_ENV = "LEDGERLINK_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
REQUIRE_SERVICES_ENV = "LEDGERLINK_REQUIRE_SERVICES"
START = datetime(2026, 3, 2, 9, 30)
EMAIL_DETAIL = "E-mail Address"
_ID_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ#$%&()+-"
_SHADOWED = (
    "COMPANY",
    "CONTACT",
    "LASTNAME",
    "CITY",
    "STATE",
    "COUNTRY",
    *(f"KEY{i}" for i in range(1, 6)),
)
GIVEN = ("José", "Anna", "Rahul", "Chloé", "Mark", "Sofia", "Jürgen", "Priya", "Liam", "Zoë")
FAMILY = ("Müller", "Smith", "García", "Nguyen", "O'Brien", "Kowalski", "Dubois", "Iyer", "Berg")
COMPANIES = ("Acme Ltd", "Société Générale", "Bäckerei Groß", "Tata Traders", "Nordic AB", "")
CITIES = (
    ("Springfield", "IL", "62701", "USA"),
    ("Lyon", "", "69001", "France"),
    ("Pune", "MH", "411001", "India"),
)


def _url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def require_postgres() -> str:
    """The test PostgreSQL URL; skips (or, with LEDGERLINK_REQUIRE_SERVICES=1, fails) naming it."""
    url = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    try:
        engine = create_engine(_url(url), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        first = (str(getattr(exc, "orig", exc)).strip().splitlines() or [type(exc).__name__])[0]
        shown = make_url(url).render_as_string(hide_password=True)
        message = f"PostgreSQL not reachable at {shown} ({first}); set {POSTGRES_URL_ENV}"
        if os.environ.get(REQUIRE_SERVICES_ENV) == "1":
            pytest.fail(f"{message} ({REQUIRE_SERVICES_ENV}=1 requires it)", pytrace=False)
        pytest.skip(message)
    return url


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A URL whose connections work in a fresh, uniquely named schema, dropped afterwards."""
    schema = f"ll_gm_{uuid.uuid4().hex[:16]}"
    admin = create_engine(_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def database_url(kind: str, folder: Path) -> Iterator[str]:
    """An empty database: a SQLite file in ``folder`` or a fresh PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'goldmine.db'}"
    else:
        with postgres_schema(require_postgres()) as url:
            yield url


def connector_for(gm: GoldMineEmulator, base: Path, **settings: Any) -> GoldMineConnector:
    """A connector on the emulator's database (currency USD unless given) whose clock is the
    emulator's ``now`` in the configured time zone."""
    raw = {"type": "goldmine", "url": gm.url, "currency": "USD", **settings}
    config = GoldMineConfig.model_validate(raw)
    zone = ZoneInfo(config.timezone)
    connector = GoldMineConnector(
        config, ConnectorContext("crm", base), clock=lambda: gm.now.replace(tzinfo=zone)
    )
    gm.connectors.append(connector)  # closed with the emulator
    return connector


def read_all(
    connector: GoldMineConnector, stream: str, cursor: str | None = None
) -> tuple[list[Change], str | None]:
    """Every change of one read (no read failures expected) and the cursor after it."""
    read = connector.read(stream, cursor)
    items = list(read)
    assert not [i for i in items if isinstance(i, ReadFailure)]
    return [i for i in items if isinstance(i, Change)], read.cursor()


class GoldMineEmulator:
    """GoldMine's tables in a database, written to the way GoldMine writes them."""

    def __init__(
        self,
        url: str,
        *,
        now: datetime = START,
        create: bool = True,
        gmbase_schema: str | None = None,
    ) -> None:
        self.url = url
        self.connectors: list[GoldMineConnector] = []
        self.engine = create_engine(_url(url))
        self.tables = goldmine_tables(gmbase_schema=gmbase_schema)
        self.now = now
        self._serial = 0
        self._rng = random.Random(0)
        self._last_log = 0
        if create:
            self.tables.metadata.create_all(self.engine)

    # -- identities and stamps -----------------------------------------------------------

    def _id(self, length: int, prefix: str) -> str:
        self._serial += 1
        body = "".join(self._rng.choices(_ID_CHARS, k=length - len(prefix) - 6))
        return f"{prefix}{self._serial:06d}{body}"[:length]

    def new_recid(self) -> str:
        """A unique 15-character RECID."""
        return self._id(15, "R")

    def new_accountno(self) -> str:
        """A unique 20-character ACCOUNTNO with the punctuation GoldMine's have."""
        return self._id(20, f"B{self.now:%y%m%d}")

    def stamp(self) -> dict[str, Any]:
        """LASTDATE (midnight) and LASTTIME (``HH:MM``) for ``now``."""
        return {
            "LASTDATE": datetime.combine(self.now.date(), datetime.min.time()),
            "LASTTIME": f"{self.now:%H:%M}",
        }

    def _log_stamp(self) -> str:
        value = max(
            self._last_log + 1, int((self.now - datetime(2000, 1, 1)).total_seconds()) * 100
        )
        self._last_log = value
        digits = ""
        while value:
            value, digit = divmod(value, 36)
            digits = _ID_CHARS[digit] + digits
        return digits.rjust(7, "0")[-7:]

    def _log(self, table: Table, table_id: str, recid: str) -> None:
        stamp = self._log_stamp()
        row = {
            "SYNCSTAMP": stamp,
            "LOGSTAMP": stamp,
            "ACTION": "D",
            "TABLEID": table_id,
            "FRECID": recid,
            "FIELDNAME": "zzzDel",
            "USERID": "~MASTER",
        }
        with self.engine.begin() as conn:
            conn.execute(table.insert(), [row])

    # -- contacts ------------------------------------------------------------------------

    def contact_row(self, contact: str = "", company: str = "", **columns: Any) -> dict[str, Any]:
        """A CONTACT1 row as GoldMine would insert it (no I/O)."""
        row: dict[str, Any] = {c.name: None for c in self.tables.contact1.columns}
        row.update(
            ACCOUNTNO=columns.pop("ACCOUNTNO", None) or self.new_accountno(),
            COMPANY=company,
            CONTACT=contact,
        )
        row.update(
            PHONE1="",
            ZIP="",
            LASTNAME=contact.rsplit(maxsplit=1)[-1] if contact else "",
            recid=self.new_recid(),
        )
        row.update(
            CREATEBY="MASTER",
            CREATEON=self.stamp()["LASTDATE"],
            CREATEAT=f"{self.now:%H:%M}",
            LASTUSER="MASTER",
            **self.stamp(),
        )
        row.update(columns)
        for name in _SHADOWED:
            row[f"U_{name}"] = (row[name] or "").upper()
        return row

    def add_contact(
        self,
        contact: str = "",
        company: str = "",
        *,
        emails: Sequence[str] = (),
        user: Mapping[str, Any] | None = None,
        **columns: Any,
    ) -> str:
        """Insert a contact (CONTACT1, CONTACT2 when ``user`` fields are given, e-mails, the
        first one primary); return its ACCOUNTNO."""
        row = self.contact_row(contact, company, **columns)
        with self.engine.begin() as conn:
            conn.execute(self.tables.contact1.insert(), [row])
            if user is not None:
                conn.execute(
                    self.tables.contact2.insert(),
                    [{"ACCOUNTNO": row["ACCOUNTNO"], "recid": self.new_recid(), **user}],
                )
        for position, address in enumerate(emails):
            self.add_email(row["ACCOUNTNO"], address, primary=position == 0)
        return str(row["ACCOUNTNO"])

    def email_row(self, accountno: str, address: str, *, primary: bool = False) -> dict[str, Any]:
        """A CONTSUPP e-mail row (no I/O); long addresses continue in ADDRESS1."""
        return {
            "ACCOUNTNO": accountno,
            "RECTYPE": "P",
            "CONTACT": EMAIL_DETAIL,
            "CONTSUPREF": address[:35],
            "ADDRESS1": address[35:] or None,
            "ZIP": "1101" if primary else "1001",
            "LASTUSER": "MASTER",
            "U_CONTACT": EMAIL_DETAIL.upper(),
            "U_CONTSUPREF": address[:35].upper(),
            "recid": self.new_recid(),
            **self.stamp(),
        }

    def add_email(self, accountno: str, address: str, *, primary: bool = False) -> str:
        """Add an e-mail detail to a contact; return its RECID."""
        row = self.email_row(accountno, address, primary=primary)
        with self.engine.begin() as conn:
            conn.execute(self.tables.contsupp.insert(), [row])
        return str(row["recid"])

    def edit_contact(self, accountno: str, **columns: Any) -> None:
        """Change CONTACT1 columns and stamp the row, as GoldMine's contact screen does."""
        values = {**columns, **self.stamp(), "LASTUSER": "MASTER"}
        values.update({f"U_{n}": (columns[n] or "").upper() for n in _SHADOWED if n in columns})
        c1 = self.tables.contact1
        with self.engine.begin() as conn:
            conn.execute(sql_update(c1).where(c1.c["ACCOUNTNO"] == accountno).values(values))

    def edit_user_fields(self, accountno: str, **fields: Any) -> None:
        """Change CONTACT2 user fields; GoldMine stamps the CONTACT1 row for it."""
        c2 = self.tables.contact2
        with self.engine.begin() as conn:
            conn.execute(sql_update(c2).where(c2.c["ACCOUNTNO"] == accountno).values(fields))
        self.edit_contact(accountno)

    def edit_email(self, recid: str, address: str) -> None:
        """Change an e-mail address (its CONTSUPP row is stamped, CONTACT1 is not)."""
        supp = self.tables.contsupp
        values = {"CONTSUPREF": address[:35], "ADDRESS1": address[35:] or None, **self.stamp()}
        with self.engine.begin() as conn:
            conn.execute(sql_update(supp).where(supp.c["recid"] == recid).values(values))

    def delete_contact(self, accountno: str) -> str:
        """Delete a contact and its detail rows, logging each deletion; return its RECID."""
        t = self.tables
        with self.engine.begin() as conn:
            recid = (
                conn.execute(t.contact1.select().where(t.contact1.c["ACCOUNTNO"] == accountno))
                .one()
                .recid
            )
            for table in (t.contsupp, t.contact2, t.contact1):
                conn.execute(delete(table).where(table.c["ACCOUNTNO"] == accountno))
        self._log(t.conttlog, "&", recid)
        return str(recid)

    # -- opportunities -------------------------------------------------------------------

    def add_opportunity(
        self,
        accountno: str,
        name: str,
        amount: Decimal | str | None,
        *,
        stage: str = "",
        status: str = "",
        close_by: date | None = None,
        closed_on: date | None = None,
        closed_amount: Decimal | str | None = None,
        product: str = "",
    ) -> str:
        """An opportunity (OPMGR ``O`` row, OPID = its RECID) and its ``OC`` contact row."""
        opid = self.new_recid()
        day = lambda d: None if d is None else datetime(d.year, d.month, d.day)  # noqa: E731
        money = lambda v: None if v is None else float(v)  # noqa: E731 - OPMGR amounts are floats
        main = {
            "OPID": opid,
            "RECTYPE": "O",
            "ACCOUNTNO": accountno,
            "USERID": "MASTER",
            "NAME": name,
            "STATUS": status,
            "STAGE": stage,
            "U_STAGE": stage.upper(),
            "CLOSEBY": day(close_by),
            "CLOSEDDATE": day(closed_on),
            "FORAMT": money(amount),
            "FORPROB": 50,
            "CLOSEAMT": money(closed_amount),
            "PRODUCTNAME": product,
            "STARTDATE": self.stamp()["LASTDATE"],
            "RECID": opid,
        }
        link = {"OPID": opid, "RECTYPE": "OC", "ACCOUNTNO": accountno, "RECID": self.new_recid()}
        with self.engine.begin() as conn:
            conn.execute(self.tables.opmgr.insert(), [main])
            conn.execute(self.tables.opmgr.insert(), [link])
        return opid

    def edit_opportunity(self, opid: str, **columns: Any) -> None:
        """Change columns of an opportunity's main row."""
        op = self.tables.opmgr
        with self.engine.begin() as conn:
            conn.execute(sql_update(op).where(op.c["RECID"] == opid).values(columns))

    def delete_opportunity(self, opid: str) -> None:
        """Delete an opportunity and its sub-rows, logging each deletion in GMTLOG."""
        op = self.tables.opmgr
        with self.engine.begin() as conn:
            recids = [r.RECID for r in conn.execute(op.select().where(op.c["OPID"] == opid))]
            conn.execute(delete(op).where(op.c["OPID"] == opid))
        for recid in recids:
            self._log(self.tables.gmtlog, "B", recid)

    # -- reading back and bulk -----------------------------------------------------------

    def row(self, table: Table, column: str, value: str) -> dict[str, Any]:
        """The one row of ``table`` whose ``column`` is ``value``, as a dict."""
        with self.engine.connect() as conn:
            return dict(conn.execute(table.select().where(table.c[column] == value)).one()._mapping)

    def seed(self, count: int, *, seed: int = 7, batch: int = 5_000) -> list[str]:
        """``count`` realistic contacts (1-2 e-mails, CONTACT2 fields, one in three with an
        opportunity) stamped a minute apart up to ``now``, inserted in bulk; return their
        ACCOUNTNOs."""
        rng = random.Random(seed)
        accounts: list[str] = []
        rows: dict[str, list[dict[str, Any]]] = {
            "contact1": [],
            "contact2": [],
            "contsupp": [],
            "opmgr": [],
        }
        now = self.now
        for n in range(count):
            self.now = now - timedelta(minutes=count - 1 - n)  # edited over time, newest last
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            city, state, zip_code, country = rng.choice(CITIES)
            row = self.contact_row(
                f"{given} {family}",
                rng.choice(COMPANIES),
                PHONE1=f"(415)555-{n % 10000:04d}",
                ADDRESS1=f"{n} Main Street",
                CITY=city,
                STATE=state,
                ZIP=zip_code,
                COUNTRY=country,
                NOTES="Met at the trade fair.\nPrefers e-mail.",
            )
            accounts.append(row["ACCOUNTNO"])
            rows["contact1"].append(row)
            rows["contact2"].append(
                {
                    "ACCOUNTNO": row["ACCOUNTNO"],
                    "recid": self.new_recid(),
                    "UTAXID": f"GB{n:09d}",
                    "UCREDLIMIT": float(rng.choice((1000, 2500, 10000))),
                    "UTERMS": rng.choice(("Net 30", "14", "30 days")),
                }
            )
            base = f"{given}.{family}{n}".lower().replace("'", "")
            rows["contsupp"].append(
                self.email_row(row["ACCOUNTNO"], f"{base}@example.com", primary=True)
            )
            if n % 2:
                rows["contsupp"].append(
                    self.email_row(row["ACCOUNTNO"], f"{base}@home.example.org")
                )
            if n % 3 == 0:
                opid = self.new_recid()
                rows["opmgr"].append(
                    {
                        "OPID": opid,
                        "RECTYPE": "O",
                        "ACCOUNTNO": row["ACCOUNTNO"],
                        "NAME": f"Deal {n}",
                        "STAGE": rng.choice(("Won", "Proposal", "Lost")),
                        "FORAMT": float(rng.randrange(100, 100_000)) + 0.5,
                        "RECID": opid,
                    }
                )
            if len(rows["contact1"]) >= batch:
                self._bulk(rows)
        self._bulk(rows)
        self.now = now
        return accounts

    def _bulk(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        with self.engine.begin() as conn:
            for name, batch in rows.items():
                if batch:
                    conn.execute(getattr(self.tables, name).insert(), batch)
                    batch.clear()

    def dispose(self) -> None:
        """Close the connections, the emulator's and those of connectors made for it."""
        for connector in self.connectors:
            connector.close()
        self.engine.dispose()

    # -- dBase export --------------------------------------------------------------------

    def export_dbf(
        self, folder: Path, *, encoding: str = "cp1252", language_driver: int = 0x03
    ) -> None:
        """Write the tables as GoldMine's dBase III files (SQL-only ``U_*`` columns left out)."""
        folder.mkdir(parents=True, exist_ok=True)
        t = self.tables
        for table in (t.contact1, t.contact2, t.contsupp, t.opmgr, t.conttlog, t.gmtlog):
            fields = [f for f in (_dbf_field(c.name, c.type) for c in table.columns) if f]
            with self.engine.connect() as conn:
                records = [dict(r._mapping) for r in conn.execute(table.select())]
            write_dbf(
                folder / f"{table.name}.DBF",
                fields,
                records,
                encoding=encoding,
                language_driver=language_driver,
            )


DbfField = tuple[str, str, int, int]


def _dbf_field(name: str, kind: Any) -> DbfField | None:
    if name.startswith("U_") or len(name) > 10:
        return None
    if isinstance(kind, Text):
        return (name, "M", 10, 0)
    if isinstance(kind, DateTime):
        return (name, "D", 8, 0)
    if isinstance(kind, Float):
        return (name, "N", 15, 2)
    if isinstance(kind, Integer):
        return (name, "N", 10, 0)
    assert isinstance(kind, String)
    return (name, "C", min(kind.length or 40, 254), 0)


def _dbf_value(field: DbfField, value: Any, encoding: str, memos: list[bytes]) -> bytes:
    _, kind, length, decimals = field
    if value is None or value == "":
        return b" " * length
    if kind == "D":
        return f"{value:%Y%m%d}".encode()
    if kind == "N":
        return f"{Decimal(str(value)):.{decimals}f}".rjust(length).encode()
    if kind == "M":
        memos.append(str(value).encode(encoding) + b"\x1a\x1a")
        return b" " * length  # the block number is filled in by write_dbf
    return str(value).encode(encoding)[:length].ljust(length, b" ")


def write_dbf(
    path: Path,
    fields: Sequence[DbfField],
    records: Iterable[Mapping[str, Any]],
    *,
    encoding: str = "cp1252",
    language_driver: int = 0x03,
) -> None:
    """A minimal dBase III writer (test-only): C, N, D and M fields, a .DBT memo file."""
    has_memo = any(f[1] == "M" for f in fields)
    record_length = 1 + sum(f[2] for f in fields)
    rows: list[bytes] = []
    memo_blocks: list[bytes] = []
    next_block = 1
    for record in records:
        data = bytearray(b" ")
        for field in fields:
            memos: list[bytes] = []
            value = _dbf_value(field, record.get(field[0]), encoding, memos)
            if memos:
                value = str(next_block).rjust(field[2]).encode()
                padded = memos[0] + b"\x00" * (-len(memos[0]) % 512)
                memo_blocks.append(padded)
                next_block += len(padded) // 512
            data += value
        rows.append(bytes(data))
    today = date(2026, 3, 2)
    header = struct.pack(
        "<BBBBLHH20x",
        0x83 if has_memo else 0x03,
        today.year - 1900,
        today.month,
        today.day,
        len(rows),
        32 + 32 * len(fields) + 1,
        record_length,
    )
    header = header[:29] + bytes([language_driver]) + header[30:]
    descriptors = b"".join(
        struct.pack("<11sc4xBB14x", f[0].encode("ascii"), f[1].encode("ascii"), f[2], f[3])
        for f in fields
    )
    path.write_bytes(header + descriptors + b"\r" + b"".join(rows) + b"\x1a")
    if has_memo:
        memo_header = struct.pack("<L", next_block).ljust(512, b"\x00")
        path.with_suffix(".DBT").write_bytes(memo_header + b"".join(memo_blocks))
