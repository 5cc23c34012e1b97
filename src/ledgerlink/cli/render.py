"""How plans, runs and dead letters look in a terminal (Rich tables) and as progress on stderr."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ledgerlink.planning.plan import PipePlan, PlannedOp, PlannedReview
from ledgerlink.state.records import DeadLetter, RunRow
from ledgerlink.state.retry_schedule import describe_next
from ledgerlink.sync.run import RunReport

_COUNT_COLUMNS = ("created", "updated", "linked", "unchanged", "skipped", "failed")
_MAX_ROWS = 50


class ProgressObserver:
    """Shows records read per pipe on stderr while a run goes on."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            TextColumn("{task.completed:,} records read"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressObserver:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def pipe_started(self, pipe: str) -> None:
        """Add a line for the pipe."""
        self._tasks[pipe] = self._progress.add_task(pipe, total=None)

    def records_seen(self, pipe: str, count: int) -> None:
        """Advance the pipe's counter."""
        if pipe in self._tasks:
            self._progress.advance(self._tasks[pipe], count)


def print_report(console: Console, report: RunReport, *, verbose: bool = False) -> None:
    """The summary table of a plan or sync, then what would be written and every failure."""
    verb = "would be" if report.command == "plan" else "were"
    table = Table(title=f"{report.command} {report.run_id}: {report.status}", title_justify="left")
    table.add_column("pipe")
    for column in _COUNT_COLUMNS:
        table.add_column(column, justify="right")
    for pipe in report.pipes:
        counts = pipe.plan.counts()
        table.add_row(pipe.plan.name, *(f"{counts[c]:,}" for c in _COUNT_COLUMNS))
    console.print(table)
    for pipe in report.pipes:
        if pipe.plan.source_unchanged:
            console.print(
                f"{pipe.plan.name}: {pipe.plan.source} has not changed since the last sync; "
                "nothing to read (use --full to compare every record anyway)",
                soft_wrap=True,
            )
        if pipe.plan.deleted_in_source:
            console.print(
                f"{pipe.plan.name}: {pipe.plan.deleted_in_source} record(s) were deleted in "
                f"{pipe.plan.source}; the books keep theirs (never synced, or the pipe's "
                "`on_delete:` is ignore)",
                soft_wrap=True,
            )
        if report.command == "plan" and pipe.plan.ops:
            _print_ops(console, pipe.plan.name, pipe.plan.ops, verbose=verbose)
        if pipe.error is not None:
            console.print(
                f"[red]{pipe.plan.name} stopped:[/red] {pipe.error}",
                highlight=False,
                soft_wrap=True,
            )
        _print_two_way(console, pipe.plan, preview=report.command == "plan")
        if pipe.plan.reviews:
            _print_reviews(console, pipe.plan.name, pipe.plan.reviews, report.command == "plan")
        if pipe.plan.failures:
            failures = Table(
                title=f"{pipe.plan.name}: {len(pipe.plan.failures)} record(s) {verb} dead-lettered",
                title_justify="left",
            )
            for column in ("record", "where", "problem", "what to do"):
                failures.add_column(column, overflow="fold")
            for failure in pipe.plan.failures[:_MAX_ROWS]:
                failures.add_row(
                    failure.source_key,
                    failure.location,
                    failure.problem.message,
                    failure.problem.hint or "",
                )
            console.print(failures)
            _more(console, len(pipe.plan.failures))


def _print_two_way(console: Console, plan: PipePlan, *, preview: bool) -> None:
    """Two-way pipes: what goes back to the CRM, and the conflicts left to a person."""
    counts = plan.counts()
    if counts.get("written_back") or counts.get("settled"):
        verb = "would go" if preview else "went"
        console.print(
            f"{plan.name}: {counts.get('written_back', 0)} change(s) from {plan.target} {verb} "
            f"back to {plan.source}; {counts.get('settled', 0)} conflict(s) settled by policy",
            soft_wrap=True,
        )
    if preview and plan.write_backs:
        table = Table(title=f"{plan.name}: back to {plan.source}", title_justify="left")
        for column in ("record", "field", "now", "becomes"):
            table.add_column(column, overflow="fold")
        for write_back in plan.write_backs[:_MAX_ROWS]:
            for change in write_back.changes:
                table.add_row(
                    write_back.source_key,
                    change.field,
                    Text(_value(change.before)),
                    Text(_value(change.after)),
                )
        console.print(table)
    if plan.conflicts:
        table = Table(
            title=f"{plan.name}: {len(plan.conflicts)} field(s) changed on both sides "
            "wait for you (`ledgerlink conflicts list`)",
            title_justify="left",
        )
        for column in ("record", "field", "CRM", "books"):
            table.add_column(column, overflow="fold")
        for conflict in plan.conflicts[:_MAX_ROWS]:
            table.add_row(
                conflict.source_key,
                conflict.field,
                Text(_value(conflict.crm)),
                Text(_value(conflict.books)),
            )
        console.print(table)


def _value(value: object) -> str:
    return "(empty)" if value in (None, "") else str(value)


