"""The ledger as lines: find a directive's block, keep a person's lines, splice edits in."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_META_KEY = re.compile(r"^[ \t]+([a-z][A-Za-z0-9_-]+):")


def _ends_in_string(line: str, in_string: bool) -> bool:
    """Whether a Beancount string is still open at the end of ``line`` (strings may span lines)."""
    escaped = False
    for ch in line:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == ";":
            break
    return in_string


@dataclass(eq=False, slots=True)
class Edit:
    """Lines to put into the ledger: replacing ``[start, end)`` (0-based), or appended at the end.

    ``owners`` are the indexes of the write requests that need this edit; it is written while
    any of them is still being written. Several requests share an edit when they need the same
    account opened, or when a later update in the batch supersedes an earlier one.
    """

    owners: set[int]
    lines: tuple[str, ...]
    start: int | None = None
    end: int = 0

    @property
    def is_append(self) -> bool:
        """True for a new directive added at the end of the file."""
        return self.start is None


@dataclass(frozen=True, slots=True)
class Placed:
    """Where an edit landed in the assembled text: 1-based lines ``first..last`` inclusive."""

    edit: Edit
    first: int
    last: int


@dataclass(frozen=True, slots=True)
class LedgerText:
    """A ledger file's text as lines, each with its own line ending, exactly as read."""

    lines: tuple[str, ...]
    newline: str = "\n"

    @classmethod
    def parse(cls, text: str) -> LedgerText:
        """Split on ``\\n`` only (Beancount counts lines that way), keeping every byte."""
        parts = text.split("\n")
        lines = [part + "\n" for part in parts[:-1]]
        if parts[-1]:
            lines.append(parts[-1])
        newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
        return cls(tuple(lines), newline)

    def block(self, lineno: int) -> tuple[int, int]:
        """The 0-based ``[start, end)`` lines of the directive whose header is at ``lineno``.

        A block is its header line plus the indented lines after it (metadata, postings,
        indented comments), including lines that continue a multi-line string.
        """
        start = lineno - 1
        in_string = _ends_in_string(self.lines[start], False)
        end = start + 1
        while end < len(self.lines):
            line = self.lines[end]
            if not in_string and not (line[:1] in (" ", "\t") and line.strip()):
                break
            in_string = _ends_in_string(line, in_string)
            end += 1
        return start, end

    def merge_meta(
        self,
        start: int,
        end: int,
        fresh: Sequence[tuple[str, str]],
        rewrite: frozenset[str],
    ) -> tuple[list[str], list[str]]:
        """A block's metadata with the keys in ``rewrite`` replaced, everything else kept.

        ``fresh`` holds ``(key, line)`` pairs for the new values (those of keys outside ``rewrite``
        are ignored). A rewritten key keeps its place;
        a key ``fresh`` lacks is dropped; new keys follow the last metadata line. Comments and keys
        not in ``rewrite`` (a person's own) stay exactly as written. Returns the metadata lines
        and the indented comments found among the postings (their own lines are regenerated).
        Lines come without their line ending; a multi-line value keeps all of its lines.
        """
        fresh = [(key, line) for key, line in fresh if key in rewrite]
        new = dict(fresh)
        meta: list[str] = []
        trailing: list[str] = []
        emitted: set[str] = set()
        insert_at = 0
        in_postings = False
        for group in self._logical_lines(start, end):
            first = group[0]
            if first.strip().startswith(";"):
                (trailing if in_postings else meta).extend(group)
                continue
            match = _META_KEY.match(first)
            if in_postings or not match:
                in_postings = True
                continue
            key = match.group(1)
            if key not in rewrite:
                meta.extend(group)
            elif key in new and key not in emitted:
                meta.append(new[key])
                emitted.add(key)
            insert_at = len(meta)
        meta[insert_at:insert_at] = [line for key, line in fresh if key not in emitted]
        return meta, trailing

    def _logical_lines(self, start: int, end: int) -> list[list[str]]:
        """The block's lines after its header, grouped so that a multi-line string stays whole."""
        groups: list[list[str]] = []
        in_string = _ends_in_string(self.lines[start], False)
        for index in range(start + 1, end):
            line = self.lines[index]
            text = line.rstrip("\n").removesuffix("\r")
            if in_string and groups:
                groups[-1].append(text)
            elif not in_string:
                groups.append([text])
            in_string = _ends_in_string(line, in_string)
        return groups

    def assemble(self, edits: Sequence[Edit]) -> tuple[str, list[Placed]]:
        """The new text with ``edits`` applied, and where each edit landed.

        Every line no edit replaces is copied unchanged; appended blocks come last, each after a
        blank line, in the order given.
        """
        replacements = sorted((e for e in edits if not e.is_append), key=lambda e: e.start or 0)
        appends = [e for e in edits if e.is_append]
        out: list[str] = []
        placed: list[Placed] = []
        lineno = 1
        position = 0
        nl = self.newline
        for edit in replacements:
            start = edit.start or 0
            if start < position:
                raise ValueError("overlapping ledger edits")
            out.extend(self.lines[position:start])
            lineno += start - position
            out.extend(line + nl for line in edit.lines)
            placed.append(Placed(edit, lineno, lineno + len(edit.lines) - 1))
            lineno += len(edit.lines)
            position = edit.end
        out.extend(self.lines[position:])
        lineno += len(self.lines) - position
        if appends:
            if self.lines and not self.lines[-1].endswith("\n"):
                out.append(nl)
            for edit in appends:
                out.append(nl)
                out.extend(line + nl for line in edit.lines)
                first = lineno + 1
                placed.append(Placed(edit, first, first + len(edit.lines) - 1))
                lineno = first + len(edit.lines)
        return "".join(out), placed
