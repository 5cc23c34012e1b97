"""The GoldMine emulator proper: GoldMine's tables in a database, written to as GoldMine does."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, create_engine, delete
from sqlalchemy import update as sql_update
from sqlalchemy.engine import make_url

from ledgerlink.connectors.goldmine.schema import goldmine_tables
from tests.emulators.goldmine.dbase import write_table

if TYPE_CHECKING:
    from ledgerlink.connectors.goldmine.connector import GoldMineConnector

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


def _day(value: date | None) -> datetime | None:
    return None if value is None else datetime(value.year, value.month, value.day)


def _money(value: Decimal | str | None) -> float | None:
    return None if value is None else float(value)  # OPMGR amounts are floats in GoldMine


def engine_url(url: str) -> str:
    """The URL SQLAlchemy should open: plain ``postgresql://`` means psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


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
        self.engine = create_engine(engine_url(url))
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
        main = {
            "OPID": opid,
            "RECTYPE": "O",
            "ACCOUNTNO": accountno,
            "USERID": "MASTER",
            "NAME": name,
            "STATUS": status,
            "STAGE": stage,
            "U_STAGE": stage.upper(),
            "CLOSEBY": _day(close_by),
            "CLOSEDDATE": _day(closed_on),
            "FORAMT": _money(amount),
            "FORPROB": 50,
            "CLOSEAMT": _money(closed_amount),
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
            with self.engine.connect() as conn:
                records = [dict(r._mapping) for r in conn.execute(table.select())]
            write_table(folder, table, records, encoding=encoding, language_driver=language_driver)
