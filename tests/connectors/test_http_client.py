"""The shared HTTP client at its transport seam: budgets, retries, errors, redaction."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import httpx
import pytest

from ledgerlink.connectors.http import (
    HTTP_ERRORS,
    BudgetSpec,
    ErrorRule,
    HttpClient,
    RateBudget,
    RateBudgets,
    RateLimit,
    Redactor,
    RetryPolicy,
    dumps_exact,
    loads_exact,
    parse_retry_after,
)
from ledgerlink.errors import (
    ConflictError,
    ConnectionFailedError,
    RateLimitedError,
    RecordError,
    TransientError,
)

Handler = Callable[[httpx.Request], httpx.Response]


class FakeTime:
    """A monotonic clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def client(
    handler: Handler,
    *,
    fake: FakeTime | None = None,
    budgets: RateBudgets | None = None,
    attempts: int = 4,
    max_retry_after: float = 120.0,
    **kwargs: object,
) -> HttpClient:
    fake = fake or FakeTime()
    return HttpClient(
        system="test",
        base_url="https://api.test",
        timeout=httpx.Timeout(5.0),
        transport=httpx.MockTransport(handler),
        budgets=budgets,
        retry=RetryPolicy(attempts=attempts, max_retry_after=max_retry_after),
        sleep=fake.sleep,
        **kwargs,  # type: ignore[arg-type]
    )


def sequence(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering with ``responses`` in order (the last one repeats); and its log."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = responses[min(len(seen), len(responses)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, seen


def test_a_timeout_is_mandatory() -> None:
    with pytest.raises(TypeError, match="Timeout"):
        HttpClient(system="t", base_url="https://x.test", timeout=None)  # type: ignore[arg-type]


def test_a_429_waits_as_long_as_retry_after_says_then_succeeds() -> None:
    fake = FakeTime()
    budgets = RateBudgets(
        BudgetSpec({"requests": RateLimit(100, 60)}), clock=fake.clock, sleep=fake.sleep
    )
    handler, seen = sequence(
        httpx.Response(429, headers={"Retry-After": "2.5"}), httpx.Response(200)
    )
    http = client(handler, fake=fake, budgets=budgets)

    response = http.request("GET", "/things", budget_key="realm")

    assert response.status_code == 200
    assert len(seen) == 2
    assert fake.slept == [2.5]  # exactly what the server asked for, no extra backoff
    assert http.stats.throttled == 1


def test_a_429_pauses_every_caller_of_the_same_key_not_just_the_one_throttled() -> None:
    fake = FakeTime()
    budgets = RateBudgets(BudgetSpec(), clock=fake.clock, sleep=fake.sleep)
    handler, _ = sequence(httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200))
    http = client(handler, fake=fake, budgets=budgets)
    http.request("GET", "/a", budget_key="realm")
    budget = budgets.for_key("realm")
    fake.now = 0.0  # another caller arrives at the moment of the 429
    budget.pause(3)
    with budget.slot():
        pass
    assert fake.now >= 3.0


def test_retry_after_beyond_the_cap_surfaces_at_once_with_the_wait() -> None:
    handler, seen = sequence(httpx.Response(429, headers={"Retry-After": "600"}))
    http = client(handler, max_retry_after=120)
    with pytest.raises(RateLimitedError) as caught:
        http.request("GET", "/x")
    assert caught.value.retry_after == 600
    assert len(seen) == 1


def test_throttling_that_never_ends_gives_up_after_the_capped_attempts() -> None:
    handler, seen = sequence(httpx.Response(429, headers={"Retry-After": "1"}))
    with pytest.raises(RateLimitedError):
        client(handler, attempts=3).request("GET", "/x")
    assert len(seen) == 3


def test_a_429_without_retry_after_waits_the_configured_default() -> None:
    fake = FakeTime()
    handler, _ = sequence(httpx.Response(429), httpx.Response(200))
    client(handler, fake=fake, throttle_wait=7.0).request("GET", "/x")
    assert fake.slept == [7.0]


def test_server_errors_are_retried_only_when_the_request_is_idempotent() -> None:
    handler, seen = sequence(httpx.Response(503), httpx.Response(200))
    assert client(handler).request("POST", "/w", idempotent=True).status_code == 200
    assert len(seen) == 2

    handler, seen = sequence(httpx.Response(503), httpx.Response(200))
    with pytest.raises(TransientError):
        client(handler).request("POST", "/w", idempotent=False)
    assert len(seen) == 1  # a POST that may have committed is not sent twice


