"""The one HTTP client: mandatory timeouts, budgets, capped retries with jitter, redacted logs."""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import httpx

from ledgerlink.connectors.http.budget import RateBudgets
from ledgerlink.connectors.http.errors import HTTP_ERRORS, ErrorTable
from ledgerlink.connectors.http.redact import Redactor
from ledgerlink.connectors.http.retry import RetryPolicy, parse_retry_after
from ledgerlink.errors import ErrorContext, LedgerlinkError, RateLimitedError, TransientError

log = logging.getLogger("ledgerlink.http")

_NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]

VendorCode = Callable[[httpx.Response], tuple[str | None, str]]
"""Reads a vendor's error code and detail text out of an error response."""


def _no_vendor_code(response: httpx.Response) -> tuple[str | None, str]:
    return None, response.reason_phrase


@dataclass(slots=True)
class CallStats:
    """Counts of what the client sent, for benchmarks and ``calls per record`` metrics."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    transport_errors: int = 0
    by_label: dict[str, int] | None = None

    def count(self, label: str) -> None:
        """Count one request under ``label`` (for example ``batch`` or ``query``)."""
        self.requests += 1
        if self.by_label is None:
            self.by_label = {}
        self.by_label[label] = self.by_label.get(label, 0) + 1


class HttpClient:
    """Sends every request of one connection; nothing else in ledgerlink opens a socket.

    Per request: wait for the key's rate budget, send through ``httpx`` (the ``auth`` flow signs
    and refreshes), and map the answer through the error table. Transport failures, ``429`` and
    retryable statuses are retried up to ``retry.attempts`` times with full-jitter backoff,
    honouring ``Retry-After``; a request that is not ``idempotent`` is retried only when it
    certainly never reached the server. Log lines carry method, path, status and timing, with
    every secret masked; bodies are never logged.
    """

    def __init__(
        self,
        *,
        system: str,
        base_url: str,
        timeout: httpx.Timeout,
        errors: ErrorTable = HTTP_ERRORS,
        vendor_code: VendorCode = _no_vendor_code,
        auth: httpx.Auth | None = None,
        transport: httpx.BaseTransport | None = None,
        budgets: RateBudgets | None = None,
        retry: RetryPolicy | None = None,
        throttle_wait: float = 60.0,
        headers: Mapping[str, str] | None = None,
        redactor: Redactor | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not isinstance(timeout, httpx.Timeout):  # a client without a timeout can hang forever
            raise TypeError("HttpClient needs an explicit httpx.Timeout")
        self.system = system
        self._errors, self._vendor_code = errors, vendor_code
        self._budgets = budgets
        self._retry = retry or RetryPolicy()
        self._throttle_wait = throttle_wait
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self.redactor = redactor or Redactor()
        self.stats = CallStats()
        self._client = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            auth=auth,
            # Small request/response exchanges: without TCP_NODELAY, Nagle's algorithm meeting
            # the server's delayed ACK can stall each call by tens of milliseconds.
            transport=transport or httpx.HTTPTransport(socket_options=_NO_DELAY),
            headers=dict(headers or {}),
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        budget_key: str = "",
        buckets: Sequence[str] = ("requests",),
        idempotent: bool = False,
        accept: Callable[[int], bool] = lambda status: 200 <= status < 300,
        context: ErrorContext | None = None,
        label: str = "",
    ) -> httpx.Response:
        """Send one request and return a response whose status ``accept`` allows.

        Anything else raises the error the table names for it, after the retries it allows.
        """
        context = context or ErrorContext(system=self.system)
        budget = self._budgets.for_key(budget_key) if self._budgets is not None else None
        last: LedgerlinkError | None = None
        for attempt in range(1, self._retry.attempts + 1):
            if attempt > 1:
                self.stats.retries += 1
            started = time.perf_counter()
            try:
                outgoing = self._client.build_request(
                    method, url, params=params, content=content, headers=dict(headers or {})
                )
                if budget is not None:
                    with budget.slot(buckets):
                        response = self._send(outgoing, label)
                else:
                    response = self._send(outgoing, label)
            except httpx.TransportError as exc:
                self.stats.transport_errors += 1
                last = self._transport_error(exc, method, url, context)
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if not (idempotent or never_sent) or attempt == self._retry.attempts:
                    raise last from None
                self._sleep(self._retry.backoff(attempt, self._rng))
                continue
            elapsed = (time.perf_counter() - started) * 1000
            log.debug(
                "%s %s -> %s in %.0f ms (attempt %d)",
                method,
                self.redactor.url(str(response.request.url)),
                response.status_code,
                elapsed,
                attempt,
            )
            if accept(response.status_code):
                return response
            code, detail = self._vendor_code(response)
            rule = self._errors.rule_for(response.status_code, code)
            error_context = _with_code(context, code, response)
            if response.status_code == 429 or issubclass(rule.error, RateLimitedError):
                self.stats.throttled += 1
                wait = parse_retry_after(response.headers.get("Retry-After"))
                wait = self._throttle_wait if wait is None else wait
                last = rule.build(self.redactor(detail), context=error_context, retry_after=wait)
                if wait > self._retry.max_retry_after or attempt == self._retry.attempts:
                    raise last
                log.warning(
                    "%s throttled %s %s; waiting %.2f s as asked (attempt %d of %d)",
                    self.system,
                    method,
                    self.redactor.url(str(response.request.url)),
                    wait,
                    attempt,
                    self._retry.attempts,
                )
                if budget is not None:
                    budget.pause(wait)
                else:
                    self._sleep(wait)
                continue
            error = rule.build(self.redactor(detail), context=error_context)
            retryable = rule.retry and (idempotent or method.upper() in ("GET", "HEAD"))
            if not retryable or attempt == self._retry.attempts:
                raise error
            last = error
            log.warning(
                "%s answered %s to %s %s; retrying (attempt %d of %d)",
                self.system,
                response.status_code,
                method,
                self.redactor.url(str(response.request.url)),
                attempt,
                self._retry.attempts,
            )
            self._sleep(self._retry.backoff(attempt, self._rng))
        raise last or TransientError("no attempt was made", context=context)  # pragma: no cover

    def _send(self, request: httpx.Request, label: str) -> httpx.Response:
        self.stats.count(label or request.method.lower())
        return self._client.send(request)

    def _transport_error(
        self, exc: httpx.TransportError, method: str, url: str, context: ErrorContext
    ) -> TransientError:
        kind = type(exc).__name__
        log.warning("%s %s %s failed: %s", self.system, method, self.redactor.url(url), kind)
        return TransientError(
            f"the connection failed ({kind}) while sending {method} {self.redactor.url(url)}",
            hint="ledgerlink retries; check the network if it persists",
            context=context,
        )


def _with_code(context: ErrorContext, code: str | None, response: httpx.Response) -> ErrorContext:
    request_id = response.headers.get("intuit_tid") or response.headers.get("x-request-id")
    return ErrorContext(
        system=context.system,
        stream=context.stream,
        record=context.record,
        location=context.location,
        vendor_code=code or context.vendor_code,
        request_id=request_id or context.request_id,
    )
