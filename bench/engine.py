"""Engine benchmarks: per-record overhead, throughput, no-op re-sync and peak memory.

Run: ``.venv/bin/python bench/engine.py [--quick]``. Each phase runs in its own process so that
peak memory (ru_maxrss) belongs to that phase alone. Results are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

from ledgerlink.canonical.records import Change, Contact, Deal, TargetRecord
from ledgerlink.canonical.serialise import version_number
from ledgerlink.config.loader import parse_config
from ledgerlink.connectors.base import TargetCapabilities, WriteOutcome, WriteRequest
from ledgerlink.mapping.apply import Mapper
from ledgerlink.mapping.defaults import InvoiceRules
from ledgerlink.mapping.spec import MappingSpec
from ledgerlink.matching.match import MatchIndex
from ledgerlink.planning.plan import PipePlan
from ledgerlink.planning.planner import RecordPlanner
from ledgerlink.state.store import StateStore
from ledgerlink.sync.run import Workspace, execute_run

TODAY = date(2026, 11, 24)


class NullBooks:
    """A target that accepts every write and keeps nothing: isolates the engine's own cost."""

    system = "null"

    def writable_streams(self) -> tuple[str, ...]:
        return ("customers", "invoices")

    def capabilities(self) -> TargetCapabilities:
        return TargetCapabilities(max_batch_size=5000, idempotency="key")

    def check(self) -> str:
        return "null books"

    def read_existing(self, stream: str) -> Iterator[TargetRecord]:
        return iter(())

    def apply(self, requests: Sequence[WriteRequest]) -> list[WriteOutcome]:
        return [WriteOutcome(r, target_id=r.ledgerlink_id) for r in requests]


def write_contacts(path: Path, count: int, *, edited: int | None = None) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["display_name", "email", "phone", "city", "country", "notes"])
        for i in range(count):
            note = "edited" if edited is not None and i == edited else "customer since 2020"
            writer.writerow(
                [
                    f"Person {i}",
                    f"person{i}@example.com",
                    f"+1415555{i % 10000:04d}",
                    "Springfield",
                    "US",
                    note,
                ]
            )


def config_for(directory: Path, target: str) -> str:
    books = (
        "{type: beancount, path: books.beancount}"
        if target == "beancount"
        else "{type: beancount, path: unused.beancount}"
    )
    return f"""
version: 1
state: sqlite:///{directory / "state.db"}
connections:
  crm: {{type: csv, contacts: {directory / "contacts.csv"}}}
  books: {books}
pipes:
  - name: customers
    from: crm.contacts
    to: books.customers
"""


def timed_sync(directory: Path, target: str, *, full: bool) -> tuple[float, dict[str, int]]:
    loaded = parse_config(config_for(directory, target), directory / "ledgerlink.yaml", {})
    store = StateStore.open(loaded.state_url())
    connectors = {} if target == "beancount" else {"books": NullBooks()}
    workspace = Workspace(loaded, store, connectors)  # type: ignore[arg-type]
    started = time.perf_counter()
    report = execute_run(workspace, command="sync", full=full, today=TODAY)
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed, report.pipes[0].plan.counts()


def phase_sync(directory: str, target: str, full: str) -> None:
    """One sync in this process; prints seconds, counts and peak RSS as JSON."""
    elapsed, counts = timed_sync(Path(directory), target, full=full == "full")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "counts": counts, "peak_mib": peak}))


