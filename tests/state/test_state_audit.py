"""The audit trail: appended in order, hash-chained, and ``audit verify`` catches tampering."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

import ledgerlink
from ledgerlink.state import AuditWrite, BatchCommit, StateStore
from ledgerlink.state.audit import recompute
from ledgerlink.state.db import create_state_engine
from ledgerlink.state.tables import GENESIS_HASH


def _append(store: StateStore, run: str, count: int, pipe: str = "customers") -> None:
    entries = [
        AuditWrite(
            action="create",
            source_key=f"c{i}",
            target_id=f"T{i}",
            before=None,
            after={"name": f"Ann {i}", "balance": "12.50", "tags": ["a", "b"], "nested": {"z": 1}},
            idempotency_key=f"{pipe}:c{i}:1:create",
        )
        for i in range(count)
    ]
    store.commit_batch(BatchCommit(run, pipe, audit=entries))


def _sql(url: str, statement: str) -> None:
    """Change the database behind the store's back, as someone with write access could."""
    engine = create_state_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def test_entries_are_appended_in_order_and_linked(store: StateStore) -> None:
    run = store.start_run("sync")
    _append(store, run, 3)
    store.commit_batch(
        BatchCommit(
            run,
            "invoices",
            audit=[AuditWrite("update", "d1", "INV-1", {"total": "10.00"}, {"total": "12.00"})],
        )
    )
    entries = list(store.iter_audit())
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert all(recompute(e) == e.hash for e in entries)
    last = entries[-1]
    assert (last.pipe, last.action, last.source_key, last.target_id) == (
        "invoices",
        "update",
        "d1",
        "INV-1",
    )
    assert last.before == {"total": "10.00"}
    assert last.after == {"total": "12.00"}
    assert last.run_id == run
    assert entries[0].idempotency_key == "customers:c0:1:create"
    assert entries[0].after == {
        "name": "Ann 0",
        "balance": "12.50",
        "tags": ["a", "b"],
        "nested": {"z": 1},
    }


def test_an_intact_trail_verifies(store: StateStore) -> None:
    assert store.verify_audit().ok
    assert store.verify_audit().checked == 0
    run = store.start_run("sync")
    for _ in range(3):
        _append(store, run, 1_100)  # crosses the reader's page size
    verdict = store.verify_audit()
    assert verdict.ok, verdict.reason
    assert verdict.checked == 3_300
    assert verdict.first_bad_seq is None


def test_an_edited_entry_is_named(store: StateStore, state_url: str) -> None:
    run = store.start_run("sync")
    _append(store, run, 10)
    _sql(state_url, "UPDATE audit_log SET target_id = 'T-other' WHERE seq = 4")
    verdict = store.verify_audit()
    assert not verdict.ok
    assert verdict.first_bad_seq == 4
    assert verdict.checked == 3
    assert "entry 4 was changed" in verdict.reason


def test_an_edited_json_value_is_named(store: StateStore, state_url: str) -> None:
    run = store.start_run("sync")
    _append(store, run, 5)
    _sql(state_url, """UPDATE audit_log SET "after" = '{"name": "Bob"}' WHERE seq = 2""")
    verdict = store.verify_audit()
    assert (verdict.ok, verdict.first_bad_seq) == (False, 2)


def test_an_edit_with_a_recomputed_hash_is_caught_at_the_next_entry(
    store: StateStore, state_url: str
) -> None:
    run = store.start_run("sync")
    _append(store, run, 5)
    _sql(state_url, "UPDATE audit_log SET action = 'void' WHERE seq = 2")
    forged = next(e for e in store.iter_audit() if e.seq == 2)
    _sql(state_url, f"UPDATE audit_log SET hash = '{recompute(forged)}' WHERE seq = 2")
    verdict = store.verify_audit()
    assert (verdict.ok, verdict.first_bad_seq) == (False, 3)
    assert "does not follow entry 2" in verdict.reason


