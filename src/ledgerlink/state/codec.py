"""How JSON columns are encoded, and the canonical bytes the audit chain hashes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson


def _default(value: Any) -> Any:
    # Money travels as strings; a Decimal that slips through is kept exact, never made a float.
    if isinstance(value, Decimal):
        return str(value)
    msg = f"{type(value).__name__} is not JSON: the state database stores plain JSON values"
    raise TypeError(msg)


def dumps(value: Any) -> str:
    """JSON text for a column (what is read back equals ``loads(dumps(value))``)."""
    return orjson.dumps(value, default=_default).decode()


def loads(text: str | bytes) -> Any:
    """The value of a JSON column."""
    return orjson.loads(text)


def canonical(value: Any) -> bytes:
    """Canonical JSON: keys sorted at every level, no whitespace, UTF-8.

    A value and the same value read back from SQLite or PostgreSQL give the same bytes.
    """
    return orjson.dumps(value, default=_default, option=orjson.OPT_SORT_KEYS)
