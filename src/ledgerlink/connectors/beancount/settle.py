"""Validate a batch's edits with Beancount, blame failures on their requests, write the rest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ledgerlink.connectors.beancount.ledger import (
    BeancountProblem,
    LedgerSnapshot,
    candidate_file,
    load_entries,
    problems_of,
    replace_with,
)
from ledgerlink.connectors.beancount.text import Edit, LedgerText, Placed
from ledgerlink.errors import RecordError


@dataclass(slots=True)
class Settlement:
    """What became of a batch: the requests Beancount rejected, and the ledger as now written."""

    rejected: dict[int, list[BeancountProblem]] = field(default_factory=dict)
    written: LedgerSnapshot | None = None
    validations: int = 0


@dataclass(frozen=True, slots=True)
class _Trial:
    text: str
    placed: list[Placed]
    problems: list[BeancountProblem]
    temp_name: str


def rejection(problems: Sequence[BeancountProblem], what: str) -> RecordError:
    """The record error for a request whose directive Beancount would not accept."""
    message = "; ".join(p.message for p in problems[:3]) or "the ledger would not load"
    return RecordError(
        f"Beancount rejects this {what}: {message}",
        hint="Nothing was written for it; correct the record in the CRM (or the accounts and "
        "currencies in the ledger) and retry",
    )


def settle(snapshot: LedgerSnapshot, edits: Sequence[Edit]) -> Settlement:
    """Write every edit whose requests Beancount accepts, in one atomic replace of the file.

    The whole new text is validated first. Errors on lines an edit wrote reject that edit's
    requests; errors elsewhere (a person's balance assertion that no longer holds, a plugin)
    are traced by bisection to the first request whose edits make the ledger fail. The loop ends
    with a ledger that loads, which then replaces the file; nothing is written when no request
    is left.
    """
    result = Settlement()
    active = set().union(*(edit.owners for edit in edits)) if edits else set()
    while active:
        trial = _try(snapshot, edits, active, result, commit=True)
        if not trial.problems:
            return result
        blamed = _blame(trial)
        if not blamed:
            culprit, problems = _bisect(snapshot, edits, sorted(active), trial, result)
            blamed = {culprit: problems}
        for owner, problems in blamed.items():
            result.rejected[owner] = problems
        active -= blamed.keys()
    return result


def _chosen(edits: Sequence[Edit], active: set[int]) -> list[Edit]:
    return [edit for edit in edits if edit.owners & active]


def _try(
    snapshot: LedgerSnapshot,
    edits: Sequence[Edit],
    active: set[int],
    result: Settlement,
    *,
    commit: bool,
) -> _Trial:
    """Assemble the text for the ``active`` requests and load it; write it when asked and valid."""
    text, placed = snapshot.text.assemble(_chosen(edits, active))
    result.validations += 1
    with candidate_file(snapshot.path, text) as temp:
        entries, errors, options = load_entries(temp)
        problems = problems_of(errors)
        if commit and not problems:
            replace_with(snapshot.path, temp, snapshot.data if snapshot.exists else None)
            result.written = LedgerSnapshot(
                path=snapshot.path,
                data=text.encode("utf-8"),
                text=LedgerText.parse(text),
                entries=entries,
                options=options,
                main_name=str(temp),
                exists=True,
                includes=snapshot.includes,
            )
    return _Trial(text, placed, problems, str(temp))


def _blame(trial: _Trial) -> dict[int, list[BeancountProblem]]:
    """Requests whose own lines Beancount complains about, with those complaints."""
    blamed: dict[int, list[BeancountProblem]] = {}
    for problem in trial.problems:
        if problem.filename != trial.temp_name:
            continue
        for place in trial.placed:
            if place.first <= problem.lineno <= place.last:
                for owner in place.edit.owners:
                    blamed.setdefault(owner, []).append(problem)
    return blamed


def _bisect(
    snapshot: LedgerSnapshot,
    edits: Sequence[Edit],
    owners: list[int],
    failing: _Trial,
    result: Settlement,
) -> tuple[int, list[BeancountProblem]]:
    """The first request (in batch order) whose edits turn a loading ledger into a failing one.

    Invariant: the first ``low`` requests load (none do, at first: the ledger itself was
    valid), the first ``high`` fail.
    """
    low, high = 0, len(owners)
    problems = failing.problems
    while high - low > 1:
        middle = (low + high) // 2
        trial = _try(snapshot, edits, set(owners[:middle]), result, commit=False)
        if trial.problems:
            high, problems = middle, trial.problems
        else:
            low = middle
    return owners[high - 1], problems
