"""The ``contacts`` and ``deals`` streams of a table: cheap keys and versions, lazy records."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Protocol

from ledgerlink.canonical.records import Change, ReadFailure, Record
from ledgerlink.connectors.csv.changes import (
    Item,
    SeenKeys,
    Versioner,
    contact_key,
    duplicate_error,
    failing,
)
from ledgerlink.connectors.csv.columns import ColumnMap
from ledgerlink.connectors.csv.translate import ReadOptions, build_contact, build_deal, has_lines
from ledgerlink.connectors.files import BadRow, RowView
from ledgerlink.errors import RecordError

Row = tuple[int, list[str]]


class Table(Protocol):
    """A file of rows under a header: a CSV file or an XLSX worksheet."""

    name: str
    line_prefix: str
    unit: str

    def header(self) -> list[str]:
        """The header row."""
        ...

    def rows(self) -> Iterator[Row | BadRow]:
        """Each row after the header with the line (or row number) it starts on."""
        ...

    def describe(self, noun: str = "rows") -> str:
        """One line for ``ledgerlink check``."""
        ...


def fit_row(cells: list[str], width: int) -> int:
    """Pad a short row with empty cells (Outlook writes short rows); trim empty extra cells.

    Returns the row's cell count when it has non-empty cells beyond the header, else 0.
    """
    count = len(cells)
    if count < width:
        cells.extend([""] * (width - count))
    elif count > width:
        if any(cells[width:]):
            return count
        del cells[width:]
    return 0


def overflow_error(count: int, width: int) -> RecordError:
    """A row with more filled cells than the header has columns."""
    return RecordError(
        f"the row has {count} cells but the header has {width} columns",
        hint="A cell probably holds an unquoted delimiter; quote that cell or export the file "
        "again",
    )


def bad_row_failure(table: Table, bad: BadRow) -> ReadFailure:
    """A dead letter for lines the CSV parser could not read."""
    location = f"{table.line_prefix}{bad.line}"
    return ReadFailure(key=location, location=location, error=bad.error())


def no_key_failure(location: str, raw: RowView, what: str, fill: str) -> ReadFailure:
    """A dead letter for a row that has none of the cells its key comes from."""
    return ReadFailure(
        key=location,
        location=location,
        error=RecordError(
            f"the row has no {what}, so it cannot be told apart from other rows",
            hint=f"Fill in {fill} in the CRM, or delete the row from the export",
        ),
        raw=dict(raw),
    )


def contact_key_of(columns: ColumnMap) -> Callable[[Sequence[str]], str]:
    """The key rule of a generic contacts file: id, else first e-mail, else name, else company."""
    at = columns.index
    id_at, display_at, company_at = at("id"), at("display_name"), at("company")
    email_at = tuple(i for c in ("email", "email_2", "email_3") if (i := at(c)) is not None)
    person_at = tuple(i for c in ("given_name", "family_name") if (i := at(c)) is not None)

    def key_of(cells: Sequence[str]) -> str:
        if id_at is not None and (record_id := cells[id_at].strip()):
            return record_id
        for i in email_at:
            if email := cells[i].strip():
                return contact_key("", email, "")
        name = cells[display_at].strip() if display_at is not None else ""
        name = name or " ".join(cells[i].strip() for i in person_at).strip()
        if not name and company_at is not None:
            name = cells[company_at]
        return contact_key("", "", name)

    return key_of


def read_contacts(
    table: Table, columns: ColumnMap, options: ReadOptions, versioner: Versioner
) -> Iterator[Item]:
    """One change per contact row of a generic export; validation waits for ``load``."""
    build = partial(build_contact, columns=columns, options=options)
    return read_records(table, columns, versioner, contact_key_of(columns), build)


def read_records(
    table: Table,
    columns: ColumnMap,
    versioner: Versioner,
    key_of: Callable[[Sequence[str]], str],
    build: Callable[[list[str]], Record],
) -> Iterator[Item]:
    """One change per row: key, version, location and raw now; the record only in ``load``.

    A second row with the same key is dropped when identical and dead-lettered when not; a row
    with filled cells beyond the header is dead-lettered; a row without a key is a failure.
    """
    width, names, prefix = columns.width, columns.names, table.line_prefix
    seen = SeenKeys()
    for item in table.rows():
        if isinstance(item, BadRow):
            yield bad_row_failure(table, item)
            continue
        line, cells = item
        overflow = fit_row(cells, width)
        version = versioner.of_cells(cells)
        key = key_of(cells)
        location = f"{prefix}{line}"
        raw = RowView(names, ((line, cells),))
        if not key:
            if any(cells):
                yield no_key_failure(
                    location, raw, "id, e-mail, name or company", "an e-mail address or a name"
                )
            continue
        duplicate = seen.check(key, line, version)
        if duplicate is not None:
            first_line, identical = duplicate
            if identical:
                continue
            load = duplicate_error("contact", line, first_line, table.unit)
        elif overflow:
            load = failing(overflow_error(overflow, width))
        else:
            load = partial(build, cells)
        yield Change(key=key, version=version, load=load, location=location, raw=raw)


def split_deals(table: Table, columns: ColumnMap) -> dict[str, list[int]]:
    """Deal ids whose rows are not consecutive, with the line each of their groups starts on."""
    id_at = columns.index("id")
    if id_at is None:
        return {}
    first_line: dict[str, int] = {}
    split: dict[str, list[int]] = {}
    last = None
    for item in table.rows():
        if isinstance(item, BadRow):
            continue
        line, cells = item
        deal_id = cells[id_at].strip() if id_at < len(cells) else ""
        if not deal_id or deal_id == last:
            last = deal_id or last
            continue
        last = deal_id
        if deal_id in first_line:
            split.setdefault(deal_id, [first_line[deal_id]]).append(line)
        else:
            first_line[deal_id] = line
    return split


def _groups(
    table: Table, columns: ColumnMap, with_lines: bool
) -> Iterator[tuple[str, list[Row]] | BadRow]:
    """Rows in deals: consecutive rows with one id form one deal when the file has line items."""
    id_at = columns.index("id")
    width = columns.width
    group_id = ""
    group: list[Row] = []
    for item in table.rows():
        if isinstance(item, BadRow):
            yield item
            continue
        fit_row(item[1], width)
        deal_id = item[1][id_at].strip() if id_at is not None else ""
        if with_lines and group and deal_id and deal_id == group_id:
            group.append(item)
            continue
        if group:
            yield group_id, group
        group_id, group = deal_id, [item]
    if group:
        yield group_id, group


def read_deals(
    table: Table, columns: ColumnMap, options: ReadOptions, versioner: Versioner
) -> Iterator[Item]:
    """One change per deal; a deal's consecutive rows are its line items."""
    with_lines = has_lines(columns)
    split = split_deals(table, columns) if with_lines else {}
    reported: set[str] = set()
    seen = SeenKeys()
    width, names, prefix = columns.width, columns.names, table.line_prefix
    for entry in _groups(table, columns, with_lines):
        if isinstance(entry, BadRow):
            yield bad_row_failure(table, entry)
            continue
        deal_id, group = entry
        line = group[0][0]
        location = f"{prefix}{line}"
        raw = RowView(names, group)
        if not deal_id:
            if any(group[0][1]):
                yield no_key_failure(location, raw, "deal id", "the deal id")
            continue
        version = (
            versioner.of_cells(group[0][1])
            if len(group) == 1
            else versioner.of_rows([cells for _, cells in group])
        )
        if deal_id in split:
            if deal_id in reported:
                continue
            reported.add(deal_id)
            starts = split[deal_id]
            version = versioner.of_cells([version, *map(str, starts)])
            load = failing(_split_error(deal_id, starts, table.unit))
        elif (duplicate := seen.check(deal_id, line, version)) is not None:
            first_line, identical = duplicate
            if identical:
                continue
            load = duplicate_error("deal", line, first_line, table.unit)
        elif overflowing := [(n, len(c)) for n, c in group if len(c) > width]:
            load = failing(overflow_error(overflowing[0][1], width))
        else:
            load = partial(build_deal, deal_id, group, columns, options)
        yield Change(key=deal_id, version=version, load=load, location=location, raw=raw)


def _split_error(deal_id: str, starts: Sequence[int], unit: str) -> RecordError:
    numbers = [str(s) for s in starts]
    where = ", ".join(numbers[:-1]) + f" and {numbers[-1]}"
    return RecordError(
        f"deal {deal_id!r} is split: its rows start at {unit}s {where}, with other deals between "
        "them",
        hint="Sort the export by deal id so that the rows of each deal are next to each other, "
        "then run again",
    )