def _print_reviews(
    console: Console, name: str, reviews: Sequence[PlannedReview], preview: bool
) -> None:
    """Records only nearly matching a customer: nothing is written for them until decided."""
    table = Table(
        title=f"{name}: {len(reviews)} record(s) {'would wait' if preview else 'wait'} for a "
        "match decision; nothing is written for them",
        title_justify="left",
    )
    for column in ("record", "best candidate", "score", "why"):
        table.add_column(column, overflow="fold")
    for review in reviews[:_MAX_ROWS]:
        record: Any = review.record
        best = review.candidates[0] if review.candidates else None
        table.add_row(
            f"{getattr(record, 'display_name', '')} ({review.source_key})",
            f"{best.name} ({best.target_id})" if best else "",
            f"{best.score}%" if best else "",
            best.why if best else "",
        )
    console.print(table)
    _more(console, len(reviews))
    if not preview:
        console.print("Decide with `ledgerlink matches list`, then `matches accept|reject ID`.")


def _print_ops(console: Console, name: str, ops: Sequence[PlannedOp], *, verbose: bool) -> None:
    table = Table(title=f"{name}: what sync would write", title_justify="left")
    for column in ("op", "record", "target", "details"):
        table.add_column(column, overflow="fold")
    for op in ops[: None if verbose else _MAX_ROWS]:
        table.add_row(op.kind, _describe(op), op.target_id or "(new)", _details(op))
    console.print(table)
    if not verbose:
        _more(console, len(ops))


def _describe(op: PlannedOp) -> str:
    record: Any = op.record
    name = getattr(record, "display_name", "") or getattr(record, "memo", "")
    return f"{name} ({op.source_key})" if name else op.source_key


def _details(op: PlannedOp) -> str:
    record: Any = op.record
    if hasattr(record, "total"):
        tax = f", tax {record.tax_total}" if record.tax_total else ""
        note = f"; {op.note}" if op.note else ""
        due = f", due {record.due_date}" if record.due_date else ""
        return f"total {record.total} {record.currency}{tax}{note}{due}; {op.reason}"
    if op.changes:
        return "; ".join(f"{c.field}: {c.before!r} → {c.after!r}" for c in op.changes)
    return op.reason


def _more(console: Console, total: int) -> None:
    if total > _MAX_ROWS:
        console.print(f"… and {total - _MAX_ROWS:,} more (use --json or --verbose for all)")


def print_runs(console: Console, runs: Sequence[RunRow]) -> None:
    """Recent runs, newest first."""
    table = Table(title="recent runs", title_justify="left")
    for column in ("run", "command", "status", "started", "finished", "counts"):
        table.add_column(column, overflow="fold")
    for run in runs:
        table.add_row(
            run.id,
            run.command,
            run.status,
            f"{run.started_at:%Y-%m-%d %H:%M:%S}",
            f"{run.finished_at:%H:%M:%S}" if run.finished_at else "",
            _summary(run.summary),
        )
    console.print(table)


def _summary(summary: dict[str, Any] | None) -> str:
    if not summary:
        return ""
    parts = []
    for pipe in summary.get("pipes", []):
        counts = ", ".join(f"{k} {pipe[k]}" for k in _COUNT_COLUMNS if pipe.get(k))
        parts.append(f"{pipe.get('name')}: {counts or 'nothing'}")
    return "; ".join(parts)


def next_retry(letter: DeadLetter, now: datetime) -> str:
    """When a sync tries the letter again by itself, in words (empty once resolved)."""
    if letter.resolved_at is not None:
        return ""
    return describe_next(letter.stage, letter.kind, letter.next_attempt_at, now)


def print_dead_letters(
    console: Console, letters: Sequence[DeadLetter], nexts: Sequence[str] = ()
) -> None:
    """The dead-letter queue: which record, where, why, what to do, tries and the next retry;
    then each record's fields as ledgerlink last saw them."""
    if not letters:
        console.print("The dead-letter queue is empty.")
        return
    nexts = list(nexts) or [""] * len(letters)
    table = Table(title=f"{len(letters)} dead letter(s)", title_justify="left")
    columns = ("id", "pipe", "record", "where", "stage", "problem", "what to do", "tries", "next")
    for column in columns:
        table.add_column(column, overflow="fold")
    for letter, upcoming in zip(letters, nexts, strict=True):
        table.add_row(
            str(letter.id),
            letter.pipe,
            letter.source_key,
            letter.location or "",
            letter.stage,
            letter.message,
            letter.hint or "",
            str(letter.attempts),
            upcoming,
        )
    console.print(table)
    for letter in letters:
        fields = ", ".join(
            f"{k}={_short(v)}" for k, v in letter.record.items() if v not in ("", None)
        )
        console.print(
            f"#{letter.id} {letter.source_key}: {fields}", highlight=False, soft_wrap=True
        )


def _short(value: object, limit: int = 60) -> str:
    text = (
        json.dumps(value, default=str, ensure_ascii=False) if not isinstance(value, str) else value
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"