def test_a_deleted_entry_is_named(store: StateStore, state_url: str) -> None:
    run = store.start_run("sync")
    _append(store, run, 6)
    _sql(state_url, "DELETE FROM audit_log WHERE seq = 3")
    verdict = store.verify_audit()
    assert (verdict.ok, verdict.first_bad_seq, verdict.checked) == (False, 3, 2)
    assert "entry 3 is missing" in verdict.reason


def test_deleting_the_first_entry_is_named(store: StateStore, state_url: str) -> None:
    run = store.start_run("sync")
    _append(store, run, 3)
    _sql(state_url, "DELETE FROM audit_log WHERE seq = 1")
    assert store.verify_audit().first_bad_seq == 1


def test_deleting_the_last_entries_is_named(store: StateStore, state_url: str) -> None:
    run = store.start_run("sync")
    _append(store, run, 6)
    _sql(state_url, "DELETE FROM audit_log WHERE seq >= 5")
    verdict = store.verify_audit()
    assert (verdict.ok, verdict.first_bad_seq, verdict.checked) == (False, 5, 4)
    assert "deleted" in verdict.reason


def test_decimals_that_slip_through_are_kept_exact_and_verify(store: StateStore) -> None:
    run = store.start_run("sync")
    store.commit_batch(
        BatchCommit(run, "invoices", audit=[AuditWrite("create", after={"total": Decimal("0.10")})])
    )
    [entry] = store.iter_audit()
    assert entry.after == {"total": "0.10"}
    assert store.verify_audit().ok


def test_concurrent_writers_keep_one_valid_chain(state_url: str) -> None:
    """Four stores (as four workers would) append at once; no entry is lost or forked."""
    writers, batches, per_batch = 4, 15, 5
    stores = [StateStore.open(state_url) for _ in range(writers)]
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def work(store: StateStore, pipe: str) -> None:
        try:
            run = store.start_run("sync")
            barrier.wait()
            for _ in range(batches):
                _append(store, run, per_batch, pipe=pipe)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s, f"pipe{i}")) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert errors == []
    with StateStore.open(state_url) as store:
        verdict = store.verify_audit()
        assert verdict.ok, verdict.reason
        assert verdict.checked == writers * batches * per_batch
        pipes = [e.pipe for e in store.iter_audit()]
    if store.dialect == "postgresql":
        # The writers really interleaved (else this proves nothing about the lock). SQLite's
        # busy wait may let one writer finish first, which is just as correct.
        switches = sum(1 for a, b in itertools.pairwise(pipes) if a != b)
        assert switches >= writers


_WORKER = """
import sys, time
from ledgerlink.state import AuditWrite, BatchCommit, StateStore
url, pipe, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
store = StateStore.open(url)
run = store.start_run("sync")
time.sleep(max(0.0, start - time.time()))
for b in range(40):
    store.commit_batch(BatchCommit(run, pipe, audit=[
        AuditWrite("create", source_key=f"{b}-{i}", after={"n": str(i)}) for i in range(5)
    ]))
store.close()
"""


@pytest.mark.postgres
def test_two_processes_appending_on_postgres_keep_the_chain_valid(
    postgres_schema_url: str,
) -> None:
    StateStore.open(postgres_schema_url).close()
    src = str(Path(ledgerlink.__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    start = str(time.time() + 2.0)  # both are connected and waiting before the first append
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, postgres_schema_url, pipe, start],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for pipe in ("customers", "invoices")
    ]
    outcomes = [(w.communicate(timeout=120)[1], w.returncode) for w in workers]
    assert [err for err, code in outcomes if code != 0] == []
    with StateStore.open(postgres_schema_url) as store:
        verdict = store.verify_audit()
        assert verdict.ok, verdict.reason
        assert verdict.checked == 2 * 40 * 5
        pipes = [e.pipe for e in store.iter_audit()]
    assert sum(1 for a, b in itertools.pairwise(pipes) if a != b) >= 2
