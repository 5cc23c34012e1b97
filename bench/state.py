"""Benchmarks of the state database (not collected by pytest): open, load_versions, commit_batch.

Run: ``python tests/state/bench_state.py [--links 1000000] [--postgres URL]``. Each measurement
that concerns memory runs in a fresh process so earlier allocations do not hide it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from ledgerlink.state import AuditWrite, BatchCommit, IntentWrite, LinkWrite, StateStore
from ledgerlink.state.db import create_state_engine
from ledgerlink.state.tables import links, runs

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _key(i: int) -> str:
    return f"contact-{i:07d}"


def fill_links(url: str, count: int, pipe: str = "customers") -> None:
    """Insert ``count`` links directly (fast), with random 64-bit versions."""
    StateStore.open(url).close()
    engine = create_state_engine(url)
    rng = random.Random(7)
    try:
        with engine.begin() as conn:
            conn.execute(
                runs.insert().values(id="0" * 26, command="bench", status="ok", started_at=_now())
            )
        step = 50_000
        for start in range(0, count, step):
            rows = [
                {
                    "pipe": pipe,
                    "source_key": _key(i),
                    "target_id": f"T{i}",
                    "version": rng.getrandbits(64) - 2**63,
                    "desired_hash": "ab" * 32,
                    "snapshot": {"name": f"Customer {i}", "email": f"c{i}@example.com"},
                    "ledgerlink_id": f"ll-{i}",
                    "updated_at": _now(),
                    "last_run_id": "0" * 26,
                }
                for i in range(start, min(count, start + step))
            ]
            with engine.begin() as conn:
                conn.execute(links.insert(), rows)
    finally:
        engine.dispose()


def _now() -> datetime:
    return datetime.now(UTC)


def child_load_versions(url: str) -> None:
    """(In a fresh process) time ``load_versions`` and report the memory it took."""
    store = StateStore.open(url)
    base = _rss_mib()
    started = time.perf_counter()
    versions = store.load_versions("customers")
    elapsed = time.perf_counter() - started
    after = _rss_mib()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    store.close()
    print(
        json.dumps(
            {
                "links": len(versions),
                "seconds": round(elapsed, 3),
                "retained_mib": round(after - base, 1),
                "peak_over_base_mib": round(peak - base, 1),
            }
        )
    )


_OPEN_SCRIPT = """
import json, sys, time
started = time.perf_counter()
from ledgerlink.state import StateStore
imported = time.perf_counter()
StateStore.open(sys.argv[1]).close()
opened = time.perf_counter()
StateStore.open(sys.argv[1]).close()
done = time.perf_counter()
print(json.dumps({
    "import_ms": round((imported - started) * 1000, 1),
    "first_open_ms": round((opened - imported) * 1000, 1),
    "second_open_ms": round((done - opened) * 1000, 1),
    "alembic_imported": "alembic" in sys.modules,
}))
"""


def _child(mode: str, url: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": SRC}
    command = ["-c", _OPEN_SCRIPT, url] if mode == "open" else [__file__, "--child", mode, url]
    out = subprocess.run(
        [sys.executable, *command],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def bench_commit(url: str, size: int = 5_000) -> dict[str, float]:
    """Commit a batch of ``size`` new links (+ intents done + audit), then the same as updates."""
    store = StateStore.open(url)
    result: dict[str, float] = {}
    try:
        for label in ("insert", "update"):
            run = store.start_run("bench")
            keys = [_key(i) for i in range(size)]
            intents = [IntentWrite(f"{label}:{k}", "commit", k, "create", k) for k in keys]
            store.record_intents(run, intents)
            batch = BatchCommit(
                run,
                "commit",
                links=[
                    LinkWrite(k, f"T{k}", i, "cd" * 32, {"name": k, "total": "12.50"}, k)
                    for i, k in enumerate(keys)
                ],
                done_intents=[i.key for i in intents],
                audit=[
                    AuditWrite("create", k, f"T{k}", None, {"name": k}, f"{label}:{k}")
                    for k in keys
                ],
            )
            links_only = BatchCommit(run, "commit", links=batch.links)
            started = time.perf_counter()
            store.commit_batch(links_only)
            result[f"{label}_links_only_ms"] = round((time.perf_counter() - started) * 1000, 1)
            started = time.perf_counter()
            store.commit_batch(batch)
            result[f"{label}_full_batch_ms"] = round((time.perf_counter() - started) * 1000, 1)
    finally:
        store.close()
    return result


def _pg_schema(base: str) -> tuple[str, str]:
    schema = f"ll_bench_{uuid.uuid4().hex[:10]}"
    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def _pg_drop(base: str, schema: str) -> None:
    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    """Run every benchmark on SQLite and PostgreSQL and print the numbers."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        _, url = args.child
        child_load_versions(url)
        return
    with tempfile.TemporaryDirectory() as tmp:
        targets = {"sqlite": f"sqlite:///{tmp}/bench.db"}
        pg_url, schema = _pg_schema(args.postgres)
        targets["postgresql"] = pg_url
        try:
            for name, url in targets.items():
                print(f"== {name}")
                print("commit 5,000:", bench_commit(url))
                print("open (fresh process):", _child("open", url))
                started = time.perf_counter()
                fill_links(url, args.links)
                print(f"filled {args.links:,} links in {time.perf_counter() - started:.1f} s")
                for _ in range(2):
                    print("load_versions:", _child("load", url))
        finally:
            _pg_drop(args.postgres, schema)


if __name__ == "__main__":
    main()
