"""QuickBooks Online writes: the batched connector vs one call per record, time-scaled emulator.

Follows limits-and-reliability.md A4: the emulator enforces QuickBooks' published limits (A1.1:
500 requests/min, 40 batch requests/min, 10 concurrent, per realm) in emulated time
(emulated = real × k, A4.2.2) with a lognormal latency (p50 250 ms, p99 2 s emulated, batches
slower by 5 % per extra item, A4.2.3), served over real HTTP on 127.0.0.1 from its own process.
The connector's rate budget holds the same limits with windows divided by k, as a real
deployment holds the real ones.

    .venv/bin/python bench/qbo.py [--invoices 10000] [--customers 1000] [--scale 30]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import random
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.emulators.qbo import (  # noqa: E402
    EmulatorServer,
    LatencyModel,
    LimitSettings,
    QboEmulator,
    ScaledClock,
)

from ledgerlink.canonical.records import Customer, Invoice, InvoiceLine  # noqa: E402
from ledgerlink.connectors.base import ConnectorContext, WriteRequest  # noqa: E402
from ledgerlink.connectors.http import BudgetSpec, RateBudgets, RateLimit  # noqa: E402
from ledgerlink.connectors.quickbooks.config import QuickBooksOnlineConfig  # noqa: E402
from ledgerlink.connectors.quickbooks.connector import QuickBooksOnlineConnector  # noqa: E402

CENT = Decimal("0.01")
BATCH_CEILING = 40 * 30  # A1.2: 40 batch requests/min × 30 payloads
SINGLE_CEILING = 500  # A1.2: 500 requests/min without batch
WORDS = ("Acme", "Birch", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris")


@dataclass
class Workload:
    """Seeded customers and their invoices, as canonical records."""

    customers: list[Customer]
    invoices: list[tuple[int, Invoice]]  # (customer index, invoice)


def workload(customers: int, invoices: int, seed: int) -> Workload:
    """``customers`` parties and ``invoices`` invoices spread over them, 1-5 lines each."""
    rng = random.Random(seed)
    people = [
        Customer(
            display_name=f"{rng.choice(WORDS)} {rng.choice(WORDS)} {n:05d}",
            email=f"ap{n}@example{n % 97}.test",
        )
        for n in range(customers)
    ]
    built: list[tuple[int, Invoice]] = []
    for n in range(invoices):
        lines = []
        for _ in range(rng.randint(1, 5)):
            qty = Decimal(rng.randint(1, 10))
            price = Decimal(rng.randint(100, 99_999)) * CENT
            lines.append(InvoiceLine("Consulting", qty, price, (qty * price).quantize(CENT)))
        total = sum((line.amount for line in lines), Decimal(0))
        issued = date(2026, 1, 1) + timedelta(days=n % 28)
        invoice = Invoice(
            customer_key=f"c{n % customers}",
            currency="USD",
            issue_date=issued,
            lines=tuple(lines),
            tax_lines=(),
            subtotal=total,
            tax_total=Decimal(0),
            total=total,
            due_date=issued + timedelta(days=30),
            number=f"INV-{n:06d}",
        )
        built.append((n % customers, invoice))
    return Workload(people, built)


@dataclass
class Phase:
    """Writes of one phase and the emulated time they took."""

    writes: int = 0
    started: float = 0.0
    marks: list[tuple[float, int]] = field(default_factory=list)  # (emulated s, writes so far)


def steady_rate(phase: Phase) -> float:
    """Writes per emulated minute over the second half of the run.

    The first minutes ride on the token bucket's initial allowance (a full bucket, then what
    refills while it drains); the second half is the rate the limits sustain.
    """
    if not phase.marks:
        return float("nan")
    middle = phase.started + (phase.marks[-1][0] - phase.started) / 2
    after = [(t, w) for t, w in phase.marks if t >= middle]
    if len(after) < 2:
        return float("nan")
    (t0, w0), (t1, w1) = after[0], after[-1]
    return (w1 - w0) / ((t1 - t0) / 60) if t1 > t0 else float("nan")


class EmulatorProcess:
    """The emulator over real HTTP in its own process (A4.1: engine and emulators on separate
    cores), started by fork; the parent reads emulated time from the shared monotonic clock."""

    def __init__(self, scale: float, *, seed_item: bool = False) -> None:
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, scale, seed_item), daemon=True)
        self._process.start()
        hello = self._conn.recv()
        self.base_url, self.token_url = hello["base_url"], hello["token_url"]
        self.credentials: dict[str, str] = hello["credentials"]
        self.item_id: str = hello["item_id"]
        self._origin, self._scale = hello["origin"], scale

    def elapsed(self) -> float:
        """Emulated seconds since the emulator started."""
        return (time.monotonic() - self._origin) * self._scale

    def stop(self) -> dict[str, Any]:
        """Stop the emulator; what it counted and what the books hold."""
        self._conn.send("stop")
        result: dict[str, Any] = self._conn.recv()
        self._process.join(timeout=10)
        return result


def _serve(conn: Any, scale: float, seed_item: bool) -> None:
    emulator = QboEmulator(clock=ScaledClock(scale), limits=LimitSettings())
    emulator.faults.latency = LatencyModel()
    item = {"Name": "Services", "Type": "Service", "IncomeAccountRef": {"value": "1"}}
    item_id = emulator.seed("Item", item)["Id"] if seed_item else ""
    clock = emulator.clock
    assert isinstance(clock, ScaledClock)
    with EmulatorServer(emulator) as server:
        credentials = emulator.authorise()
        conn.send(
            {
                "base_url": server.base_url,
                "token_url": server.token_url,
                "credentials": {
                    "realm_id": credentials.realm_id,
                    "client_id": credentials.client_id,
                    "client_secret": credentials.client_secret,
                    "refresh_token": credentials.refresh_token,
                },
                "item_id": item_id,
                "origin": clock.origin,
            }
        )
        conn.recv()
    invoices = emulator.company.all("Invoice")
    limiter = emulator.limiters[emulator.realm_id].stats
    conn.send(
        {
            "calls": dict(emulator.stats.calls),
            "throttled": limiter.throttled_rate
            + limiter.throttled_batch
            + limiter.throttled_concurrency,
            "max_in_flight": limiter.max_in_flight,
            "early_retries": limiter.early_retries,
            "customers": len(emulator.company.all("Customer")),
            "invoices": len(invoices),
            "duplicate_doc_numbers": len(invoices) - len({i["DocNumber"] for i in invoices}),
            "total": str(sum((Decimal(i["TotalAmt"]) for i in invoices), Decimal(0))),
        }
    )


def run_connector(data: Workload, scale: float) -> dict[str, Any]:
    """Customers then invoices through ``apply()`` in batches of 30, as the executor sends them."""
    emulator = EmulatorProcess(scale)
    config = QuickBooksOnlineConfig(
        type="quickbooks_online",
        **emulator.credentials,
        base_url=emulator.base_url,
        token_url=emulator.token_url,
        income_account="1",
        throttle_wait_seconds=60 / scale,
    )
    # QuickBooks' limits (A1.1) in emulated time: the same token buckets, windows divided by k.
    budgets = RateBudgets(
        BudgetSpec(
            {"requests": RateLimit(500, 60 / scale), "batch": RateLimit(40, 60 / scale)},
            concurrency=10,
        )
    )
    books = QuickBooksOnlineConnector(config, ConnectorContext("books", Path()), budgets=budgets)
    real_start = time.perf_counter()
    whole = Phase(started=emulator.elapsed())
    customer_ids: list[str] = []
    for start in range(0, len(data.customers), 30):
        chunk = data.customers[start : start + 30]
        requests = [
            WriteRequest("create", "customers", f"ll-c{n}", f"bench:c{n}:v1:create", c)
            for n, c in enumerate(chunk, start)
        ]
        outcomes = books.apply(requests)
        customer_ids.extend(o.target_id or "" for o in outcomes)
        whole.writes += sum(o.ok for o in outcomes)
        whole.marks.append((emulator.elapsed(), whole.writes))
    for start in range(0, len(data.invoices), 30):
        chunk = data.invoices[start : start + 30]
        requests = [
            WriteRequest(
                "create",
                "invoices",
                f"ll-i{n}",
                f"bench:i{n}:v1:create",
                invoice,
                references={"customer": customer_ids[owner]},
            )
            for n, (owner, invoice) in enumerate(chunk, start)
        ]
        outcomes = books.apply(requests)
        whole.writes += sum(o.ok for o in outcomes)
        whole.marks.append((emulator.elapsed(), whole.writes))
    real = time.perf_counter() - real_start
    emulated = emulator.elapsed() - whole.started
    books.close()
    seen = emulator.stop()
    expected = sum((inv.total for _, inv in data.invoices), Decimal(0))
    calls = sum(seen["calls"].values())
    records = len(data.customers) + len(data.invoices)
    return {
        "records": records,
        "created": whole.writes,
        "real_seconds": round(real, 1),
        "emulated_minutes": round(emulated / 60, 2),
        "writes_per_min_overall": round(whole.writes / (emulated / 60)),
        "writes_per_min_steady": round(steady_rate(whole), 1),
        "api_calls": calls,
        "api_calls_by_kind": seen["calls"],
        "calls_per_record": round(calls / records, 4),
        "throttled_429": seen["throttled"],
        "early_retries": seen["early_retries"],
        "max_in_flight": seen["max_in_flight"],
        "duplicates": seen["duplicate_doc_numbers"] + seen["customers"] - len(data.customers),
        "invoices_in_books": seen["invoices"],
        "books_total_matches_crm": Decimal(seen["total"]) == expected,
    }


class NaiveScript:
    """What a hand-written script does: one POST per record, 10 threads, sleeps on a 429."""

    def __init__(self, emulator: EmulatorProcess) -> None:
        self.emulator = emulator
        self.credentials = dict(emulator.credentials)
        self.http = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=10))
        self.lock = threading.Lock()
        self.token = ""
        self.calls = 0
        self.throttled = 0
        self.on_write: Callable[[], None] = lambda: None
        self.refresh()

    def refresh(self) -> None:
        """Swap the refresh token for an access token (and keep the rotated refresh token)."""
        with self.lock:
            answer = self.http.post(
                self.emulator.token_url,
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": self.credentials["refresh_token"],
                },
                auth=(self.credentials["client_id"], self.credentials["client_secret"]),
            ).json()
            self.token = answer["access_token"]
            self.credentials["refresh_token"] = answer["refresh_token"]
            self.calls += 1

    def post(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST one entity; on a 429 sleep as told and send it again."""
        url = f"{self.emulator.base_url}/company/{self.credentials['realm_id']}/{entity}"
        while True:
            response = self.http.post(
                url,
                params={"minorversion": "75"},
                content=json.dumps(body).encode(),
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": "application/json",
                },
            )
            with self.lock:
                self.calls += 1
            if response.status_code == 429:
                with self.lock:
                    self.throttled += 1
                time.sleep(float(response.headers.get("Retry-After", "2")))
                continue
            if response.status_code == 401:
                self.refresh()
                continue
            response.raise_for_status()
            with self.lock:
                self.on_write()
            return dict(response.json()[entity.capitalize()])