def phase_pure(count: int) -> None:
    """Map + diff + plan throughput for changed records, and the no-op skip cost, in memory."""
    contacts = [
        Contact(display_name=f"Person {i}", emails=(f"p{i}@example.com",), phones=("+14155550100",))
        for i in range(count)
    ]
    changes = [Change.of(f"p{i}@example.com", c, version=f"v{i}") for i, c in enumerate(contacts)]
    mapper = Mapper("contacts", "customers", MappingSpec(), InvoiceRules())
    planner = RecordPlanner("customers", "customers", MatchIndex)
    plan = PipePlan("customers", "crm.contacts", "books.customers")
    started = time.perf_counter()
    for change in changes:
        desired = mapper.map(change.load(), today=TODAY)
        assert desired is not None
        planner.plan(
            plan,
            key=change.key,
            location="",
            version=version_number(change.version),
            desired=desired,
            link=None,
        )
    changed = time.perf_counter() - started
    versions = {c.key: version_number(c.version) for c in changes}
    started = time.perf_counter()
    unchanged = 0
    for change in changes:
        if versions.get(change.key) == version_number(change.version):
            unchanged += 1
    skip = time.perf_counter() - started
    deals = [
        Deal(
            title=f"Deal {i}",
            contact_key=f"p{i}@example.com",
            amount=Decimal("1234.50"),
            currency="USD",
            status="won",
            tax_rate=Decimal("8.25"),
        )
        for i in range(count)
    ]
    invoice_mapper = Mapper("deals", "invoices", MappingSpec(), InvoiceRules())
    started = time.perf_counter()
    for d in deals:
        invoice_mapper.map(d, today=TODAY)
    invoices = time.perf_counter() - started
    print(
        json.dumps(
            {
                "changed_per_s": count / changed,
                "unchanged_us": skip / count * 1e6,
                "invoice_map_per_s": count / invoices,
                "ops": len(plan.ops),
            }
        )
    )


def per_record(result: dict[str, object], count: int) -> str:
    seconds = float(result["seconds"])  # type: ignore[arg-type]
    return (
        f"{seconds:.2f} s ({seconds / count * 1e6:.1f} µs/record), "
        f"peak {result['peak_mib']:.0f} MiB"
    )


def run_phase(*args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k/100k instead of 100k/1M")
    parser.add_argument("--phase", nargs="+")
    args = parser.parse_args()
    if args.phase:
        name, *rest = args.phase
        if name == "sync":
            phase_sync(*rest)
        else:
            phase_pure(int(rest[0]))
        return
    small, large = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    rows: list[tuple[str, str]] = []
    pure = run_phase("pure", "100000")
    rows.append(
        ("map + diff + plan, changed contacts, one core", f"{pure['changed_per_s']:,.0f} records/s")
    )
    rows.append(("map, won deal → invoice with tax", f"{pure['invoice_map_per_s']:,.0f} records/s"))
    rows.append(
        ("engine skip of an unchanged record (version lookup)", f"{pure['unchanged_us']:.2f} µs")
    )
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write_contacts(directory / "contacts.csv", small)
        first = run_phase("sync", tmp, "beancount", "full")
        rows.append(
            (
                f"first sync, {small:,} contacts CSV → Beancount",
                f"{first['seconds']:.1f} s, peak {first['peak_mib']:.0f} MiB",
            )
        )
        noop_full = run_phase("sync", tmp, "beancount", "full")
        rows.append(
            (
                f"no-op re-sync --full, {small:,} contacts → Beancount",
                per_record(noop_full, small),
            )
        )
        noop = run_phase("sync", tmp, "beancount", "incremental")
        rows.append(
            (
                f"no-op re-sync (unchanged file, cursor), {small:,} contacts",
                f"{noop['seconds']:.2f} s",
            )
        )
        write_contacts(directory / "contacts.csv", small, edited=small // 2)
        one = run_phase("sync", tmp, "beancount", "incremental")
        rows.append(
            (
                f"one edited contact among {small:,} → Beancount",
                f"{one['seconds']:.2f} s, {one['counts']['updated']} update",
            )
        )
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write_contacts(directory / "contacts.csv", large)
        first = run_phase("sync", tmp, "null", "full")
        rows.append(
            (
                f"first sync, {large:,} contacts → null target (engine + state)",
                f"{first['seconds']:.1f} s, peak {first['peak_mib']:.0f} MiB",
            )
        )
        noop = run_phase("sync", tmp, "null", "full")
        rows.append(
            (
                f"no-op re-sync --full, {large:,} contacts",
                per_record(noop, large),
            )
        )
    print("| measurement | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
