"""GoldMine's tables as SQLAlchemy Core tables, with the names and types its SQL edition uses.

Sources (see ``docs/connectors/goldmine.md`` and the CRM reference, section 3):

- CONTACT1 and CONTSUPP: names, types and lengths from an Entity Framework model of a live GoldMine
  database; CONTACT2's system columns from the same model (their lengths are not published, so
  the ones below are assumptions), ``recid`` on CONTACT2 from public GoldMine stored procedures.
- OPMGR: column names and lengths from the trusoft table dictionary; OPMGR has no LASTDATE or
  LASTTIME (GoldMine's own procedures insert it without them). F1-F3 lengths are assumptions.
- CONTTLOG / GMTLOG: the sync logs (7-character encoded stamps, ACTION N/U/D, TABLEID codes).

``LASTDATE`` is a ``datetime`` holding the date at midnight, ``LASTTIME`` a ``HH:MM`` string, both
in the local time of the workstation that wrote the row. Upper-case ``U_*`` shadow columns exist
only in SQL builds. Tables are built per connection because CONTACT2's user fields are the site's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, DateTime, Float, Integer, MetaData, String, Table, Text
from sqlalchemy.types import TypeEngine

#: CONTACT2 user fields the emulator and a fresh schema get when none are configured.
DEFAULT_USER_FIELD_TYPES: dict[str, TypeEngine[Any]] = {
    "UTAXID": String(20),
    "UCREDLIMIT": Float(asdecimal=True),
    "UTERMS": String(10),
    "UINVOICE": String(20),
    "UPAID": String(10),
}
#: CONTTLOG.TABLEID of CONTACT1 rows; GMTLOG.TABLEID of OPMGR rows.
TABLEID_CONTACT1 = "&"
TABLEID_OPMGR = "B"
#: CONTSUPP rows holding an e-mail address: RECTYPE 'P' and this CONTACT (any case).
EMAIL_DETAIL = "E-MAIL ADDRESS"


@dataclass(frozen=True, slots=True)
class GoldMineTables:
    """The GoldMine tables ledgerlink reads and writes, in one ``MetaData``."""

    metadata: MetaData
    contact1: Table
    contact2: Table
    contsupp: Table
    opmgr: Table
    conttlog: Table
    gmtlog: Table

    def required(self) -> tuple[Table, ...]:
        """The tables a GoldMine database must have for ledgerlink to read it."""
        return (self.contact1, self.contact2, self.contsupp, self.opmgr)


def _text_columns(names: str, length: int, *, nullable: bool = True) -> list[Column[Any]]:
    return [Column(name, String(length), nullable=nullable) for name in names.split()]


def _contact1(metadata: MetaData, strict: bool) -> Table:
    return Table(
        "CONTACT1",
        metadata,
        Column("ACCOUNTNO", String(20), primary_key=True),
        Column("COMPANY", String(40)),
        Column("CONTACT", String(40)),
        Column("LASTNAME", String(15)),
        *_text_columns("DEPARTMENT TITLE", 35),
        Column("SECR", String(20)),
        Column("PHONE1", String(25), nullable=not strict),
        *_text_columns("PHONE2 PHONE3 FAX", 25),
        *_text_columns("EXT1 EXT2 EXT3 EXT4", 6),
        *_text_columns("ADDRESS1 ADDRESS2 ADDRESS3", 40),
        Column("CITY", String(30)),
        Column("STATE", String(20)),
        Column("ZIP", String(10), nullable=not strict),
        *_text_columns("COUNTRY DEAR SOURCE KEY1 KEY2 KEY3 KEY4 KEY5", 20),
        Column("STATUS", String(3)),
        Column("NOTES", Text),
        Column("MERGECODES", String(20)),
        Column("CREATEBY", String(8)),
        Column("CREATEON", DateTime),
        Column("CREATEAT", String(5)),
        *_text_columns("OWNER LASTUSER", 8),
        Column("LASTDATE", DateTime),
        Column("LASTTIME", String(8)),
        *_text_columns("U_COMPANY U_CONTACT", 40, nullable=not strict),
        Column("U_LASTNAME", String(15), nullable=not strict),
        Column("U_CITY", String(30), nullable=not strict),
        *_text_columns("U_STATE U_COUNTRY", 20, nullable=not strict),
        *_text_columns("U_KEY1 U_KEY2 U_KEY3 U_KEY4 U_KEY5", 20, nullable=not strict),
        Column("recid", String(15), nullable=not strict),
    )


def _contact2(metadata: MetaData, user_fields: Mapping[str, TypeEngine[Any]]) -> Table:
    return Table(
        "CONTACT2",
        metadata,
        Column("ACCOUNTNO", String(20), primary_key=True),
        Column("CALLBACKON", DateTime),
        Column("CALLBACKAT", String(5)),
        Column("CALLBKFREQ", String(10)),
        Column("LASTCONTON", DateTime),
        Column("LASTCONTAT", String(5)),
        Column("LASTATMPON", DateTime),
        Column("LASTATMPAT", String(5)),
        Column("MEETDATEON", DateTime),
        Column("MEETTIMEAT", String(5)),
        Column("COMMENTS", String(60)),
        Column("PREVRESULT", String(20)),
        Column("NEXTACTION", String(20)),
        Column("ACTIONON", DateTime),
        Column("CLOSEDATE", DateTime),
        *[Column(name, type_) for name, type_ in user_fields.items()],
        Column("recid", String(15)),
    )


def _contsupp(metadata: MetaData) -> Table:
    return Table(
        "CONTSUPP",
        metadata,
        Column("ACCOUNTNO", String(20), index=True),
        Column("RECTYPE", String(1)),
        Column("CONTACT", String(40)),
        Column("TITLE", String(35)),
        Column("CONTSUPREF", String(35)),
        Column("DEAR", String(20)),
        Column("PHONE", String(25)),
        Column("EXT", String(6)),
        Column("FAX", String(25)),
        Column("LINKACCT", String(20)),
        Column("NOTES", Text),
        *_text_columns("ADDRESS1 ADDRESS2 ADDRESS3", 40),
        Column("CITY", String(30)),
        Column("STATE", String(20)),
        Column("ZIP", String(10)),
        Column("COUNTRY", String(20)),
        Column("MERGECODES", String(20)),
        Column("STATUS", String(3)),
        Column("LINKEDDOC", Text),
        Column("LASTUSER", String(8)),
        Column("LASTDATE", DateTime),
        Column("LASTTIME", String(8)),
        Column("U_CONTACT", String(40)),
        Column("U_CONTSUPREF", String(35)),
        Column("U_ADDRESS1", String(40)),
        Column("recid", String(15), primary_key=True),
    )


def _opmgr(metadata: MetaData, schema: str | None) -> Table:
    return Table(
        "OPMGR",
        metadata,
        Column("OPID", String(15), index=True),
        Column("RECTYPE", String(3)),
        Column("ACCOUNTNO", String(20)),
        Column("USERID", String(8)),
        Column("FLAGS", String(10)),
        Column("COMPANY", String(40)),
        Column("CONTACT", String(40)),
        Column("NAME", String(50)),
        *_text_columns("STATUS CYCLE", 50),
        *_text_columns("STAGE SOURCE", 30),
        *_text_columns("F1 F2 F3", 40),
        *[Column(name, DateTime) for name in ("STARTDATE", "CLOSEDDATE", "CLOSEBY")],
        Column("FORAMT", Float(asdecimal=True)),
        Column("FORPROB", Integer),
        Column("CLOSEAMT", Float(asdecimal=True)),
        Column("NOTES", Text),
        Column("PRODUCTNAME", String(80)),
        Column("U_STAGE", String(30)),
        Column("RECID", String(15), primary_key=True),
        schema=schema,
    )


def _sync_log(name: str, metadata: MetaData, schema: str | None) -> Table:
    return Table(
        name,
        metadata,
        Column("SYNCSTAMP", String(7)),
        Column("LOGSTAMP", String(7)),
        Column("ACTION", String(2)),
        Column("TABLEID", String(1)),
        Column("FRECID", String(15)),
        Column("FIELDNAME", String(10)),
        Column("USERID", String(9)),
        schema=schema,
    )


def goldmine_tables(
    user_fields: Mapping[str, TypeEngine[Any]] | None = None,
    *,
    gmbase_schema: str | None = None,
    strict: bool = True,
) -> GoldMineTables:
    """GoldMine's tables with these CONTACT2 user fields (name -> type).

    ``strict=False`` makes every column nullable: dBase files know no NOT NULL and lack the SQL-only
    shadow columns, so their staging copy uses it.
    """
    metadata = MetaData()
    fields = DEFAULT_USER_FIELD_TYPES if user_fields is None else user_fields
    return GoldMineTables(
        metadata=metadata,
        contact1=_contact1(metadata, strict),
        contact2=_contact2(metadata, fields),
        contsupp=_contsupp(metadata),
        opmgr=_opmgr(metadata, gmbase_schema),
        conttlog=_sync_log("CONTTLOG", metadata, None),
        gmtlog=_sync_log("GMTLOG", metadata, gmbase_schema),
    )
