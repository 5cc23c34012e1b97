"""GoldMine's dBase files (older installations): found, decoded and staged into a SQLite copy.

dBase files have no index ledgerlink can use, so every read scans them. Rather than hold a table in
memory to join CONTACT1 to CONTACT2 and CONTSUPP, each read streams the files into a temporary
SQLite database with GoldMine's SQL schema and then runs the very same queries as the SQL edition:
one code path, the same canonical records, memory bounded by one batch of rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from dbfread import DBF, FieldParser
from dbfread.codepages import guess_encoding
from dbfread.exceptions import DBFNotFound, MissingMemoFile
from sqlalchemy import DateTime, Engine, Float, Integer, Table

from ledgerlink.connectors.goldmine.schema import GoldMineTables
from ledgerlink.errors import ConfigError, ConnectionFailedError, ErrorContext

SYSTEM = "goldmine"
BATCH_SIZE = 1_000
#: Byte 29 of a dBase header names its code page; 0 means "not said", which for GoldMine's
#: files in practice means Windows-1252.
LANGUAGE_DRIVER_OFFSET = 29
FALLBACK_ENCODING = "cp1252"
MEMO_SUFFIXES = (".dbt", ".fpt")


class DecimalFieldParser(FieldParser):  # type: ignore[misc]
    """dbfread's parser, but numeric fields become exact ``Decimal`` values, never floats.

    With ``wanted`` set (upper-case field names), other fields are not decoded at all: a
    GoldMine record has some 70 fields and ledgerlink reads a fifth of them.
    """

    wanted: frozenset[str] | None = None

    def __init__(self, table: Any, memofile: Any = None) -> None:
        super().__init__(table, memofile)
        self._keep: dict[str, bool] = {}

    def parse(self, field: Any, data: bytes) -> Any:
        """A field's value, or ``None`` for a field nobody reads."""
        if self.wanted is not None:
            keep = self._keep.get(field.name)
            if keep is None:
                keep = self._keep[field.name] = field.name.upper() in self.wanted
            if not keep:
                return None
        return super().parse(field, data)

    def parseN(self, field: Any, data: bytes) -> Decimal | None:  # noqa: N802 - dbfread's name
        """Numeric field: its digits as a Decimal (``None`` when blank)."""
        cleaned = data.strip().strip(b"*").replace(b",", b".")
        if not cleaned:
            return None
        try:
            return Decimal(cleaned.decode("ascii"))
        except (InvalidOperation, UnicodeDecodeError):
            raise ValueError(f"invalid number {data!r} in field {field.name}") from None

    parseF = parseN  # noqa: N815 - dbfread's name


def find_table(folder: Path, name: str) -> Path | None:
    """``NAME.DBF`` in the folder, whatever the case of the file name."""
    wanted = f"{name}.dbf".casefold()
    for path in folder.iterdir():
        if path.name.casefold() == wanted:
            return path
    return None


def _files(folder: Path, names: tuple[str, ...]) -> Iterator[Path]:
    for name in names:
        path = find_table(folder, name)
        if path is None:
            continue
        yield path
        for suffix in MEMO_SUFFIXES:
            memo = path.with_suffix(suffix)
            if memo.exists():
                yield memo


def fingerprint(folder: Path, names: tuple[str, ...]) -> str:
    """A digest of the files' names, sizes and modification times: unchanged files, no read."""
    parts = []
    for path in _files(folder, names):
        stat = path.stat()
        parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.blake2b("|".join(parts).encode(), digest_size=12).hexdigest()


def file_encoding(path: Path, configured: str | None) -> str:
    """The configured code page, else the one in the file's header, else Windows-1252."""
    if configured:
        return configured
    with path.open("rb") as handle:
        header = handle.read(LANGUAGE_DRIVER_OFFSET + 1)
    driver = header[LANGUAGE_DRIVER_OFFSET] if len(header) > LANGUAGE_DRIVER_OFFSET else 0
    if driver == 0:
        return FALLBACK_ENCODING
    try:
        return str(guess_encoding(driver))
    except LookupError:
        return FALLBACK_ENCODING


