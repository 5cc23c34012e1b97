"""Values write-back puts into GoldMine columns: typed for the column, compared before writing.

CONTACT2 user fields are the site's own: the same meaning may be a numeric, a date or a text field.
Their real types are read from the database once per writer, so an amount goes into a numeric
field as an exact decimal (the driver takes it as it is, or as the float GoldMine's column holds),
into a text field as its digits, and a date into a date field or as ``YYYY-MM-DD`` text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from sqlalchemy import Connection, Date, DateTime, Float, Numeric, Table, inspect, literal
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Integer, TypeEngine

from ledgerlink.connectors.goldmine.translate import text

ColumnKind = Literal["text", "number", "date"]
#: Decimal places of an amount written into a float or text field (a numeric field has its own).
AMOUNT_PLACES = 2


def column_kinds(conn: Connection, table: Table) -> dict[str, ColumnKind]:
    """Each column of ``table`` as the database declares it: text, number or date."""
    found = inspect(conn).get_columns(table.name, schema=table.schema)
    return {str(c["name"]).upper(): kind_of(c["type"]) for c in found}


def kind_of(type_: TypeEngine[Any]) -> ColumnKind:
    """Text, number or date, for a column type."""
    if isinstance(type_, Numeric | Float | Integer):
        return "number"
    if isinstance(type_, Date | DateTime):
        return "date"
    return "text"


def amount_text(amount: Decimal, places: int = AMOUNT_PLACES) -> str:
    """An amount as the digits a text field shows (``1234.50``), rounded half-up, never a float."""
    return str(amount.quantize(Decimal(1).scaleb(-places)))


def bind(kind: ColumnKind, value: Decimal | date | int | str | None) -> Any:
    """The value to write into a column of ``kind``: a typed bind for numbers and dates."""
    if value is None:
        return None
    if kind == "number":
        if isinstance(value, Decimal):
            return literal(value.quantize(Decimal(1).scaleb(-AMOUNT_PLACES)), Numeric(18, 2))
        if isinstance(value, int):
            return literal(value, Integer())
        return literal(Decimal(value), Numeric(18, 2)) if isinstance(value, str) and value else None
    if kind == "date":
        if isinstance(value, date):
            return literal(datetime.combine(value, datetime.min.time()), DateTime())
        return None
    if isinstance(value, Decimal):
        return amount_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def same(current: Any, wanted: Decimal | date | int | str | None) -> bool:
    """True when the stored ``current`` already holds ``wanted`` (no write needed).

    Blank text and NULL are the same; numbers compare exactly (a float through its shortest
    text); a date compares with a datetime at midnight and with ``YYYY-MM-DD`` text.
    """
    if wanted is None or wanted == "":
        return current is None or text(current) == ""
    if current is None:
        return False
    if isinstance(wanted, Decimal | int) and not isinstance(wanted, bool):
        return _number(current) == wanted
    if isinstance(wanted, date):
        if isinstance(current, datetime):
            return current.date() == wanted
        if isinstance(current, date):
            return current == wanted
        return text(current) == wanted.isoformat()
    return text(current) == wanted


def _number(current: Any) -> Decimal | None:
    if isinstance(current, Decimal):
        return current
    if isinstance(current, float):
        return Decimal(repr(current))
    try:
        return Decimal(text(current).replace(",", ""))
    except InvalidOperation:
        return None


def changed(current: Mapping[Any, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``wanted`` whose column does not already hold them."""
    return {name: value for name, value in wanted.items() if not same(current.get(name), value)}


def too_long(table: Table, values: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    """(column, length, value) for each text value longer than its column allows."""
    problems: list[tuple[str, int, str]] = []
    for name, value in values.items():
        length = getattr(table.c[name].type, "length", None)
        if isinstance(value, str) and length is not None and len(value) > length:
            problems.append((name, length, value))
    return problems


def typed(kinds: Mapping[str, ColumnKind], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` bound for their columns' kinds (text when a column is not known)."""
    bound: dict[str, Any | ColumnElement[Any]] = {}
    for name, value in values.items():
        bound[name] = bind(kinds.get(name.upper(), "text"), value)
    return bound
