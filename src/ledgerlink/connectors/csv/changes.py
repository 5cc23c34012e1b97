"""Changes from file rows: keys, versions, duplicates, cursors, and the ``StreamRead`` of files."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence

from pydantic import BaseModel

from ledgerlink.canonical.normalise import email_key, name_key
from ledgerlink.canonical.records import Change, ReadFailure, Record
from ledgerlink.compact import Int64Map
from ledgerlink.connectors.files import FileScan
from ledgerlink.errors import RecordError

# Cells are joined with the ASCII unit separator before hashing: no CRM export puts it in text.
CELL_SEPARATOR = "\x1f"
ROW_SEPARATOR = "\x1e"

Item = Change | ReadFailure


class Versioner:
    """Hex digests of rows, salted with the connection's settings so a config change shows."""

    def __init__(self, fingerprint: str) -> None:
        self._base = hashlib.blake2b(fingerprint.encode(), digest_size=16)

    def of_cells(self, cells: Sequence[str]) -> str:
        """The version of one row."""
        hasher = self._base.copy()
        hasher.update(CELL_SEPARATOR.join(cells).encode("utf-8", "surrogatepass"))
        return hasher.hexdigest()

    def of_rows(self, rows: Sequence[Sequence[str]]) -> str:
        """The version of a record spread over several rows."""
        text = ROW_SEPARATOR.join(CELL_SEPARATOR.join(cells) for cells in rows)
        hasher = self._base.copy()
        hasher.update(text.encode("utf-8", "surrogatepass"))
        return hasher.hexdigest()


class SeenKeys:
    """Each key's first line and version, in flat arrays so a million keys stay small.

    Keys are held by their in-process hash, not as strings: about 60 bytes less per row. Two
    different keys sharing a 64-bit hash (about 1 in 10^7 for a million rows) would make the
    second look like a duplicate: it is dead-lettered with both lines named, never lost.
    """

    __slots__ = ("_lines", "_tags")

    def __init__(self) -> None:
        self._tags = Int64Map()
        self._lines = Int64Map()

    def check(self, key: str, line: int, version: str) -> tuple[int, bool] | None:
        """None for a new key; else the first line and whether that occurrence was identical."""
        tag = int(version[:16], 16)
        slot = hash(key)
        first = self._lines.get(slot)
        if first is None:
            self._tags[slot] = tag
            self._lines[slot] = line
            return None
        return first, self._tags.get(slot) == Int64Map.fold(tag)


def contact_key(record_id: str, email: str, name: str) -> str:
    """The key rule shared by every file source: id, else e-mail, else ``name:`` + name key."""
    if record_id:
        return record_id
    if email:
        return email_key(email)
    folded = name_key(name) if name else ""
    return f"name:{folded}" if folded else ""


def reference_key(value: str) -> str:
    """A contact reference written in another record: an e-mail when it has ``@``, else an id."""
    text = value.strip()
    return email_key(text) if "@" in text else text


def settings_fingerprint(config: BaseModel, *, exclude: set[str], revision: int) -> str:
    """A short digest of the settings that shape records (not the paths), plus the code revision.

    Versions and cursors include it, so changing, say, ``default_region`` re-reads every record.
    """
    text = f"{revision}:{config.model_dump_json(exclude=exclude)}"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def make_cursor(stream: str, digest: str, fingerprint: str) -> str:
    """The cursor of a file stream: the stream, the file's SHA-256 and the settings' fingerprint."""
    return f"{stream}:sha256={digest}:cfg={fingerprint}"


def duplicate_error(
    noun: str, line: int, first_line: int, unit: str = "line"
) -> Callable[[], Record]:
    """A ``load`` that reports a second, different row with the same key."""

    def load() -> Record:
        raise RecordError(
            f"duplicate {noun}: {unit} {line} has the same key as {unit} {first_line} "
            "with different values",
            hint=f"Merge the two {noun}s in the CRM (one {noun} is one record) and export again",
        )

    return load


def failing(error: RecordError) -> Callable[[], Record]:
    """A ``load`` that raises ``error``: the engine dead-letters the record and goes on."""

    def load() -> Record:
        raise error

    return load


class FileStreamRead:
    """A ``StreamRead`` over files: empty when unchanged; no cursor if a file moved under us."""

    def __init__(
        self,
        produce: Callable[[], Iterator[Item]] | None,
        next_cursor: str,
        scans: Sequence[FileScan] = (),
    ) -> None:
        self._produce = produce
        self._next_cursor = next_cursor
        self._scans = tuple(scans)

    def __iter__(self) -> Iterator[Item]:
        return iter(()) if self._produce is None else self._produce()

    def cursor(self) -> str | None:
        """The files' digest; None (read everything next time) if one changed while being read."""
        if all(scan.unchanged_on_disk() for scan in self._scans):
            return self._next_cursor
        return None
