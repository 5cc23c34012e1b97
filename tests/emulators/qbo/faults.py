"""Fault bodies and fault hooks: how the emulator fails on purpose (limits-and-reliability.md A4.2).

Error shape per accounting-systems.md §1.10: ``{"Fault": {"Error": [{"Message", "Detail", "code",
"element"}], "type"}, "time"}``; ``type`` is ValidationFault, SystemFault, AuthenticationFault or
AuthorizationFault.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class QboFault(Exception):  # noqa: N818 - named as Intuit names it
    """An error the emulated service answers with: HTTP status plus a Fault body."""

    def __init__(
        self,
        code: str,
        message: str,
        detail: str = "",
        *,
        status: int = 400,
        kind: str = "ValidationFault",
        element: str = "",
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code, self.message, self.detail = code, message, detail
        self.status, self.kind, self.element = status, kind, element

    def body(self) -> dict[str, Any]:
        """The ``Fault`` object (without the envelope's ``time``)."""
        return {
            "Error": [
                {
                    "Message": self.message,
                    "Detail": self.detail,
                    "code": self.code,
                    "element": self.element,
                }
            ],
            "type": self.kind,
        }


def stale_object(entity: str, identifier: str) -> QboFault:
    """§1.4: a stale SyncToken is HTTP 400 with code 5010 "Stale Object Error" (Detail varies ⚠)."""
    return QboFault(
        "5010",
        "Stale Object Error",
        f"Stale Object Error : You and another user were working on the same thing. "
        f"{entity} {identifier}: SyncToken mismatch",
    )


def duplicate_name(name: str) -> QboFault:
    """§1.3, §1.10: a DisplayName clash is HTTP 400 with code 6240 "Duplicate Name Exists Error"."""
    return QboFault(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another customer, vendor or employee is already "
        f"using this name ({name}). Please use a different name.",
    )


def inactive_reference(element: str) -> QboFault:
    """§1.3: a transaction referencing an inactive name-list object gets 610 "Object Not Found"."""
    return QboFault(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. Check the "
        "fields with accounts, customers, items, vendors or employees.",
        element=element,
    )


def invalid_reference(element: str, identifier: str) -> QboFault:
    """A reference to an object that does not exist (⚠ code 2500 per Intuit's error list)."""
    return QboFault(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {element} {identifier}",
        element=element,
    )


def missing_param(element: str) -> QboFault:
    """A required field is missing (⚠ code 2020 per Intuit's error list)."""
    return QboFault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element=element,
    )


@dataclass(slots=True)
class LatencyModel:
    """Lognormal response time, p50 250 ms and p99 2 s emulated, growing with batch size (A4.2)."""

    p50: float = 0.25
    p99: float = 2.0
    per_batch_item: float = 0.05
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def sample(self, items: int = 1) -> float:
        """Emulated seconds for a response carrying ``items`` payloads."""
        sigma = (math.log(self.p99) - math.log(self.p50)) / 2.326
        base = self.rng.lognormvariate(math.log(self.p50), sigma)
        return base * (1 + self.per_batch_item * max(0, items - 1))


ItemPredicate = Callable[[dict[str, Any]], bool]


@dataclass(slots=True)
class Faults:
    """Failures to inject (A4.2.6): each hook is off until a test turns it on."""

    drop_after_commit: int = 0
    drop_paths: tuple[str, ...] = ("/batch", "/customer", "/invoice", "/item", "/payment")
    drop_body_contains: bytes = b""
    server_error_rate: float = 0.0
    server_error_status: int = 503
    failing_items: list[tuple[ItemPredicate, QboFault]] = field(default_factory=list)
    outage_until: float = 0.0
    outage_paths: tuple[str, ...] = ()
    storm_left: int = 0
    storm_paths: tuple[str, ...] = ()
    storm_retry_after: float = 60.0
    storm_early: int = 0
    _storm_wait_until: float = 0.0
    latency: LatencyModel | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take_drop(self, path: str, body: bytes = b"") -> bool:
        """True (once per armed drop) when this write's response must be lost after commit;
        ``drop_body_contains`` narrows the drops to requests carrying those bytes."""
        with self._lock:
            if self.drop_body_contains and self.drop_body_contains not in body:
                return False
            if self.drop_after_commit > 0 and path.endswith(self.drop_paths):
                self.drop_after_commit -= 1
                return True
            return False

    def server_error(self) -> bool:
        """True when this request should fail with a 5xx before doing anything."""
        with self._lock:
            return self.server_error_rate > 0 and self.rng.random() < self.server_error_rate

    def outage(self, now: float, seconds: float, paths: tuple[str, ...] = ()) -> None:
        """Requests (those whose path ends with one of ``paths``, or all) fail with
        ``server_error_status`` (503) for ``seconds`` of emulated time from ``now``: the
        maintenance window of B2 R20."""
        with self._lock:
            self.outage_until, self.outage_paths = now + seconds, paths

    def in_outage(self, now: float, path: str = "") -> bool:
        """True while the outage lasts (emulated seconds) for this request's path."""
        with self._lock:
            hit = not self.outage_paths or path.endswith(self.outage_paths)
            return hit and now < self.outage_until

    def storm(self, count: int, retry_after: float = 60.0, paths: tuple[str, ...] = ()) -> None:
        """The next ``count`` requests (to ``paths``, or any) are throttled: 429 with
        ``Retry-After: retry_after`` emulated seconds, whatever the buckets say (B2 R3; Intuit
        advises waiting 60 s)."""
        with self._lock:
            self.storm_left, self.storm_retry_after = count, retry_after
            self.storm_paths = paths

    def take_storm(self, now: float, path: str = "") -> float | None:
        """The emulated wait to announce if this request is throttled by the storm, else None.

        A request that comes before the last announced wait is over counts in ``storm_early``.
        """
        with self._lock:
            if now < self._storm_wait_until - 1e-9:
                self.storm_early += 1
            if self.storm_left <= 0 or (self.storm_paths and not path.endswith(self.storm_paths)):
                return None
            self.storm_left -= 1
            self._storm_wait_until = now + self.storm_retry_after
            return self.storm_retry_after

    def fail_item(self, predicate: ItemPredicate, fault: QboFault | None = None) -> None:
        """Make every batch item (or single write) whose entity body matches fail with ``fault``."""
        self.failing_items.append(
            (predicate, fault or QboFault("6000", "A business validation error has occurred"))
        )

    def item_fault(self, body: dict[str, Any]) -> QboFault | None:
        """The injected fault for this entity body, if any."""
        for predicate, fault in self.failing_items:
            if predicate(body):
                return fault
        return None
