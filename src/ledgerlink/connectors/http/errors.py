"""The error table as data: HTTP status and vendor code to the ledgerlink error a caller acts on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledgerlink.errors import (
    ConnectionFailedError,
    ErrorContext,
    LedgerlinkError,
    RateLimitedError,
    RecordError,
    TransientError,
)


@dataclass(frozen=True, slots=True)
class ErrorRule:
    """One row of an error table.

    A rule matches when every condition it sets holds: ``code`` (the vendor's error code),
    ``status`` (one HTTP status) or ``statuses`` (an inclusive range). ``retry`` says whether the
    HTTP client may send the same request again.
    """

    error: type[LedgerlinkError]
    status: int | None = None
    statuses: tuple[int, int] | None = None
    code: str | None = None
    retry: bool = False
    message: str = ""
    hint: str | None = None

    def matches(self, status: int | None, code: str | None) -> bool:
        """True when this rule applies to a response with ``status`` and vendor ``code``."""
        if self.code is not None and self.code != code:
            return False
        if self.status is not None and self.status != status:
            return False
        if self.statuses is not None:
            low, high = self.statuses
            if status is None or not low <= status <= high:
                return False
        return True

    def build(
        self,
        detail: str,
        *,
        context: ErrorContext | None = None,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> LedgerlinkError:
        """The error this rule stands for, with the vendor's own words in the message."""
        message = f"{self.message}: {detail}" if self.message and detail else self.message or detail
        if issubclass(self.error, RateLimitedError):
            return self.error(
                message, retry_after=retry_after, hint=self.hint, context=context, details=details
            )
        return self.error(message, hint=self.hint, context=context, details=details)


@dataclass(frozen=True, slots=True)
class ErrorTable:
    """Ordered rules; the first that matches wins, so specific rows (vendor codes) come first."""

    rules: tuple[ErrorRule, ...]

    def rule_for(self, status: int | None, code: str | None) -> ErrorRule:
        """The rule for a response, falling back to a generic record error."""
        for rule in self.rules:
            if rule.matches(status, code):
                return rule
        return _FALLBACK

    def extended(self, *rules: ErrorRule) -> ErrorTable:
        """A table with ``rules`` consulted before this one's."""
        return ErrorTable((*rules, *self.rules))


_FALLBACK = ErrorRule(RecordError, message="the request was refused")

HTTP_ERRORS = ErrorTable(
    (
        ErrorRule(
            RateLimitedError,
            status=429,
            retry=True,
            message="the service is throttling requests",
            hint="ledgerlink waits as asked and retries; lower the request rate if it persists",
        ),
        ErrorRule(
            ConnectionFailedError,
            status=401,
            message="the credentials were rejected",
            hint="Check the connection's credentials and authorise ledgerlink again",
        ),
        ErrorRule(
            ConnectionFailedError,
            status=403,
            message="the account may not do this",
            hint="Check the permissions of the user that authorised ledgerlink",
        ),
        ErrorRule(TransientError, status=408, retry=True, message="the request timed out"),
        ErrorRule(TransientError, status=425, retry=True, message="the service asked to retry"),
        ErrorRule(
            TransientError,
            statuses=(500, 599),
            retry=True,
            message="the service had a temporary failure",
            hint="ledgerlink retries; if it persists, check the vendor's status page",
        ),
        ErrorRule(RecordError, statuses=(400, 499), message="the request was refused"),
    )
)
