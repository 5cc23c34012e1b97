"""Exactly-once intents and the dead-letter queue, as a crash, a retry and ``dlq list`` see them."""

from __future__ import annotations

import pytest

from ledgerlink.state import (
    BatchCommit,
    DeadLetterWrite,
    IntentWrite,
    LinkWrite,
    StateStore,
)

from .conftest import TickingClock


def _intent(key: str, source_key: str = "c1", pipe: str = "customers") -> IntentWrite:
    return IntentWrite(key, pipe, source_key, "create", f"ll-{source_key}")


def _letter(
    key: str = "c1", message: str = "email is not valid", pipe: str = "customers"
) -> DeadLetterWrite:
    return DeadLetterWrite(
        pipe=pipe,
        source_key=key,
        location="contacts.csv:7",
        stage="map",
        kind="record",
        message=message,
        hint="Fix the email in the CRM",
        record={"E-mail Address": "ann@", "Amount": "12.50"},
    )


def _link(key: str) -> LinkWrite:
    return LinkWrite(key, f"T-{key}", 1, "0" * 64, {"name": key}, f"ll-{key}")


# intents ---------------------------------------------------------------------------------------


def test_intents_left_pending_by_a_crash_are_listed_after_reopening(
    state_url: str, clock: TickingClock
) -> None:
    with StateStore.open(state_url, clock=clock) as store:
        run = store.start_run("sync")
        store.record_intents(run, [_intent("k1", "c1"), _intent("k2", "c2"), _intent("k3", "c3")])
        store.commit_batch(BatchCommit(run, "customers", links=[_link("c1")], done_intents=["k1"]))
        # ... the process dies here, before k2 and k3 are completed.
    with StateStore.open(state_url, clock=clock) as store:
        pending = store.pending_intents("customers")
        assert [i.key for i in pending] == ["k2", "k3"]
        assert pending[0].run_id == run
        assert pending[0].source_key == "c2"
        assert pending[0].action == "create"
        assert pending[0].ledgerlink_id == "ll-c2"
        assert pending[0].status == "pending"
        assert pending[0].completed_at is None
        assert store.pending_intents("invoices") == []


def test_completed_and_failed_intents_are_no_longer_pending(store: StateStore) -> None:
    run = store.start_run("sync")
    store.record_intents(run, [_intent("k1", "c1"), _intent("k2", "c2")])
    store.commit_batch(
        BatchCommit(
            run,
            "customers",
            links=[_link("c1")],
            done_intents=["k1"],
            failed_intents=["k2"],
            dead_letters=[_letter("c2")],
        )
    )
    assert store.pending_intents("customers") == []


def test_recording_the_same_intent_again_keeps_the_first(store: StateStore) -> None:
    first = store.start_run("sync")
    store.record_intents(first, [_intent("k1"), _intent("k1")])
    second = store.start_run("sync")
    store.record_intents(second, [_intent("k1")])
    pending = store.pending_intents("customers")
    assert len(pending) == 1
    assert pending[0].run_id == first


def test_a_done_intent_recorded_again_stays_done(store: StateStore) -> None:
    run = store.start_run("sync")
    store.record_intents(run, [_intent("k1")])
    store.commit_batch(BatchCommit(run, "customers", links=[_link("c1")], done_intents=["k1"]))
    store.record_intents(store.start_run("sync"), [_intent("k1")])
    store.commit_batch(BatchCommit(run, "customers", failed_intents=["k1"]))
    assert store.pending_intents("customers") == []


def test_a_failed_intent_is_pending_again_when_the_write_is_retried(store: StateStore) -> None:
    run = store.start_run("sync")
    store.record_intents(run, [_intent("k1")])
    store.commit_batch(
        BatchCommit(run, "customers", failed_intents=["k1"], dead_letters=[_letter()])
    )
    retry = store.start_run("dlq retry")
    store.record_intents(retry, [_intent("k1")])
    pending = store.pending_intents("customers")
    assert [(i.key, i.run_id, i.status) for i in pending] == [("k1", retry, "pending")]


# dead letters ----------------------------------------------------------------------------------