def open_table(path: Path, encoding: str | None, wanted: Collection[str] | None = None) -> DBF:
    """A streaming reader of one dBase file (records are read as they are iterated)."""
    location = ErrorContext(system=SYSTEM, location=str(path))
    parser: type[DecimalFieldParser] = DecimalFieldParser
    if wanted is not None:
        names = frozenset(name.upper() for name in wanted)
        parser = type("WantedFieldParser", (DecimalFieldParser,), {"wanted": names})
    try:
        return DBF(
            str(path),
            encoding=file_encoding(path, encoding),
            parserclass=parser,
            char_decode_errors="strict",
        )
    except (DBFNotFound, FileNotFoundError):
        raise ConnectionFailedError(f"cannot open {path}", context=location) from None
    except MissingMemoFile:
        raise ConnectionFailedError(
            f"{path.name} has memo fields but its .DBT/.FPT memo file is missing",
            hint="Copy the memo file that belongs to it into the same folder",
            context=location,
        ) from None


def count_records(folder: Path, name: str) -> int:
    """How many records a table holds (records marked deleted are not counted)."""
    path = find_table(folder, name)
    if path is None:
        raise ConfigError(f"{folder} has no {name}.DBF", context=ErrorContext(system=SYSTEM))
    return len(open_table(path, None))


def _to_datetime(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)  # noqa: DTZ001 - GoldMine's local time
    return value


def _to_float(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value  # GoldMine's own column type


def _to_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "T" if value else "F"
    return str(value) if isinstance(value, Decimal) else value  # exact digits, as text


def _to_int(value: Any) -> Any:
    return int(value) if isinstance(value, Decimal) else value


def _converter(kind: Any) -> Callable[[Any], Any]:
    """How a dBase value becomes a value of the staging column's type."""
    if isinstance(kind, DateTime):
        return _to_datetime
    if isinstance(kind, Float):
        return _to_float
    if isinstance(kind, Integer):
        return _to_int
    return _to_text


def stage_table(
    path: Path,
    target: Table,
    engine: Engine,
    encoding: str | None,
    wanted: Collection[str] | None = None,
) -> int:
    """Copy one dBase table (its ``wanted`` columns) into its staging table, batch by batch;
    return the rows copied."""
    table = open_table(path, encoding, wanted)
    keep = {n.upper() for n in wanted} if wanted is not None else None
    columns = {c.name.upper(): c for c in target.columns if keep is None or c.name.upper() in keep}
    copies = [
        (name, columns[name.upper()].name, _converter(columns[name.upper()].type))
        for name in table.field_names
        if name.upper() in columns
    ]
    copied = 0
    batch: list[dict[str, Any]] = []
    try:
        with engine.begin() as conn:
            for record in table:
                batch.append({col: convert(record[name]) for name, col, convert in copies})
                if len(batch) >= BATCH_SIZE:
                    conn.execute(target.insert(), batch)
                    copied, batch = copied + len(batch), []
            if batch:
                conn.execute(target.insert(), batch)
                copied += len(batch)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path.name} is not in the code page {table.encoding}: {exc.reason} at byte "
            f"{exc.start}",
            hint="Set `dbf_encoding:` to the GoldMine files' code page (cp1252, cp437 or cp850)",
            context=ErrorContext(system=SYSTEM, location=str(path)),
        ) from None
    except ValueError as exc:
        raise ConnectionFailedError(
            f"{path.name} cannot be read as a dBase file: {exc}",
            context=ErrorContext(system=SYSTEM, location=str(path)),
        ) from None
    return copied


def stage_folder(
    folder: Path,
    tables: GoldMineTables,
    engine: Engine,
    encoding: str | None,
    wanted: Mapping[str, Collection[str]] | None = None,
) -> None:
    """Create the staging schema and copy every GoldMine table found in the folder into it
    (only the ``wanted`` columns of a table named there)."""
    missing = [t.name for t in tables.required() if find_table(folder, t.name) is None]
    if missing:
        raise ConfigError(
            f"the GoldMine folder {folder} has no {', '.join(f'{m}.DBF' for m in missing)}",
            hint="Point `dbf_path:` at the folder holding GoldMine's CONTACT1.DBF (the contact "
            "set, often COMMON) and copy OPMGR.DBF from GMBASE into it",
            context=ErrorContext(system=SYSTEM, location=str(folder)),
        )
    tables.metadata.create_all(engine)
    for table in (*tables.required(), tables.conttlog, tables.gmtlog):
        path = find_table(folder, table.name)
        if path is not None:
            columns = wanted.get(table.name) if wanted is not None else None
            stage_table(path, table, engine, encoding, columns)
