"""JSON as QuickBooks Online sends it: amounts are JSON numbers, read and written as ``Decimal``.

Reference: accounting-systems.md §1.12 ("Amounts are JSON numbers"; python-quickbooks parses them
as ``Decimal`` with ``use_decimal=True``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def loads(data: bytes | str) -> Any:
    """Parse a request body; non-integer numbers become ``Decimal``."""
    return json.loads(data, parse_float=Decimal)


def dumps(value: Any) -> bytes:
    """Serialise a response; ``Decimal`` becomes a plain JSON number."""
    return _encode(value).encode("utf-8")


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value)