def test_the_same_record_failing_twice_is_one_entry_with_two_attempts(
    store: StateStore, clock: TickingClock
) -> None:
    first = store.start_run("sync")
    store.commit_batch(BatchCommit(first, "customers", dead_letters=[_letter()]))
    first_seen = clock.now
    second = store.start_run("sync")
    store.commit_batch(
        BatchCommit(second, "customers", dead_letters=[_letter(message="name is empty")])
    )
    [letter] = store.list_dead_letters()
    assert letter.attempts == 2
    assert letter.message == "name is empty"
    assert letter.first_seen == first_seen
    assert letter.last_seen == clock.now
    assert letter.last_run_id == second
    assert letter.record == {"E-mail Address": "ann@", "Amount": "12.50"}
    assert (letter.pipe, letter.source_key, letter.location, letter.stage, letter.kind) == (
        "customers",
        "c1",
        "contacts.csv:7",
        "map",
        "record",
    )
    assert letter.hint == "Fix the email in the CRM"
    assert letter.resolved_at is None


def test_duplicates_within_one_batch_are_one_entry(store: StateStore) -> None:
    run = store.start_run("sync")
    store.commit_batch(
        BatchCommit(run, "customers", dead_letters=[_letter(message="a"), _letter(message="b")])
    )
    [letter] = store.list_dead_letters()
    assert (letter.attempts, letter.message) == (1, "b")


def test_resolving_closes_the_entry_and_a_new_failure_opens_a_new_one(
    store: StateStore, clock: TickingClock
) -> None:
    run = store.start_run("sync")
    store.commit_batch(BatchCommit(run, "customers", dead_letters=[_letter("c1"), _letter("c2")]))
    assert store.resolve_dead_letters("customers", ["c1", "unknown"], "fixed by hand") == 1
    resolved_at = clock.now
    assert store.resolve_dead_letters("customers", ["c1"], "again") == 0
    assert [d.source_key for d in store.list_dead_letters()] == ["c2"]
    resolved = [d for d in store.list_dead_letters(include_resolved=True) if d.source_key == "c1"]
    assert resolved[0].resolution == "fixed by hand"
    assert resolved[0].resolved_at == resolved_at

    store.commit_batch(BatchCommit(run, "customers", dead_letters=[_letter("c1", "new reason")]))
    history = [d for d in store.list_dead_letters(include_resolved=True) if d.source_key == "c1"]
    assert [(d.attempts, d.message, d.resolved_at is None) for d in history] == [
        (1, "email is not valid", False),
        (1, "new reason", True),
    ]


def test_a_record_synced_later_resolves_its_dead_letter(store: StateStore) -> None:
    run = store.start_run("sync")
    store.commit_batch(BatchCommit(run, "customers", dead_letters=[_letter("c1")]))
    store.commit_batch(BatchCommit(run, "customers", links=[_link("c1")], resolved_keys=["c1"]))
    assert store.list_dead_letters() == []
    [closed] = store.list_dead_letters(include_resolved=True)
    assert closed.resolution == "synced"


def test_dead_letters_are_listed_per_pipe_and_fetched_by_id(store: StateStore) -> None:
    run = store.start_run("sync")
    store.commit_batch(BatchCommit(run, "customers", dead_letters=[_letter("c1")]))
    store.commit_batch(BatchCommit(run, "invoices", dead_letters=[_letter("d1", pipe="invoices")]))
    assert [d.source_key for d in store.list_dead_letters("invoices")] == ["d1"]
    everything = store.list_dead_letters()
    assert [d.source_key for d in everything] == ["c1", "d1"]
    ids = [d.id for d in everything]
    assert store.get_dead_letters([ids[1], ids[0], 999_999]) == everything
    store.resolve_dead_letters("customers", ["c1"], "ignored")
    assert [d.source_key for d in store.get_dead_letters(ids)] == ["c1", "d1"]


def test_a_dead_letter_with_an_unknown_stage_is_refused(store: StateStore) -> None:
    run = store.start_run("sync")
    bad = DeadLetterWrite("customers", "c1", None, "later", "record", "x", None, {})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="stage"):
        store.commit_batch(BatchCommit(run, "customers", dead_letters=[bad]))
    assert store.list_dead_letters() == []
