"""The one exception tree of ledgerlink, split by what the caller must do.

::

    LedgerlinkError                 every error ledgerlink raises on purpose
    ├── ConfigError                 fix the configuration; never retried          (exit 2)
    ├── ConnectionFailedError       a system could not be reached or authenticated (exit 3)
    ├── TransientError              wait and retry the same request
    │   └── RateLimitedError        ... after ``retry_after`` seconds
    ├── RecordError                 this record cannot be synced: dead-letter it, go on (exit 1)
    ├── ConflictError               both sides changed a field: policy or a person decides
    └── FatalError                  stop the pipe; nothing more is written           (exit 3)

Every error carries structured context (system, object, record, vendor code, request id) so that
the dead-letter queue, the CLI and a future dashboard show exactly the same thing. ``str(error)``
is the user-facing message: what happened, to which record, and what to do next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ErrorContext:
    """Where an error happened, in the words the user knows."""

    system: str | None = None
    stream: str | None = None
    record: str | None = None
    location: str | None = None
    vendor_code: str | None = None
    request_id: str | None = None

    def describe(self) -> str:
        """A short ``system/stream record (location)`` prefix, leaving out what is unknown."""
        parts: list[str] = []
        where = "/".join(p for p in (self.system, self.stream) if p)
        if where:
            parts.append(where)
        if self.record:
            parts.append(f"record {self.record!r}")
        if self.location:
            parts.append(f"({self.location})")
        return " ".join(parts)


class LedgerlinkError(Exception):
    """Base of every error ledgerlink raises on purpose."""

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        context: ErrorContext | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.context = context or ErrorContext()
        self.details = details or {}

    def __str__(self) -> str:
        prefix = self.context.describe()
        text = f"{prefix}: {self.message}" if prefix else self.message
        return f"{text}. {self.hint}" if self.hint else text

    def with_context(self, **changes: str | None) -> LedgerlinkError:
        """Return this error with more context filled in (fields already set are kept)."""
        current = {k: getattr(self.context, k) for k in ErrorContext.__slots__}
        for key, value in changes.items():
            if current.get(key) is None:
                current[key] = value
        self.context = ErrorContext(**current)
        return self


class ConfigError(LedgerlinkError):
    """The configuration is wrong; the user must fix it. Never retried."""

    kind = "config"


class ConnectionFailedError(LedgerlinkError):
    """A system could not be reached, opened or authenticated."""

    kind = "connection"


class TransientError(LedgerlinkError):
    """A temporary failure: the same request may succeed later."""

    kind = "transient"


class RateLimitedError(TransientError):
    """The system asked us to slow down, optionally saying for how long."""

    kind = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class RecordError(LedgerlinkError):
    """One record cannot be synced as it is: it is dead-lettered and the run goes on."""

    kind = "record"


class ConflictError(LedgerlinkError):
    """A field changed on both sides since the last sync."""

    kind = "conflict"


class FatalError(LedgerlinkError):
    """The pipe cannot go on safely (for example the target ledger is itself invalid)."""

    kind = "fatal"


@dataclass(frozen=True, slots=True)
class Problem:
    """A recorded, non-raised problem: what a dead letter or a plan entry shows to the user."""

    kind: str
    message: str
    hint: str | None = None
    location: str | None = None

    @classmethod
    def from_error(cls, error: LedgerlinkError) -> Problem:
        """Capture a raised error as data."""
        return cls(
            kind=error.kind,
            message=error.message,
            hint=error.hint,
            location=error.context.location,
        )

    def render(self) -> str:
        """One line for a terminal."""
        text = self.message
        if self.location:
            text = f"{text} ({self.location})"
        return f"{text}. {self.hint}" if self.hint else text
