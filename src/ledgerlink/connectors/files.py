"""Reading CRM export files: encodings, digests, delimiters, rows with the line they start on."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ledgerlink.errors import ConfigError, ConnectionFailedError, RecordError

CHUNK_SIZE = 1 << 20
DELIMITERS = (",", ";", "\t", "|")
# Outlook writes "0/0/00" for a date that is not set; it means empty everywhere.
NO_DATE = "0/0/00"
MAX_CELL = 64 << 20
_DECLARED = re.compile(r"sep=(.)\r?\n")

_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with BOM"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 LE with BOM"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 BE with BOM"),
)
_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "cp1252": "Windows-1252 (cp1252)"}


@dataclass(frozen=True, slots=True)
class FileScan:
    """One pass over a file: its SHA-256, how to decode it, and its size and time when scanned."""

    path: Path
    digest: str
    encoding: str
    label: str
    size: int
    mtime_ns: int

    def unchanged_on_disk(self) -> bool:
        """True while the file still has the size and modification time it had when scanned."""
        try:
            stat = self.path.stat()
        except OSError:
            return False
        return stat.st_size == self.size and stat.st_mtime_ns == self.mtime_ns


@dataclass(frozen=True, slots=True)
class _Failure:
    offset: int
    line: int
    byte: int


class _DecodeCheck:
    """Checks, while the file streams past, which candidate encodings decode all of it."""

    def __init__(self, candidates: Sequence[str]) -> None:
        self.candidates = tuple(candidates)
        self.failures: dict[str, _Failure] = {}
        self._decoders = {
            name: codecs.getincrementaldecoder(name)("strict")
            for name in self.candidates
            if name != "cp1252"
        }
        self._offset = 0
        self._lines = 0

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        """Decode the next chunk with every candidate still in the running."""
        if "cp1252" in self.candidates and "cp1252" not in self.failures:
            # Every byte but these five decodes in cp1252: searching for them is much faster.
            found = [p for p in (chunk.find(b) for b in _CP1252_UNDEFINED) if p >= 0]
            if found:
                self._fail("cp1252", chunk, min(found), self._offset)
        for name, decoder in list(self._decoders.items()):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final)
            except UnicodeDecodeError as exc:
                # The decoder prepends bytes it kept from the previous chunk.
                self._fail(name, bytes(exc.object), exc.start, self._offset - pending)
                del self._decoders[name]
        self._offset += len(chunk)
        self._lines += chunk.count(b"\n")

    def _fail(self, name: str, data: bytes, position: int, data_offset: int) -> None:
        byte = data[position] if position < len(data) else 0
        line = self._lines + data[:position].count(b"\n") + 1
        self.failures[name] = _Failure(data_offset + position, line, byte)

    def first_ok(self) -> str | None:
        return next((c for c in self.candidates if c not in self.failures), None)


def open_binary(path: Path) -> io.BufferedReader:
    """Open a file for reading, or raise ``ConnectionFailedError`` saying why it cannot be."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise ConnectionFailedError(
            f"{path} does not exist",
            hint="Check the path in the configuration; relative paths start at the config file",
        ) from None
    except IsADirectoryError:
        raise ConnectionFailedError(
            f"{path} is a directory, not a file", hint="Point the path at the exported file"
        ) from None
    except OSError as exc:
        raise ConnectionFailedError(
            f"{path} cannot be read: {exc.strerror or exc}",
            hint="Check that the file exists and that ledgerlink may read it",
        ) from None


def digest_file(path: Path) -> FileScan:
    """The file's SHA-256 without decoding it (for binary files such as XLSX)."""
    return _scan(path, None, decode=False)


def scan_text_file(path: Path, encoding: str | None) -> FileScan:
    """Hash the file and find its encoding in one pass.

    Detection: a byte-order mark, else strict UTF-8 over the whole file, else Windows-1252 (which
    leaves five bytes undefined). A configured ``encoding`` must decode the whole file; when it
    does not, the ``ConfigError`` names the line and byte and suggests what detection finds.
    """
    return _scan(path, encoding, decode=True)


