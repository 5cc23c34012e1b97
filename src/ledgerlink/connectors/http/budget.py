"""Per-key rate-limit budgets: token buckets of N requests per window plus a concurrency cap."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``requests`` per ``seconds``, refilled continuously (a token bucket of that size)."""

    requests: int
    seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1 or self.seconds <= 0:
            raise ValueError("a rate limit needs at least one request per positive window")


@dataclass(frozen=True, slots=True)
class BudgetSpec:
    """The limits one key (a tenant, a realm) must respect: named buckets and a concurrency cap.

    A request names the buckets it draws from, for example ``("requests",)`` for a plain call and
    ``("requests", "batch")`` for a batch call that counts against both limits.
    """

    limits: Mapping[str, RateLimit] = field(default_factory=dict)
    concurrency: int | None = None


@dataclass(slots=True)
class BudgetStats:
    """What a budget did: how often and how long callers waited for it."""

    acquired: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    pauses: int = 0


class TokenBucket:
    """A bucket of ``limit.requests`` tokens refilled at ``requests / seconds`` per second."""

    def __init__(self, limit: RateLimit, now: float) -> None:
        self.capacity = float(limit.requests)
        self.rate = limit.requests / limit.seconds
        self.tokens = self.capacity
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 when one is available now)."""
        self._refill(now)
        if self.tokens >= 1 - _EPSILON:  # float refill may land a hair below a whole token
            return 0.0
        return (1 - self.tokens) / self.rate

    def take(self) -> None:
        """Spend one token (call only after ``wait_time`` returned 0)."""
        self.tokens -= 1


class RateBudget:
    """One key's budget, shared by every thread that calls on behalf of that key.

    ``slot(buckets)`` blocks until every named bucket has a token and a concurrency slot is
    free, then holds the slot for the duration of the request. ``pause(seconds)`` makes every
    caller wait, which is how a ``429`` with ``Retry-After`` slows down the whole key rather than
    only the request that received it.
    """

    def __init__(
        self,
        spec: BudgetSpec,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.spec = spec
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        now = clock()
        self._buckets = {name: TokenBucket(limit, now) for name, limit in spec.limits.items()}
        self._paused_until = now
        self._slots = (
            threading.BoundedSemaphore(spec.concurrency) if spec.concurrency is not None else None
        )
        self.stats = BudgetStats()

    def _reserve(self, buckets: Sequence[str]) -> None:
        while True:
            with self._lock:
                now = self._clock()
                wait = max(
                    [self._paused_until - now]
                    + [self._buckets[n].wait_time(now) for n in buckets if n in self._buckets]
                )
                if wait <= 0:
                    for name in buckets:
                        if name in self._buckets:
                            self._buckets[name].take()
                    self.stats.acquired += 1
                    return
                self.stats.waits += 1
                self.stats.waited_seconds += wait
            self._sleep(wait)

    @contextmanager
    def slot(self, buckets: Sequence[str] = ()) -> Iterator[None]:
        """Hold a concurrency slot and one token of each named bucket for one request."""
        if self._slots is not None:
            self._slots.acquire()
        try:
            self._reserve(buckets)
            yield
        finally:
            if self._slots is not None:
                self._slots.release()

    def pause(self, seconds: float) -> None:
        """Make every caller of this key wait ``seconds`` from now (the server said so)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
            self.stats.pauses += 1


class RateBudgets:
    """The budgets of many keys with one spec: one ``RateBudget`` per key, created on first use."""

    def __init__(
        self,
        spec: BudgetSpec,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.spec = spec
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._budgets: dict[str, RateBudget] = {}

    def for_key(self, key: str) -> RateBudget:
        """The budget of ``key`` (a realm id, a tenant id)."""
        with self._lock:
            budget = self._budgets.get(key)
            if budget is None:
                budget = RateBudget(self.spec, clock=self._clock, sleep=self._sleep)
                self._budgets[key] = budget
            return budget
