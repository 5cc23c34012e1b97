"""Emulated time, ``emulated = real × k`` (limits-and-reliability.md A4.2), or a manual clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

# QuickBooks answers in the company's time zone with an offset (accounting-systems.md §1.3,
# "ISO-8601 with offset", e.g. ``2015-07-24T10:33:39-07:00``); the emulated company is in Pacific
# standard time.
COMPANY_TZ = timezone(timedelta(hours=-8))
DEFAULT_START = datetime(2026, 1, 15, 18, 0, tzinfo=UTC)


class EmulatorClock(Protocol):
    """What the emulator needs to know about time."""

    scale: float

    def now(self) -> datetime:
        """Emulated wall-clock time (timezone-aware)."""
        ...

    def elapsed(self) -> float:
        """Emulated seconds since the clock started (monotonic)."""
        ...

    def wait(self, emulated_seconds: float) -> None:
        """Let ``emulated_seconds`` pass (the latency of a response)."""
        ...


class ScaledClock:
    """Real time sped up ``k`` times: one real second is ``k`` emulated seconds.

    Limits, latencies, ``Retry-After`` values and token lifetimes are converted with ``k`` (A4.2),
    so a client driven by real time sees consistent, faster numbers.
    """

    def __init__(
        self,
        scale: float = 1.0,
        start: datetime = DEFAULT_START,
        *,
        real: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.scale = scale
        self._start, self._real, self._sleep = start, real, sleep
        self.origin = real()

    def elapsed(self) -> float:
        """Emulated seconds since start."""
        return (self._real() - self.origin) * self.scale

    def now(self) -> datetime:
        """Emulated wall time."""
        return self._start + timedelta(seconds=self.elapsed())

    def wait(self, emulated_seconds: float) -> None:
        """Sleep the real equivalent of ``emulated_seconds``."""
        if emulated_seconds > 0:
            self._sleep(emulated_seconds / self.scale)

    def epoch(self) -> float:
        """Emulated POSIX time, for a client's token-expiry clock."""
        return self.now().timestamp()


class ManualClock:
    """A clock that moves only when told: tests and clients share it, so waits cost no real time.

    ``sleep`` (for the client's backoff and budgets) advances it; ``monotonic`` and ``epoch``
    read it, so an emulator and a client given this clock agree exactly.
    """

    scale = 1.0

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self._start = start
        self._elapsed = 0.0
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def elapsed(self) -> float:
        """Seconds advanced so far."""
        with self._lock:
            return self._elapsed

    def now(self) -> datetime:
        """The current emulated time."""
        return self._start + timedelta(seconds=self.elapsed())

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        with self._lock:
            self._elapsed += max(0.0, seconds)

    def wait(self, emulated_seconds: float) -> None:
        """Latency passes instantly on a manual clock."""
        self.advance(emulated_seconds)

    def sleep(self, seconds: float) -> None:
        """A client's sleep: recorded, and time moves on."""
        self.slept.append(seconds)
        self.advance(seconds)

    def monotonic(self) -> float:
        """For a client's rate budget."""
        return self.elapsed()

    def epoch(self) -> float:
        """For a client's token-expiry clock."""
        return self.now().timestamp()


def stamp(moment: datetime) -> str:
    """A QuickBooks timestamp: ISO-8601 with the company's offset, second precision."""
    return moment.astimezone(COMPANY_TZ).isoformat(timespec="seconds")
