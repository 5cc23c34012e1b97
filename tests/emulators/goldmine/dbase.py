"""A minimal dBase III writer (test-only): GoldMine's tables as .DBF files with a .DBT memo file."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Float, Integer, String, Table, Text

DbfField = tuple[str, str, int, int]


def _dbf_field(name: str, kind: Any) -> DbfField | None:
    if name.startswith("U_") or len(name) > 10:
        return None
    if isinstance(kind, Text):
        return (name, "M", 10, 0)
    if isinstance(kind, DateTime):
        return (name, "D", 8, 0)
    if isinstance(kind, Float):
        return (name, "N", 15, 2)
    if isinstance(kind, Integer):
        return (name, "N", 10, 0)
    assert isinstance(kind, String)
    return (name, "C", min(kind.length or 40, 254), 0)


def _dbf_value(field: DbfField, value: Any, encoding: str, memos: list[bytes]) -> bytes:
    _, kind, length, decimals = field
    if value is None or value == "":
        return b" " * length
    if kind == "D":
        return f"{value:%Y%m%d}".encode()
    if kind == "N":
        return f"{Decimal(str(value)):.{decimals}f}".rjust(length).encode()
    if kind == "M":
        memos.append(str(value).encode(encoding) + b"\x1a\x1a")
        return b" " * length  # the block number is filled in by write_dbf
    return str(value).encode(encoding)[:length].ljust(length, b" ")


def write_dbf(
    path: Path,
    fields: Sequence[DbfField],
    records: Iterable[Mapping[str, Any]],
    *,
    encoding: str = "cp1252",
    language_driver: int = 0x03,
) -> None:
    """A minimal dBase III writer (test-only): C, N, D and M fields, a .DBT memo file."""
    has_memo = any(f[1] == "M" for f in fields)
    record_length = 1 + sum(f[2] for f in fields)
    rows: list[bytes] = []
    memo_blocks: list[bytes] = []
    next_block = 1
    for record in records:
        data = bytearray(b" ")
        for field in fields:
            memos: list[bytes] = []
            value = _dbf_value(field, record.get(field[0]), encoding, memos)
            if memos:
                value = str(next_block).rjust(field[2]).encode()
                padded = memos[0] + b"\x00" * (-len(memos[0]) % 512)
                memo_blocks.append(padded)
                next_block += len(padded) // 512
            data += value
        rows.append(bytes(data))
    today = date(2026, 3, 2)
    header = struct.pack(
        "<BBBBLHH20x",
        0x83 if has_memo else 0x03,
        today.year - 1900,
        today.month,
        today.day,
        len(rows),
        32 + 32 * len(fields) + 1,
        record_length,
    )
    header = header[:29] + bytes([language_driver]) + header[30:]
    descriptors = b"".join(
        struct.pack("<11sc4xBB14x", f[0].encode("ascii"), f[1].encode("ascii"), f[2], f[3])
        for f in fields
    )
    path.write_bytes(header + descriptors + b"\r" + b"".join(rows) + b"\x1a")
    if has_memo:
        memo_header = struct.pack("<L", next_block).ljust(512, b"\x00")
        path.with_suffix(".DBT").write_bytes(memo_header + b"".join(memo_blocks))


def write_table(
    folder: Path,
    table: Table,
    records: Iterable[Mapping[str, Any]],
    *,
    encoding: str = "cp1252",
    language_driver: int = 0x03,
) -> None:
    """One GoldMine table as ``NAME.DBF``: SQL-only ``U_*`` and long column names left out."""
    fields = [f for f in (_dbf_field(c.name, c.type) for c in table.columns) if f]
    write_dbf(
        folder / f"{table.name}.DBF",
        fields,
        records,
        encoding=encoding,
        language_driver=language_driver,
    )
