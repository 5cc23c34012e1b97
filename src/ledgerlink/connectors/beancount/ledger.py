"""Load a ledger with Beancount's own loader; replace it atomically, only with text that loads."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beancount import loader

from ledgerlink.connectors.beancount.text import LedgerText
from ledgerlink.crashpoints import crashpoint
from ledgerlink.errors import ConnectionFailedError, ErrorContext, FatalError, TransientError

SYSTEM = "beancount"
MAX_ERRORS_SHOWN = 3


def starter_text(currency: str) -> str:
    """The first lines of a ledger ledgerlink creates."""
    return (
        "; Books kept by ledgerlink: a plain Beancount ledger (https://beancount.github.io).\n"
        "; Edit it freely: ledgerlink keeps your own lines, comments and transactions as they\n"
        "; are, and checks the whole file with Beancount before every write.\n"
        f'option "operating_currency" "{currency}"\n'
    )


def load_entries(path: Path) -> tuple[list[Any], list[Any], dict[str, Any]]:
    """Parse, book, run plugins and validate ``path`` and its includes, as ``bean-check`` does.

    Beancount's public ``load_file`` may write a ``.picklecache`` next to the ledger (and next
    to our temporary files); the uncached internal loader does the same work without it.
    """
    load = getattr(loader, "_load", None)
    if load is None:  # pragma: no cover - only if Beancount renames its internal loader
        entries, errors, options = loader.load_file(str(path))
    else:
        entries, errors, options = load([(str(path), True)], None, None, None)
    return list(entries), list(errors), dict(options)


@dataclass(frozen=True, slots=True)
class BeancountProblem:
    """One error Beancount reported: where (file and line) and its own message."""

    filename: str
    lineno: int
    message: str

    def location(self) -> str:
        """``file:line``, or just the file when Beancount gave no line."""
        return f"{self.filename}:{self.lineno}" if self.lineno else self.filename


def problems_of(errors: Sequence[Any]) -> list[BeancountProblem]:
    """Beancount's error objects as data."""
    found: list[BeancountProblem] = []
    for error in errors:
        source = getattr(error, "source", None) or {}
        filename = str(source.get("filename") or "<ledger>")
        lineno = source.get("lineno") or 0
        message = " ".join(str(getattr(error, "message", error)).split())
        found.append(BeancountProblem(filename, int(lineno), message))
    return found


@dataclass(slots=True)
class LedgerSnapshot:
    """A ledger as loaded: its exact bytes, its lines, and Beancount's entries and options.

    ``main_name`` is the file name Beancount recorded in the entries of the main file (a
    temporary name when the snapshot comes from validating text that was then written).
    """

    path: Path
    data: bytes
    text: LedgerText
    entries: list[Any]
    options: dict[str, Any]
    main_name: str
    exists: bool
    includes: dict[str, str] = field(default_factory=dict)

    def still_current(self, data: bytes) -> bool:
        """True when the file and its includes are unchanged since this snapshot."""
        return data == self.data and self.includes == _include_digests(self.includes)


def _include_digests(paths: Iterable[str]) -> dict[str, str]:
    """A content digest per included file (``missing`` for one that cannot be read)."""
    digests: dict[str, str] = {}
    for name in paths:
        try:
            digests[name] = hashlib.sha256(Path(name).read_bytes()).hexdigest()
        except OSError:
            digests[name] = "missing"
    return digests


def read_bytes(path: Path) -> bytes | None:
    """The file's bytes, or None when it does not exist; other failures are connection errors."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConnectionFailedError(
            f"cannot read the ledger {path}: {exc.strerror}",
            hint="Check the path and its permissions",
            context=ErrorContext(system=SYSTEM, location=str(path)),
        ) from None


def decode(path: Path, data: bytes) -> LedgerText:
    """The ledger's text; Beancount files are UTF-8."""
    try:
        return LedgerText.parse(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise FatalError(
            f"the ledger {path} is not UTF-8 text (byte {exc.start})",
            hint="Save it as UTF-8 and re-run; ledgerlink wrote nothing",
            context=ErrorContext(system=SYSTEM, location=str(path)),
        ) from None


def load_snapshot(path: Path, data: bytes) -> LedgerSnapshot:
    """Load an existing ledger; raise ``FatalError`` (naming file:line) if it has any error."""
    text = decode(path, data)
    entries, errors, options = load_entries(path)
    if errors:
        raise invalid_ledger_error(path, problems_of(errors))
    included = [name for name in options.get("include", []) if name != str(path)]
    return LedgerSnapshot(
        path=path,
        data=data,
        text=text,
        entries=entries,
        options=options,
        main_name=str(path),
        exists=True,
        includes=_include_digests(included),
    )


def invalid_ledger_error(path: Path, problems: Sequence[BeancountProblem]) -> FatalError:
    """The error for a ledger that does not load as it is: ledgerlink never writes to one."""
    shown = "; ".join(f"{p.location()}: {p.message}" for p in problems[:MAX_ERRORS_SHOWN])
    more = len(problems) - MAX_ERRORS_SHOWN
    if more > 0:
        shown += f"; and {more} more"
    return FatalError(
        f"the ledger has {len(problems)} error(s): {shown}",
        hint=f"Fix the ledger (bean-check {path} shows the same) and re-run; ledgerlink wrote "
        "nothing",
        context=ErrorContext(system=SYSTEM, location=problems[0].location() if problems else None),
        details={"errors": [p.location() + ": " + p.message for p in problems]},
    )


@contextlib.contextmanager
def candidate_file(path: Path, text: str) -> Iterator[Path]:
    """A temporary file next to ``path`` holding ``text``, flushed to disk; removed on exit.

    It sits in the same folder so that ``include`` lines resolve exactly as for the real file
    and so that ``os.replace`` onto the real file is atomic.
    """
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".ledgerlink-tmp", dir=path.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            os.chmod(temp, os.stat(path).st_mode & 0o7777)
        yield temp
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def replace_with(path: Path, temp: Path, expected: bytes | None) -> None:
    """Move ``temp`` onto ``path`` atomically, unless someone changed ``path`` meanwhile.

    ``expected`` is what the file held when it was loaded (None: it did not exist).
    """
    if read_bytes(path) != expected:
        raise TransientError(
            f"the ledger {path} changed while ledgerlink was preparing its write",
            hint="Nothing was written; the next run retries with the new content",
            context=ErrorContext(system=SYSTEM, location=str(path)),
        )
    crashpoint("before-ledger-replace")
    os.replace(temp, path)
    crashpoint("after-ledger-replace")
    _fsync_directory(path.parent)


def _fsync_directory(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
