"""Rate limits in emulated time: token buckets plus a concurrency count, 429 with Retry-After.

Limits per accounting-systems.md §1.9 and limits-and-reliability.md A1.1: 500 requests/min per
realm, 40 batch requests/min per realm+app (batch calls also count toward the 500), 10 concurrent
per realm+app; throttling is HTTP 429. Buckets and the concurrency semaphore per A4.2.1; the wait is
converted to real seconds with k (A4.2.2). ⚠ Whether real QBO sends ``Retry-After`` is not
documented; Intuit's advice is to wait 60 s, which ``retry_after="intuit"`` imitates.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from tests.emulators.qbo.clock import EmulatorClock
from tests.emulators.qbo.faults import QboFault


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """The published limits (defaults) or squeezed ones for a 429-storm test (B2 R3)."""

    per_minute: int = 500
    batch_per_minute: int = 40
    concurrent: int = 10
    max_batch_items: int = 30
    retry_after: Literal["exact", "intuit", "none"] = "exact"
    enforce: bool = True


@dataclass(slots=True)
class LimitStats:
    """What the limiter saw; ``max_in_flight`` lets a test fail on any concurrency breach (R4)."""

    admitted: int = 0
    throttled_rate: int = 0
    throttled_batch: int = 0
    throttled_concurrency: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    early_retries: int = 0


class Throttled(QboFault):
    """A 429 answer, with the wait in real seconds (None: no header)."""

    def __init__(self, reason: str, retry_after_real: float | None) -> None:
        super().__init__(
            "3001",
            "message=ThrottleExceeded; errorCode=003001; statusCode=429",
            f"The request limit was reached ({reason}).",
            status=429,
            kind="SERVICE",
        )
        self.retry_after_real = retry_after_real


@dataclass(slots=True)
class _Bucket:
    capacity: float
    per_second: float
    tokens: float
    stamp: float

    def wait(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now
        return 0.0 if self.tokens >= 1 - 1e-9 else (1 - self.tokens) / self.per_second


@dataclass
class Limiter:
    """Admits or throttles one realm's requests."""

    clock: EmulatorClock
    settings: LimitSettings = field(default_factory=LimitSettings)
    stats: LimitStats = field(default_factory=LimitStats)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _told_to_wait_until: float = 0.0

    def _bucket(self, name: str, per_minute: int, now: float) -> _Bucket:
        if name not in self._buckets:
            self._buckets[name] = _Bucket(
                float(per_minute), per_minute / 60.0, float(per_minute), now
            )
        return self._buckets[name]

    def _retry_after(self, emulated_wait: float) -> float | None:
        mode = self.settings.retry_after
        if mode == "none":
            return None
        wait = 60.0 if mode == "intuit" else emulated_wait
        return wait / self.clock.scale

    @contextmanager
    def admit(self, *, batch: bool) -> Iterator[None]:
        """Hold a concurrency slot for one request, or raise ``Throttled``."""
        settings = self.settings
        with self._lock:
            if self.clock.elapsed() < self._told_to_wait_until - 1e-9:
                self.stats.early_retries += 1  # B2 R3: a client that ignores Retry-After
            if settings.enforce:
                try:
                    self._check(batch)
                except Throttled as throttled:
                    if throttled.retry_after_real is not None:
                        wait = throttled.retry_after_real * self.clock.scale
                        self._told_to_wait_until = self.clock.elapsed() + wait
                    raise
            self.stats.admitted += 1
            self.stats.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.stats.in_flight -= 1

    def _check(self, batch: bool) -> None:
        settings = self.settings
        if self.stats.in_flight >= settings.concurrent:
            self.stats.throttled_concurrency += 1
            raise Throttled("too many concurrent requests", self._retry_after(1.0))
        now = self.clock.elapsed()
        requests = self._bucket("requests", settings.per_minute, now)
        waits = [requests.wait(now)]
        batches = self._bucket("batch", settings.batch_per_minute, now) if batch else None
        if batches is not None:
            waits.append(batches.wait(now))
        wait = max(waits)
        if wait > 0:
            if batches is not None and waits[1] > 0:
                self.stats.throttled_batch += 1
            else:
                self.stats.throttled_rate += 1
            raise Throttled("rate limit", self._retry_after(wait))
        requests.tokens -= 1
        if batches is not None:
            batches.tokens -= 1
