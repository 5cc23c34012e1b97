"""``ledgerlink reconcile``: where CRM and books disagree, as a table, a CSV, HTML or JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ledgerlink.cli.common import JsonOption, err, guarded, open_workspace, out
from ledgerlink.cli.export import write_csv
from ledgerlink.cli.report_html import render_html
from ledgerlink.errors import (
    ConfigError,
)
from ledgerlink.sync.reconcile import (
    COUNT_LABELS,
    CSV_HEADER,
    FINDING_KINDS,
    Finding,
    ReconcileReport,
    execute_reconcile,
)

#: Findings listed in the terminal; ``--csv`` and ``--html`` have them all.
MAX_TERMINAL_FINDINGS = 50

T = TypeVar("T")
_STYLES = {"missing": "red", "extra": "yellow", "differs": "blue", "paid": "green"}


def reconcile(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Configuration file.", show_default=True)
    ] = Path("ledgerlink.yaml"),
    pipe: Annotated[
        list[str] | None, typer.Option("--pipe", "-p", help="Only this pipe (repeatable).")
    ] = None,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Write every finding to this CSV file.")
    ] = None,
    html_path: Annotated[
        Path | None,
        typer.Option("--html", help="Write a self-contained HTML report (with a chart)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Compare CRM and books: missing, extra and differing records. Writes to neither.

    Exit status: 0 no drift, 1 drift, 2 configuration error, 3 a system could not be read.
    """
    with open_workspace(config) as workspace, err.status("Reading the CRM and the books…"):
        report = guarded(lambda: execute_reconcile(workspace, pipes=pipe))
    if csv_path is not None:
        count = guarded(lambda: _write(csv_path, lambda p: _csv(p, report)))
        err.print(f"Wrote {count:,} row(s) to {csv_path}", highlight=False, soft_wrap=True)
    if html_path is not None:
        guarded(lambda: _write(html_path, lambda p: _html(p, report)))
        err.print(f"Wrote the report to {html_path}", highlight=False, soft_wrap=True)
    if as_json:
        sys.stdout.write(json.dumps(report.to_json()) + "\n")
    else:
        print_reconcile(out, report)
    raise typer.Exit(report.exit_code)


def _write(path: Path, writer: Callable[[Path], int]) -> int:
    """Write an output file; a path that cannot be written is a usage error (exit 2)."""
    try:
        return writer(path)
    except OSError as exc:
        raise ConfigError(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="Choose a path in a folder that exists and that you may write to",
        ) from None


def _csv(path: Path, report: ReconcileReport) -> int:
    return write_csv(path, CSV_HEADER, report.csv_rows())


def _html(path: Path, report: ReconcileReport) -> int:
    page = render_html(report, generated_at=datetime.now(UTC))
    path.write_text(page, encoding="utf-8")
    return len(page)


def print_reconcile(console: Console, report: ReconcileReport) -> None:
    """A summary table per pipe, then the first findings, then the verdict."""
    table = Table(
        title=f"reconcile {report.run_id}: {report.status}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("pipe", no_wrap=True)
    for label in COUNT_LABELS.values():
        table.add_column(label, justify="right")
    for pipe in report.pipes:
        values = pipe.counts().values()
        table.add_row(Text(pipe.name), *(f"{v:,}" for v in values))
    console.print(table)
    findings = list(report.findings())
    if findings:
        _print_findings(console, findings[:MAX_TERMINAL_FINDINGS])
        hidden = len(findings) - MAX_TERMINAL_FINDINGS
        if hidden > 0:
            console.print(
                f"… and {hidden:,} more finding(s): --csv PATH or --html PATH lists them all",
                highlight=False,
            )
    failed = sum(p.failed for p in report.pipes)
    if failed:
        console.print(
            f"{failed:,} CRM record(s) could not be read or mapped and were not compared: "
            "`ledgerlink plan` shows why",
            highlight=False,
            soft_wrap=True,
        )
    if report.drift:
        counts = {k: sum(p.count(k) for p in report.pipes) for k in FINDING_KINDS}
        console.print(
            f"[bold red]Drift:[/bold red] {counts['missing']:,} missing from the books, "
            f"{counts['extra']:,} extra in the books, {counts['differs']:,} differ",
            highlight=False,
        )
    else:
        console.print("[green]✓[/green] No drift: the books agree with the CRM", highlight=False)


def _print_findings(console: Console, findings: list[Finding]) -> None:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("finding", no_wrap=True)
    table.add_column("pipe", no_wrap=True)
    table.add_column("record", overflow="fold", ratio=1)
    table.add_column("what", overflow="fold", ratio=2)
    for finding in findings:
        ids = " → ".join(i for i in (finding.source_key, finding.target_id) if i)
        table.add_row(
            Text(finding.kind, style=_STYLES[finding.kind]),
            Text(finding.pipe),
            Text(f"{finding.name}\n{ids}" if ids else finding.name),
            Text(_what(finding)),
        )
    console.print(table)


def _what(finding: Finding) -> str:
    """The fields and both values, or the reason for a record that has no counterpart."""
    if not finding.fields:
        return finding.reason
    return "\n".join(
        f"{d.field}: {d.books or '(empty)'} in the books, {d.desired or '(empty)'} from the CRM"
        for d in finding.fields
    )