def test_a_dropped_connection_is_retried_only_when_safe() -> None:
    dropped = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    handler, seen = sequence(dropped, httpx.Response(200))
    assert client(handler).request("POST", "/w", idempotent=True).status_code == 200
    assert len(seen) == 2

    handler, seen = sequence(dropped, httpx.Response(200))
    with pytest.raises(TransientError, match="connection failed"):
        client(handler).request("POST", "/w")
    assert len(seen) == 1

    refused = httpx.ConnectError("connection refused")
    handler, seen = sequence(refused, httpx.Response(200))
    assert client(handler).request("POST", "/w").status_code == 200  # never reached the server


def test_the_error_table_decides_by_vendor_code_before_status() -> None:
    table = HTTP_ERRORS.extended(ErrorRule(ConflictError, code="5010", message="stale"))

    def vendor(response: httpx.Response) -> tuple[str | None, str]:
        return response.headers.get("x-code"), "vendor words"

    cases = [
        (httpx.Response(400, headers={"x-code": "5010"}), ConflictError),
        (httpx.Response(400), RecordError),
        (httpx.Response(401), ConnectionFailedError),
        (httpx.Response(403), ConnectionFailedError),
    ]
    for response, expected in cases:
        handler, _ = sequence(response)
        with pytest.raises(expected) as caught:
            client(handler, errors=table, vendor_code=vendor).request("GET", "/x")
        assert "vendor words" in str(caught.value)
    handler, _ = sequence(httpx.Response(400, headers={"x-code": "5010"}))
    with pytest.raises(ConflictError) as caught:
        client(handler, errors=table, vendor_code=vendor).request("GET", "/x")
    assert caught.value.context.vendor_code == "5010"


def test_token_buckets_space_requests_to_the_published_rate() -> None:
    fake = FakeTime()
    budget = RateBudget(
        BudgetSpec({"requests": RateLimit(5, 1.0), "batch": RateLimit(2, 1.0)}),
        clock=fake.clock,
        sleep=fake.sleep,
    )
    for _ in range(12):
        with budget.slot(("requests",)):
            pass
    # 5 at once, then one every 0.2 s: the 12th leaves at 1.4 s
    assert fake.now == pytest.approx(1.4, abs=1e-6)
    start = fake.now
    for _ in range(4):
        with budget.slot(("requests", "batch")):
            pass
    assert fake.now - start >= 1.0 - 1e-6  # the batch bucket (2/s) is the tighter one


def test_the_concurrency_cap_holds_across_threads() -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.02)
        with lock:
            in_flight -= 1
        return httpx.Response(200)

    budgets = RateBudgets(BudgetSpec(concurrency=3))
    http = client(handler, budgets=budgets)
    threads = [
        threading.Thread(target=http.request, args=("GET", "/x"), kwargs={"budget_key": "r"})
        for _ in range(12)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 3


def test_logs_never_show_tokens_or_secrets(caplog: pytest.LogCaptureFixture) -> None:
    secret = "s3cr3t-client-secret-value"
    handler, _ = sequence(
        httpx.Response(429, headers={"Retry-After": "0"}),
        httpx.Response(503),
        httpx.Response(200),
    )
    http = client(handler, redactor=Redactor([secret]))
    caplog.set_level(logging.DEBUG, logger="ledgerlink.http")
    http.request(
        "GET",
        f"/x?access_token=AT-abcdefgh&client_secret={secret}&page=2",
        headers={"Authorization": "Bearer AT-abcdefgh"},
        idempotent=True,
    )
    assert caplog.records, "the client logs its requests"
    assert "AT-abcdefgh" not in caplog.text
    assert secret not in caplog.text
    assert "page=2" in caplog.text


def test_the_redactor_masks_credentials_in_any_text() -> None:
    redact = Redactor(["known-secret-123"])
    text = redact(
        'Authorization: Bearer eyJabc.def and {"refresh_token": "RT1-xyz", "ok": 1} '
        "client_secret=hunter22&x=1 known-secret-123"
    )
    for leaked in ("eyJabc.def", "RT1-xyz", "hunter22", "known-secret-123"):
        assert leaked not in text
    assert '"ok": 1' in text


def test_json_money_travels_as_exact_numbers() -> None:
    body = dumps_exact({"Amount": Decimal("1234.50"), "Qty": Decimal("0.1"), "n": 3, "ok": True})
    assert body == b'{"Amount":1234.50,"Qty":0.1,"n":3,"ok":true}'
    parsed = loads_exact(b'{"Amount": 0.1, "Total": 1e2, "n": 3}')
    assert parsed == {"Amount": Decimal("0.1"), "Total": Decimal("1E+2"), "n": 3}
    assert isinstance(parsed["Amount"], Decimal)
    with pytest.raises(TypeError):
        dumps_exact({"Amount": 0.1})  # a float never reaches the wire


def test_retry_after_accepts_seconds_fractions_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("60") == 60
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    assert parse_retry_after(None) is None
