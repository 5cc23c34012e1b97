"""XLSX exports read row by row with openpyxl in read-only mode; formulas are text, never run."""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Generator, Iterator
from contextlib import closing
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import openpyxl

from ledgerlink.connectors.files import BadRow, FileScan
from ledgerlink.errors import ConfigError, ConnectionFailedError


def cell_text(value: Any) -> str:
    """A cell as the text a CSV export would hold.

    Numbers arrive from openpyxl as ``float``; their shortest ``repr`` is exactly what was typed
    (up to 15 significant digits), so going through it gives the exact ``Decimal`` back.
    A formula arrives as its text (``=B2*2``) because the workbook is opened without values.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


class XlsxTable:
    """One worksheet of an XLSX workbook: header, then each row with its row number."""

    def __init__(self, scan: FileScan, sheet: str | None) -> None:
        self.scan = scan
        self.name = scan.path.name
        self._sheet = sheet
        self.sheet_title = sheet or ""
        self.line_prefix = f"{self.name}:{sheet} row " if sheet else f"{self.name}:row "
        self.unit = "row"

    def _rows(self) -> Generator[tuple[int, list[str]], None, None]:
        try:
            with warnings.catch_warnings():
                # openpyxl warns about styles and extensions it ignores; they do not matter here.
                warnings.simplefilter("ignore", UserWarning)
                book = openpyxl.load_workbook(self.scan.path, read_only=True, data_only=False)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise ConnectionFailedError(
                f"{self.name} cannot be opened as an XLSX workbook: {exc}",
                hint="Save the file as an Excel workbook (.xlsx), or export it as CSV",
            ) from None
        try:
            if self._sheet is not None and self._sheet not in book.sheetnames:
                raise ConfigError(
                    f"{self.name} has no sheet {self._sheet!r}; its sheets are "
                    f"{', '.join(repr(s) for s in book.sheetnames)}",
                    hint="Correct `sheet:` in the configuration",
                )
            sheet = book[self._sheet] if self._sheet is not None else book.worksheets[0]
            self.sheet_title = sheet.title
            first = sheet.min_row or 1
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=first):
                cells = [cell_text(v) for v in values]
                while cells and not cells[-1]:
                    cells.pop()
                if cells:
                    yield number, cells
        finally:
            book.close()

    def header(self) -> list[str]:
        """The first non-empty row, trimmed."""
        with closing(self._rows()) as rows:
            first = next(rows, None)
        return [] if first is None else [cell.strip() for cell in first[1]]

    def rows(self) -> Iterator[tuple[int, list[str]] | BadRow]:
        """Every non-empty row after the header, with its row number."""
        with closing(self._rows()) as rows:
            next(rows, None)
            yield from rows

    def describe(self, noun: str = "rows") -> str:
        """``deals.xlsx: 12 rows, sheet 'Deals'``."""
        count = sum(1 for _ in self.rows())
        return f"{self.name}: {count:,} {noun}, sheet {self.sheet_title!r}"
