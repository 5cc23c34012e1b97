"""Run ids: 26-character, time-ordered, unique (the ULID layout, Crockford base32)."""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime, timedelta

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


class RunIdFactory:
    """Makes ids that sort in creation order, also within one millisecond of one process."""

    def __init__(self) -> None:
        self._last_ms = -1
        self._last_random = 0
        self._lock = threading.Lock()

    def new_id(self, now: datetime) -> str:
        """A new id for a run started at ``now`` (timezone-aware)."""
        ms = (now - _EPOCH) // _MILLISECOND
        with self._lock:
            if ms <= self._last_ms:
                # Same (or an earlier: the clock went back) millisecond: keep order by counting up.
                ms = self._last_ms
                random_part = self._last_random + 1
            else:
                random_part = secrets.randbits(_RANDOM_BITS - 1)  # leaves room to count up
            self._last_ms, self._last_random = ms, random_part
        return _encode((ms << _RANDOM_BITS) | random_part)


def _encode(value: int) -> str:
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))
