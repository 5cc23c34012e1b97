"""Exact JSON on the wire: numbers parse to ``Decimal`` and ``Decimal`` writes as a JSON number."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson


def loads_exact(data: bytes | str) -> Any:
    """Parse JSON with every non-integer number as ``Decimal`` (never ``float``)."""
    return json.loads(data, parse_float=Decimal)


def _check(value: Any) -> None:
    """Refuse what must not travel: a float (inexact money) or a non-finite Decimal."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, float):
            raise TypeError("a float reached the wire; amounts must be Decimal")
        elif isinstance(item, Decimal) and not item.is_finite():
            raise ValueError(f"cannot send the non-finite amount {item} as JSON")


def dumps_exact(value: Any) -> bytes:
    """Serialise JSON with ``Decimal`` written as an exact number (``12.50`` stays ``12.50``).

    JSON libraries write ``Decimal`` only as a string; money must travel as a number. Each
    Decimal is written as a string wrapped in a random per-call marker, and the quoted markers
    are then replaced by the bare number, so a user's text can never be mistaken for one.
    """
    _check(value)
    marker = secrets.token_hex(8)

    def default(item: object) -> str:
        if isinstance(item, Decimal):
            return f"{marker}{item:f}{marker}"
        raise TypeError(f"cannot send {type(item).__name__} as JSON")

    text = orjson.dumps(value, default=default)
    pattern = re.compile(rb'"' + marker.encode() + rb"(-?[0-9.]+)" + marker.encode() + rb'"')
    return pattern.sub(rb"\1", text)