def _scan(path: Path, encoding: str | None, *, decode: bool) -> FileScan:
    sha = hashlib.sha256()
    with open_binary(path) as handle:
        stat = os.fstat(handle.fileno())
        chunk = handle.read(CHUNK_SIZE)
        candidates = _candidates(chunk, encoding, path) if decode else {}
        check = _DecodeCheck(tuple(candidates))
        while chunk:
            sha.update(chunk)
            check.feed(chunk)
            chunk = handle.read(CHUNK_SIZE)
        check.feed(b"", final=True)
    chosen = check.first_ok() if decode else "binary"
    if chosen is None:
        raise _encoding_error(path, encoding, check)
    label = candidates.get(chosen, chosen)
    return FileScan(path, sha.hexdigest(), chosen, label, stat.st_size, stat.st_mtime_ns)


def _candidates(first: bytes, encoding: str | None, path: Path) -> dict[str, str]:
    """Codec name → label, in the order to try them."""
    bom = next(((name, label) for mark, name, label in _BOMS if first.startswith(mark)), None)
    if encoding is None:
        return dict([bom]) if bom else {"utf-8": "UTF-8", "cp1252": _LABELS["cp1252"]}
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ConfigError(
            f"unknown encoding {encoding!r} for {path.name}",
            hint="Use a Python codec name such as utf-8, utf-8-sig, cp1252 or latin-1, "
            "or remove `encoding:` to let ledgerlink detect it",
        ) from None
    if name == "utf-8" and bom and bom[0] == "utf-8-sig":
        return {"utf-8-sig": bom[1]}
    return {name: _LABELS.get(name, name)}


def _encoding_error(path: Path, encoding: str | None, check: _DecodeCheck) -> ConfigError:
    if encoding is not None:
        name = check.candidates[0]
        failure = check.failures[name]
        try:
            detected: str | None = scan_text_file(path, None).encoding
        except ConfigError:
            detected = None
        hint = (
            f"The file looks like {_LABELS.get(detected, detected)}: set `encoding: {detected}`, "
            "or remove `encoding:` to let ledgerlink detect it"
            if detected and detected != name
            else "Save the file as UTF-8, or set `encoding:` to the code page it was written in"
        )
        return ConfigError(
            f"{path.name} is not {encoding}: byte 0x{failure.byte:02X} on line {failure.line} "
            f"(offset {failure.offset}) cannot be decoded",
            hint=hint,
        )
    reasons = "; ".join(
        f"not {_LABELS.get(name, name)} (byte 0x{f.byte:02X} on line {f.line})"
        for name in check.candidates
        if (f := check.failures.get(name))
    )
    return ConfigError(
        f"cannot tell the encoding of {path.name}: {reasons}",
        hint="Save the file as UTF-8, or set `encoding:` to the code page it was written in "
        "(for example cp1250 or latin-1)",
    )


def open_text(scan: FileScan) -> TextIO:
    """Open a scanned file as text, keeping line endings inside quoted cells as they are."""
    return scan.path.open(encoding=scan.encoding, newline="")


def sniff_delimiter(sample: str) -> str:
    """The delimiter among , ; TAB | that splits the first record into the most cells."""
    best, best_count = ",", 1
    for delimiter in DELIMITERS:
        try:
            first = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
        except csv.Error:
            continue
        if len(first) > best_count:
            best, best_count = delimiter, len(first)
    return best


@dataclass(frozen=True, slots=True)
class BadRow:
    """Lines the CSV parser could not read as a row (a stray or unclosed quote)."""

    line: int
    end_line: int
    reason: str

    def error(self) -> RecordError:
        """What went wrong, for the dead-letter queue."""
        if "unexpected end of data" in self.reason:
            lost = (
                f"line {self.line}"
                if self.end_line <= self.line
                else f"lines {self.line}-{self.end_line}"
            )
            return RecordError(
                f"a quoted cell opened on line {self.line} is never closed, so {lost} could not "
                "be read",
                hint=f"Remove or close the stray double quote on line {self.line} and export again",
            )
        return RecordError(
            f"line {self.line} is not valid CSV: {self.reason}",
            hint="A quoted cell must be followed by the delimiter; fix the quotes on that line",
        )


