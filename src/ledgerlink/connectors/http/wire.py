"""Exact JSON on the wire: numbers parse to ``Decimal`` and ``Decimal`` writes as a JSON number."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any


def loads_exact(data: bytes | str) -> Any:
    """Parse JSON with every non-integer number as ``Decimal`` (never ``float``)."""
    return json.loads(data, parse_float=Decimal)


def dumps_exact(value: Any) -> bytes:
    """Serialise JSON with ``Decimal`` written as an exact number (``12.50``, never ``12.5000001``).

    The standard library writes ``Decimal`` only as a string; money must travel as a number, so
    this small writer handles the JSON types plus ``Decimal`` and rejects anything else.
    """
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts).encode("utf-8")


def _write(value: Any, out: list[str]) -> None:
    if value is None or isinstance(value, bool | str | int):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send the non-finite amount {value} as JSON")
        out.append(format(value, "f"))
    elif isinstance(value, Mapping):
        out.append("{")
        for position, (key, item) in enumerate(value.items()):
            if position:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, Sequence):
        out.append("[")
        for position, item in enumerate(value):
            if position:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot send {type(value).__name__} as JSON")