def money(value: Decimal) -> float:
    """How a hand-written script sends money (a float); the amounts here have two decimals."""
    return float(value)


def run_naive(data: Workload, scale: float) -> dict[str, Any]:
    """The same records, one call each, with all the concurrency QuickBooks allows (10)."""
    emulator = EmulatorProcess(scale, seed_item=True)
    script = NaiveScript(emulator)
    started, real_start = emulator.elapsed(), time.perf_counter()
    phase = Phase(started=started)
    script.on_write = lambda: phase.marks.append((emulator.elapsed(), len(phase.marks) + 1))

    def add_customer(party: Customer) -> str:
        body = {"DisplayName": party.display_name, "PrimaryEmailAddr": {"Address": party.email}}
        return str(script.post("customer", body)["Id"])

    with ThreadPoolExecutor(10) as pool:
        ids = list(pool.map(add_customer, data.customers))

        def add_invoice(pair: tuple[int, Invoice]) -> None:
            owner, invoice = pair
            lines = [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": money(line.amount),
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": emulator.item_id},
                        "Qty": money(line.quantity),
                        "UnitPrice": money(line.unit_price),
                    },
                }
                for line in invoice.lines
            ]
            body = {
                "CustomerRef": {"value": ids[owner]},
                "DocNumber": invoice.number,
                "Line": lines,
            }
            script.post("invoice", body)

        list(pool.map(add_invoice, data.invoices))
    emulated = emulator.elapsed() - started
    real = time.perf_counter() - real_start
    script.http.close()
    emulator.stop()
    records = len(data.customers) + len(data.invoices)
    return {
        "records": records,
        "real_seconds": round(real, 1),
        "emulated_minutes": round(emulated / 60, 2),
        "writes_per_min_overall": round(records / (emulated / 60)),
        "writes_per_min_steady": round(steady_rate(phase), 1),
        "api_calls": script.calls,
        "calls_per_record": round(script.calls / records, 4),
        "throttled_429": script.throttled,
    }


