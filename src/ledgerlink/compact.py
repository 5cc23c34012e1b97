"""A hash map from 64-bit integers to 64-bit integers in two flat arrays: 32 bytes a key, not ~100.

The engine keeps one entry per record it has synced (key hash -> version) and a file source one per
row it has read (key hash -> first line and version). With a ``dict`` each entry costs two int
objects and a table slot, about 100 bytes: a million records would need ~200 MiB for the two.
Open addressing over ``array('q')`` stores the same in 16 bytes a slot at half load.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

_EMPTY = 0
_MIN_CAPACITY = 1 << 10
_INT64 = 1 << 64


def _signed(value: int) -> int:
    """Fold any Python int into a signed 64-bit value (hashes and digests both fit)."""
    value &= _INT64 - 1
    return value - _INT64 if value >= 1 << 63 else value


class Int64Map:
    """``int -> int`` for 64-bit values; keys are folded to 64 bits, 0 is stored as 1."""

    __slots__ = ("_keys", "_mask", "_size", "_values")

    def __init__(self, items: Iterable[tuple[int, int]] = ()) -> None:
        self._keys = array("q", bytes(8 * _MIN_CAPACITY))
        self._values = array("q", bytes(8 * _MIN_CAPACITY))
        self._mask = _MIN_CAPACITY - 1
        self._size = 0
        self.update(items)

    def update(self, items: Iterable[tuple[int, int]]) -> None:
        """Store every ``(key, value)`` pair."""
        for key, value in items:
            self[key] = value

    @staticmethod
    def fold(value: int) -> int:
        """How a value reads back once stored: folded to signed 64 bits."""
        return _signed(value)

    def __len__(self) -> int:
        return self._size

    def _slot(self, key: int) -> int:
        keys, mask = self._keys, self._mask
        index = key & mask
        while True:
            current = keys[index]
            if current in (key, _EMPTY):
                return index
            index = (index + 1) & mask

    def get(self, key: int) -> int | None:
        """The value stored for ``key``, or ``None``."""
        key = _signed(key) or 1
        index = self._slot(key)
        return self._values[index] if self._keys[index] == key else None

    def __setitem__(self, key: int, value: int) -> None:
        key = _signed(key) or 1
        index = self._slot(key)
        if self._keys[index] == _EMPTY:
            self._keys[index] = key
            self._size += 1
        self._values[index] = _signed(value)
        if self._size * 2 > len(self._keys):
            self._grow()

    def _grow(self) -> None:
        old_keys, old_values = self._keys, self._values
        capacity = len(old_keys) * 2
        self._keys = array("q", bytes(8 * capacity))
        self._values = array("q", bytes(8 * capacity))
        self._mask = capacity - 1
        for key, value in zip(old_keys, old_values, strict=True):
            if key != _EMPTY:
                index = self._slot(key)
                self._keys[index] = key
                self._values[index] = value
