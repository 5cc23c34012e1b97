"""``ledgerlink sync --verify``: what a sync would change in the books, as a table or JSON."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ledgerlink.cli.common import err, guarded, open_workspace, out
from ledgerlink.sync.verify import VerifyReport, execute_verify

#: Records listed in the terminal; ``--json`` has them all.
MAX_TERMINAL_CHANGES = 50


def run_verify(config: Path, pipes: list[str] | None, since: date | None, as_json: bool) -> None:
    """Read both sides, print what would change, exit 1 when anything would (0 otherwise)."""
    with open_workspace(config) as workspace, err.status("Reading the CRM and the books…"):
        report = guarded(lambda: execute_verify(workspace, pipes=pipes, since=since))
    if as_json:
        sys.stdout.write(json.dumps(report.to_json()) + "\n")
    else:
        print_verify(out, report)
    raise typer.Exit(report.exit_code)


def print_verify(console: Console, report: VerifyReport) -> None:
    """The per-pipe counts, then each record a sync would change and how."""
    scope = f" since {report.since.isoformat()}" if report.since else ""
    table = Table(title=f"verify {report.run_id}{scope}: {report.status}", title_justify="left")
    table.add_column("pipe")
    for column in ("would create", "would update", "agree"):
        table.add_column(column, justify="right")
    for pipe in report.pipes:
        counts = pipe.counts()
        table.add_row(
            pipe.name,
            f"{counts['would_create']:,}",
            f"{counts['would_update']:,}",
            f"{counts['agree']:,}",
        )
    console.print(table)
    changes = [c for p in report.pipes for c in p.changes]
    if changes:
        detail = Table(title="what sync would change in the books", title_justify="left")
        for column in ("op", "pipe", "record", "details"):
            detail.add_column(column, overflow="fold")
        for change in changes[:MAX_TERMINAL_CHANGES]:
            op = "create" if change.kind == "missing" else "update"
            ids = " → ".join(i for i in (change.source_key, change.target_id) if i)
            what = (
                "\n".join(f"{d.field}: {d.books or '(empty)'} → {d.desired}" for d in change.fields)
                if change.fields
                else change.reason
            )
            detail.add_row(op, change.pipe, Text(f"{change.name}\n{ids}"), Text(what))
        console.print(detail)
        hidden = len(changes) - MAX_TERMINAL_CHANGES
        if hidden > 0:
            console.print(f"… and {hidden:,} more: --json lists them all", highlight=False)
        console.print(
            f"[bold]{len(changes):,} record(s) would change[/bold]; nothing was written",
            highlight=False,
        )
    else:
        console.print("[green]✓[/green] The books already agree; sync would change nothing")