def main() -> None:
    """Run both clients and print the comparison (and one JSON line)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--scale", type=float, default=30.0, help="k: emulated = real × k")
    parser.add_argument("--naive-invoices", type=int, default=None, help="default: --invoices")
    parser.add_argument("--seed", type=int, default=20260115)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # progress lines would drown the report
    data = workload(args.customers, args.invoices, args.seed)
    connector = run_connector(data, args.scale)
    naive_size = args.naive_invoices or args.invoices
    naive_data = workload(args.customers, naive_size, args.seed)
    naive = run_naive(naive_data, args.scale)
    summary = {
        "scale_k": args.scale,
        "seed": args.seed,
        "ceiling_batched_writes_per_min": BATCH_CEILING,
        "ceiling_single_writes_per_min": SINGLE_CEILING,
        "connector": connector,
        "naive": naive,
        "steady_pct_of_batched_ceiling": round(
            100 * connector["writes_per_min_steady"] / BATCH_CEILING, 1
        ),
        "speedup_writes_per_min": round(
            connector["writes_per_min_steady"] / naive["writes_per_min_steady"], 2
        ),
        "calls_per_record_ratio": round(
            naive["calls_per_record"] / connector["calls_per_record"], 1
        ),
    }
    print(f"k = {args.scale:g} (emulated time = real × k), seed {args.seed}")
    print(f"batched write ceiling (A1.2): 40 batch/min × 30 = {BATCH_CEILING} writes/min")
    c = connector
    print(
        f"connector: {c['created']} records in {c['emulated_minutes']} emulated min "
        f"({c['real_seconds']} s real); steady {c['writes_per_min_steady']} writes/min "
        f"= {summary['steady_pct_of_batched_ceiling']} % of ceiling; overall "
        f"{c['writes_per_min_overall']}/min (initial burst included); "
        f"{c['calls_per_record']} calls/record; 429s: {c['throttled_429']}"
    )
    print(
        f"naive:     {naive['records']} records in {naive['emulated_minutes']} emulated min "
        f"({naive['real_seconds']} s real); steady {naive['writes_per_min_steady']} writes/min "
        f"(overall {naive['writes_per_min_overall']}); "
        f"{naive['calls_per_record']} calls/record; 429s: {naive['throttled_429']}"
    )
    print(
        f"ratio: {summary['speedup_writes_per_min']}× the writes/min, "
        f"{summary['calls_per_record_ratio']}× fewer calls per record"
    )
    print(json.dumps(summary, default=str))


if __name__ == "__main__":
    main()