class CsvTable:
    """A delimited text file: its header, then each row with the physical line it starts on."""

    def __init__(self, scan: FileScan, delimiter: str | None) -> None:
        self.scan = scan
        self.name = scan.path.name
        self._delimiter = delimiter
        self._declared: int | None = None
        self.line_prefix = f"{self.name}:line "
        self.unit = "line"

    @property
    def delimiter(self) -> str:
        """The configured delimiter, else a ``sep=`` first line (Excel), else the sniffed one."""
        if self._delimiter is None or self._declared is None:
            with open_text(self.scan) as handle:
                sample = handle.read(1 << 16)
            declared = _DECLARED.match(sample)
            self._declared = 1 if declared else 0
            if self._delimiter is None:
                self._delimiter = declared.group(1) if declared else sniff_delimiter(sample)
        return self._delimiter

    def header(self) -> list[str]:
        """The first non-empty record, trimmed; empty when the file holds no record."""
        for item in self._records(header=True):
            if isinstance(item, tuple):
                return [cell.strip().lstrip("\ufeff").strip() for cell in item[1]]
            raise ConfigError(f"{self.name}: the header row is not valid CSV: {item.reason}")
        return []

    def rows(self) -> Iterator[tuple[int, list[str]] | BadRow]:
        """Every record after the header with its first line; blank lines are skipped."""
        records = self._records(header=False)
        for item in records:
            if isinstance(item, tuple):
                break
        yield from records

    def _records(self, *, header: bool) -> Iterator[tuple[int, list[str]] | BadRow]:
        delimiter = self.delimiter
        declared = self._declared or 0
        # The csv module refuses cells over 128 KiB by default, and a long pasted e-mail in a
        # Notes cell is bigger. The limit is process-wide; ledgerlink only ever raises it.
        csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL))
        with open_text(self.scan) as handle:
            reader = csv.reader(handle, delimiter=delimiter, strict=True)
            previous = 0
            if declared:
                next(handle, None)  # Excel's "sep=;" line is not a record
                previous = 1
            while True:
                # A plain for loop is the fast path; after a parse error it resumes on the next row.
                try:
                    for cells in reader:
                        start, previous = previous + 1, reader.line_num + declared
                        if cells:
                            yield start, cells
                            if header:
                                return
                    return
                except csv.Error as exc:
                    if "field larger than field limit" in str(exc):
                        # Reading on would start inside that cell and invent rows from its text.
                        raise ConfigError(
                            f"{self.name}, line {previous + 1}: a cell is larger than "
                            f"{MAX_CELL >> 20} MiB",
                            hint="Shorten that cell in the CRM (often a pasted e-mail in the "
                            "notes), or check the line for a stray double quote",
                        ) from None
                    yield BadRow(previous + 1, reader.line_num + declared, str(exc))
                    previous = reader.line_num + declared

    def describe(self, noun: str = "rows") -> str:
        """``contacts.csv: 1,204 rows, UTF-8 with BOM, delimiter ','`` (reads the whole file)."""
        count = sum(1 for item in self.rows() if isinstance(item, tuple) and any(item[1]))
        return f"{self.name}: {count:,} {noun}, {self.scan.label}, delimiter {self.delimiter!r}"


def unique_names(header: Sequence[str]) -> tuple[str, ...]:
    """Header names made unique for raw rows: ``column 7`` when empty, ``Name (column 9)`` twice."""
    seen: set[str] = set()
    names: list[str] = []
    for position, name in enumerate(header, start=1):
        label = name or f"column {position}"
        if label in seen:
            label = f"{label} (column {position})"
        seen.add(label)
        names.append(label)
    return tuple(names)


class RowView(Mapping[str, str]):
    """A row (or a deal's rows) as header → cell, built only when someone looks at it."""

    __slots__ = ("_names", "_pairs_cache", "_rows")

    def __init__(self, names: Sequence[str], rows: Sequence[tuple[int, Sequence[str]]]) -> None:
        self._names = names
        self._rows = rows
        self._pairs_cache: dict[str, str] | None = None

    def _pairs(self) -> dict[str, str]:
        if self._pairs_cache is not None:
            return self._pairs_cache
        pairs: dict[str, str] = {}
        for number, (line, cells) in enumerate(self._rows):
            suffix = f" (line {line})" if number else ""
            for position, cell in enumerate(cells):
                if cell and cell != NO_DATE:
                    name = (
                        self._names[position]
                        if position < len(self._names)
                        else f"column {position + 1}"
                    )
                    pairs[name + suffix] = cell
        self._pairs_cache = pairs
        return pairs

    def __getitem__(self, key: str) -> str:
        return self._pairs()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._pairs())

    def __len__(self) -> int:
        return len(self._pairs())
