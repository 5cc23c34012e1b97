"""QuickBooks limits against the emulator: 429 storms, the concurrency cap, 5xx, a real socket."""

from __future__ import annotations

import threading

from ledgerlink.connectors.base import WriteOutcome
from tests.emulators.qbo import (
    EmulatorServer,
    LatencyModel,
    LimitSettings,
    ManualClock,
    QboEmulator,
    ScaledClock,
)
from tests.emulators.qbo.harness import MemoryTokenStore, customer, invoice, make_connector, request


def ok(outcomes: list[WriteOutcome]) -> list[str]:
    assert [o.error for o in outcomes] == [None] * len(outcomes)
    return [o.target_id or "" for o in outcomes]


def test_a_429_storm_is_waited_out_exactly_and_no_record_fails() -> None:
    # The company's budget squeezed to half (B2 R3) while the connector believes the full one.
    emulator = QboEmulator(
        clock=ManualClock(), limits=LimitSettings(per_minute=250, batch_per_minute=20)
    )
    books = make_connector(emulator, max_attempts=10)
    requests = [request(customer(f"C{i}"), f"c{i}") for i in range(30 * 40)]
    for start in range(0, len(requests), 30):
        ok(books.apply(requests[start : start + 30]))
    limiter = emulator.limiters[emulator.realm_id]
    assert limiter.stats.throttled_batch > 0  # there was a storm ...
    assert limiter.stats.early_retries == 0  # ... and every Retry-After was honoured
    assert len(emulator.company.all("Customer")) == 30 * 40
    assert books.http.stats.throttled == limiter.stats.throttled_batch


def test_a_budget_matching_the_limits_never_meets_a_429() -> None:
    emulator = QboEmulator(clock=ManualClock())
    books = make_connector(emulator)
    requests = [request(customer(f"C{i}"), f"c{i}") for i in range(30 * 60)]
    for start in range(0, len(requests), 30):
        ok(books.apply(requests[start : start + 30]))
    stats = emulator.limiters[emulator.realm_id].stats
    assert stats.throttled_batch + stats.throttled_rate + stats.throttled_concurrency == 0
    clock = emulator.clock
    assert isinstance(clock, ManualClock)
    assert clock.elapsed() >= (60 - 40) * 60 / 40  # 40 batches/min after the first burst


def test_in_flight_requests_never_exceed_ten_however_many_threads_write() -> None:
    emulator = QboEmulator(
        clock=ScaledClock(scale=50),
        limits=LimitSettings(per_minute=10**6, batch_per_minute=10**6, concurrent=10),
    )
    emulator.faults.latency = LatencyModel()
    books = make_connector(emulator, requests_per_minute=10**6, batch_requests_per_minute=10**6)
    books.check()  # one token refresh up front
    failures: list[str] = []

    def writer(worker: int) -> None:
        for round_ in range(3):
            outcomes = books.apply(
                [
                    request(customer(f"W{worker}-{round_}-{i}"), f"w{worker}-{round_}-{i}")
                    for i in range(5)
                ]
            )
            failures.extend(str(o.error) for o in outcomes if o.error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = emulator.limiters[emulator.realm_id].stats
    assert failures == []
    assert stats.throttled_concurrency == 0
    assert 2 <= stats.max_in_flight <= 10
    assert len(emulator.company.all("Customer")) == 20 * 3 * 5


def test_server_errors_at_a_rate_are_retried_into_exactly_one_record_each() -> None:
    emulator = QboEmulator(clock=ManualClock())
    emulator.faults.server_error_rate = 0.3
    books = make_connector(emulator, income_account="1", max_attempts=8)
    ids = ok(books.apply([request(customer(f"C{i}"), f"c{i}") for i in range(20)]))
    ok(books.apply([request(invoice(), f"i{i}", customer_id=ids[i]) for i in range(20)]))
    assert len(emulator.company.all("Customer")) == 20
    assert len(emulator.company.all("Invoice")) == 20


def test_over_a_real_socket_writes_reads_and_a_dropped_commit_behave_the_same() -> None:
    emulator = QboEmulator(clock=ManualClock())
    with EmulatorServer(emulator) as server:
        books = make_connector(
            emulator,
            store=MemoryTokenStore(),
            base_url=server.base_url,
            token_url=server.token_url,
            income_account="1",
        )
        assert "Emulated Company" in books.check()
        emulator.faults.drop_after_commit = 1
        (cid,) = ok(books.apply([request(customer("Acme", "ap@acme.test"), "acme")]))
        (iid,) = ok(books.apply([request(invoice(), "inv", customer_id=cid)]))
        assert emulator.stats.dropped == 1
        assert len(emulator.company.all("Customer")) == 1
        keys = [c.key for c in books.read("invoices", None)]
        assert keys == [iid]
        books.close()
