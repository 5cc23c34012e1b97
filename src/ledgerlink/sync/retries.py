"""Automatic replay of due dead letters at the end of a sync (schedule: ``state.retry_schedule``).

After the normal pass of ``ledgerlink sync``, each pipe (customers first) replays its open dead
letters that are due, or whose missing customer is now in the books, with the same mechanism as
``ledgerlink dlq retry`` (``only_keys``). A pipe with nothing due reads nothing more. A replay is a
run of its own (command ``retry`` in ``ledgerlink runs``); its counts and failures are added to the
sync's report, so the exit status tells whether a replayed record failed again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from ledgerlink.config.model import PipeConfig
from ledgerlink.state.records import DeadLetter
from ledgerlink.state.store import StateStore

if TYPE_CHECKING:
    from ledgerlink.sync.run import RunReport

Replay = Callable[[str, frozenset[str]], "RunReport"]


def due_keys(store: StateStore, pipe: str, dependency_pipe: str | None) -> frozenset[str]:
    """Source keys of the pipe's dead letters to replay now."""
    letters = store.replayable_dead_letters(pipe)
    waiting = {letter.source_key: _dependency(letter) for letter in letters}
    wanted = {key for key in waiting.values() if key}
    linked = store.get_links(dependency_pipe, wanted) if dependency_pipe and wanted else {}
    return frozenset(
        letter.source_key
        for letter in letters
        if letter.next_attempt_at is not None or waiting[letter.source_key] in linked
    )


def _dependency(letter: DeadLetter) -> str:
    """The customer a letter waits for (an invoice's ``customer_key``); empty when timed."""
    if letter.next_attempt_at is not None:
        return ""
    value = letter.record.get("customer_key")
    return value if isinstance(value, str) else ""


def replay_due(
    store: StateStore,
    report: RunReport,
    pipes: Sequence[PipeConfig],
    dependencies: Mapping[str, str | None],
    replay: Replay,
) -> None:
    """Replay what is due, pipe by pipe in order, into ``report``; skip pipes that stopped."""
    for pipe in pipes:
        current = next((p for p in report.pipes if p.plan.name == pipe.name), None)
        if current is None or current.error is not None:
            continue
        keys = due_keys(store, pipe.name, dependencies.get(pipe.name))
        if not keys:
            continue
        replayed = replay(pipe.name, keys)
        stopped = False
        for part in replayed.pipes:
            current.plan.extend(part.plan, keep_ops=False)
            if part.error is not None:
                current.error, stopped = part.error, True
        if stopped:
            return  # the target is down: the letters keep their time, later pipes wait too
        # A replay that neither wrote nor failed the record (now filtered out) still counts as
        # an attempt: the schedule moves on, so it is never replayed on every sync.
        store.reschedule_dead_letters(pipe.name, keys, replayed.run_id)
