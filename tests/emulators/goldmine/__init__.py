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

from tests.emulators.goldmine.database import START, GoldMineEmulator
from tests.emulators.goldmine.dbase import write_dbf
from tests.emulators.goldmine.support import (
    connector_for,
    database_url,
    postgres_schema,
    read_all,
    require_postgres,
)

__all__ = [
    "START",
    "GoldMineEmulator",
    "connector_for",
    "database_url",
    "postgres_schema",
    "read_all",
    "require_postgres",
    "write_dbf",
]
