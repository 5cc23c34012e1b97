"""Records back from the JSON snapshots ``serialise.to_jsonable`` made of them."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from ledgerlink.canonical.records import Customer, Invoice

T = TypeVar("T")


def customer_from_json(data: dict[str, Any]) -> Customer:
    """The customer a link's snapshot describes (every field, not only those a plan needs)."""
    return _build(Customer, data)


def invoice_from_json(data: dict[str, Any]) -> Invoice:
    """The invoice a link's snapshot describes, amounts as exact ``Decimal``."""
    return _build(Invoice, data)


def _build(cls: type[T], data: dict[str, Any]) -> T:
    hints = typing.get_type_hints(cls)
    values = {
        f.name: _value(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name in data
    }
    return cls(**values)


def _value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [h for h in typing.get_args(hint) if h is not type(None)]
        return _value(options[0], value)
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return tuple(_value(item, v) for v in value)
    if hint is Decimal:
        return Decimal(str(value))
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is date:
        return date.fromisoformat(value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _build(hint, value)
    return value
