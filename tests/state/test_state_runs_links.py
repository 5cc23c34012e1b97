"""Runs, links, cursors and fingerprints as the engine and ``ledgerlink status`` see them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from ledgerlink.state import BatchCommit, LinkWrite, StateStore
from ledgerlink.state.db import create_state_engine
from ledgerlink.state.ids import RunIdFactory

from .conftest import TickingClock

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _link(key: str, version: int = 1, target: str | None = None, **snapshot: str) -> LinkWrite:
    return LinkWrite(
        key,
        target or f"T-{key}",
        version,
        f"{version:064x}",
        snapshot or {"name": key},
        f"ll-{key}",
    )


def test_runs_are_listed_newest_first_with_status_and_summary(
    store: StateStore, clock: TickingClock
) -> None:
    first = store.start_run("sync")
    second = store.start_run("plan")
    store.finish_run(first, "partial", {"customers": {"created": 3, "failed": 1}})
    runs = store.list_runs()
    assert [r.id for r in runs] == [second, first]
    assert runs[0].status == "running"
    assert runs[0].finished_at is None
    assert runs[1].status == "partial"
    assert runs[1].summary == {"customers": {"created": 3, "failed": 1}}
    assert runs[1].finished_at == clock.now
    assert store.list_runs(limit=1) == runs[:1]
    assert store.get_run(first) == runs[1]
    assert store.get_run("nope") is None


def test_run_ids_sort_in_start_order_and_are_unique(store: StateStore) -> None:
    ids = [store.start_run("sync") for _ in range(50)]
    assert sorted(ids) == ids
    assert len(set(ids)) == 50
    assert all(len(i) == 26 for i in ids)


def test_run_ids_keep_order_within_one_millisecond() -> None:
    factory = RunIdFactory()
    same = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [factory.new_id(same) for _ in range(1000)]
    assert sorted(ids) == ids
    assert len(set(ids)) == 1000


def test_timestamps_come_back_as_the_same_utc_instant(store: StateStore) -> None:
    run = store.start_run("sync")
    row = store.get_run(run)
    assert row is not None
    assert row.started_at == datetime(2026, 3, 1, 9, 30, 16, 123456, tzinfo=UTC)
    assert row.started_at.utcoffset() is not None
    assert row.started_at.tzinfo == UTC


def test_postgres_session_timezone_does_not_change_timestamps(postgres_schema_url: str) -> None:
    url = postgres_schema_url.replace("options=", "options=-ctimezone%3DAsia/Kolkata%20")
    with StateStore.open(url, clock=TickingClock()) as store:
        run = store.start_run("sync")
        row = store.get_run(run)
    assert row is not None
    assert row.started_at == datetime(2026, 3, 1, 9, 30, 16, 123456, tzinfo=UTC)
    assert row.started_at.tzinfo == UTC


def test_a_naive_clock_is_refused(state_url: str) -> None:
    naive = StateStore.open(state_url, clock=lambda: datetime(2026, 1, 1))
    with naive as store, pytest.raises(ValueError, match="timezone-aware"):
        store.start_run("sync")


def test_finish_run_rejects_unknown_status_and_unknown_run(store: StateStore) -> None:
    run = store.start_run("sync")
    with pytest.raises(ValueError, match="not one of"):
        store.finish_run(run, "done", {})
    with pytest.raises(LookupError, match="no run"):
        store.finish_run("01NOSUCHRUN00000000000000", "ok", {})


def test_links_are_created_then_replaced_and_found_by_key_and_target(store: StateStore) -> None:
    run = store.start_run("sync")
    store.commit_batch(BatchCommit(run, "customers", links=[_link("c1"), _link("c2")]))
    store.commit_batch(
        BatchCommit(run, "customers", links=[_link("c1", version=2, target="T-new", name="Ann")])
    )
    links = store.get_links("customers", ["c1", "c2", "missing"])
    assert set(links) == {"c1", "c2"}
    assert links["c1"].version == 2
    assert links["c1"].target_id == "T-new"
    assert links["c1"].snapshot == {"name": "Ann"}
    assert links["c1"].last_run_id == run
    assert links["c1"].updated_at.tzinfo == UTC
    assert store.get_link_by_target("customers", "T-new") == links["c1"]
    assert store.get_link_by_target("customers", "T-c1") is None
    assert store.get_link_by_target("invoices", "T-c2") is None
    assert store.count_links("customers") == 2
    assert store.count_links("invoices") == 0


def test_links_are_kept_per_pipe(store: StateStore) -> None:
    run = store.start_run("sync")
    store.commit_batch(BatchCommit(run, "customers", links=[_link("k", version=1)]))
    store.commit_batch(BatchCommit(run, "invoices", links=[_link("k", version=7)]))
    assert store.load_versions("customers") == {"k": 1}
    assert store.load_versions("invoices") == {"k": 7}


def test_get_links_handles_more_keys_than_one_in_query(store: StateStore) -> None:
    run = store.start_run("sync")
    keys = [f"c{i:05d}" for i in range(1_234)]
    store.commit_batch(BatchCommit(run, "customers", links=[_link(k) for k in keys]))
    wanted = [*keys[::2], "absent"]
    assert set(store.get_links("customers", wanted)) == set(keys[::2])
    assert len(store.load_versions("customers")) == 1_234


def test_versions_are_64_bit_signed_digests(store: StateStore) -> None:
    run = store.start_run("sync")
    store.commit_batch(
        BatchCommit(run, "p", links=[_link("low", INT64_MIN), _link("high", INT64_MAX)])
    )
    assert store.load_versions("p") == {"low": INT64_MIN, "high": INT64_MAX}


def test_versions_only_moves_the_version_and_keeps_the_snapshot(store: StateStore) -> None:
    first = store.start_run("sync")
    store.commit_batch(BatchCommit(first, "customers", links=[_link("c1", 1, name="Ann")]))
    second = store.start_run("sync")
    store.commit_batch(BatchCommit(second, "customers", versions_only=[("c1", 99), ("ghost", 5)]))
    link = store.get_links("customers", ["c1"])["c1"]
    assert link.version == 99
    assert link.snapshot == {"name": "Ann"}
    assert link.last_run_id == second
    assert store.load_versions("customers") == {"c1": 99}


def test_cursor_and_fingerprint_are_per_pipe_and_overwritten(store: StateStore) -> None:
    run = store.start_run("sync")
    assert store.get_cursor("customers", "contacts") is None
    assert store.get_fingerprint("customers") is None
    store.commit_batch(BatchCommit(run, "customers", cursor=("contacts", "1"), fingerprint="a"))
    store.commit_batch(BatchCommit(run, "customers", cursor=("contacts", "2"), fingerprint="b"))
    store.commit_batch(BatchCommit(run, "invoices", cursor=("deals", "x")))
    assert store.get_cursor("customers", "contacts") == "2"
    assert store.get_cursor("customers", "deals") is None
    assert store.get_cursor("invoices", "deals") == "x"
    assert store.get_fingerprint("customers") == "b"
    assert store.get_fingerprint("invoices") is None


def test_a_failing_batch_changes_nothing(store: StateStore) -> None:
    run = store.start_run("sync")
    store.commit_batch(BatchCommit(run, "customers", links=[_link("c1", 1)]))
    with pytest.raises(IntegrityError):
        # An unknown run id breaks the foreign key after the links were upserted.
        store.commit_batch(
            BatchCommit(
                "01NOSUCHRUN00000000000000",
                "customers",
                links=[_link("c1", 2), _link("c2", 1)],
                cursor=("contacts", "later"),
            )
        )
    assert store.load_versions("customers") == {"c1": 1}
    assert store.get_cursor("customers", "contacts") is None
    assert store.verify_audit().checked == 0


def test_links_survive_deleting_old_runs(store: StateStore, state_url: str) -> None:
    """Pruning run history later must not take the links with it."""
    run = store.start_run("sync")
    store.commit_batch(BatchCommit(run, "customers", links=[_link("c1")]))
    engine = create_state_engine(state_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DELETE FROM runs WHERE id = '{run}'")
    finally:
        engine.dispose()
    assert store.get_links("customers", ["c1"])["c1"].last_run_id is None


def test_two_workers_writing_the_same_links_do_not_deadlock(state_url: str) -> None:
    """Overlapping batches in opposite orders: rows are locked in one order, so both finish."""
    keys = [f"c{i:04d}" for i in range(300)]
    stores = [StateStore.open(state_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(store: StateStore, ordered: list[str], version: int) -> None:
        try:
            run = store.start_run("sync")
            barrier.wait()
            for _ in range(10):
                store.commit_batch(
                    BatchCommit(
                        run,
                        "customers",
                        links=[_link(k, version) for k in ordered],
                        versions_only=[(k, version) for k in ordered],
                    )
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(stores[0], keys, 1)),
        threading.Thread(target=work, args=(stores[1], keys[::-1], 2)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert errors == []
    with StateStore.open(state_url) as store:
        assert set(store.load_versions("customers").values()) <= {1, 2}
        assert store.count_links("customers") == 300
