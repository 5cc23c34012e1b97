"""The ``ledgerlink`` command line: the user contract of DESIGN.md, one function per command."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ledgerlink.cli import render
from ledgerlink.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    err,
    fail,
    guarded,
    open_workspace,
    out,
)
from ledgerlink.cli.conflicts import conflicts_app
from ledgerlink.cli.export import write_csv
from ledgerlink.cli.matches import matches_app
from ledgerlink.cli.reconcile import reconcile
from ledgerlink.cli.starter import STARTER_CONFIG
from ledgerlink.cli.verify import run_verify
from ledgerlink.config.model import config_schema
from ledgerlink.errors import ConfigError, LedgerlinkError
from ledgerlink.state.records import AuditEntry
from ledgerlink.sync.run import RunReport, execute_run

app = typer.Typer(
    help="Keep your CRM and your books in agreement: preview, sync, audit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Configuration tools.", no_args_is_help=True)
dlq_app = typer.Typer(
    help="The dead-letter queue: records that could not be synced.", no_args_is_help=True
)
audit_app = typer.Typer(help="The append-only, hash-chained audit trail.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(dlq_app, name="dlq")
app.add_typer(audit_app, name="audit")
app.add_typer(conflicts_app, name="conflicts")
app.add_typer(matches_app, name="matches")
app.command()(reconcile)

PipeOption = Annotated[
    list[str] | None, typer.Option("--pipe", "-p", help="Only this pipe (repeatable).")
]
T = TypeVar("T")


def main() -> None:
    """Console-script entry point."""
    app()


def _finish(report: RunReport, as_json: bool, verbose: bool = False) -> None:
    if as_json:
        sys.stdout.write(json.dumps(report.to_json(), default=str) + "\n")
    else:
        render.print_report(out, report, verbose=verbose)
    raise typer.Exit(report.exit_code)


def _run(
    config: Path,
    command: Any,
    pipes: list[str] | None,
    *,
    full: bool,
    as_json: bool,
    verbose: bool,
    since: datetime | None = None,
) -> None:
    with open_workspace(config) as workspace:
        with render.ProgressObserver(err) as observer:
            report = guarded(
                lambda: execute_run(
                    workspace,
                    command=command,
                    pipes=pipes,
                    full=full,
                    observer=observer,
                    since=since.date() if since else None,
                )
            )
        _finish(report, as_json, verbose)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to write ledgerlink.yaml.")] = Path(),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter configuration."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "ledgerlink.yaml"
    if target.exists() and not force:
        raise fail(ConfigError(f"{target} already exists", hint="Pass --force to overwrite it"))
    target.write_text(STARTER_CONFIG, encoding="utf-8")
    out.print(f"Wrote {target}. Edit its paths, then run `ledgerlink check` and `ledgerlink plan`.")


@app.command()
def check(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Validate the configuration and reach every connection."""
    with open_workspace(config) as workspace:
        out.print(f"[green]✓[/green] {config} is valid ({len(workspace.config.pipes)} pipes)")
        failed = False
        for name in workspace.config.connections:
            try:
                description = workspace.connector(name).check()
                out.print(
                    f"[green]✓[/green] {name}: {description}", highlight=False, soft_wrap=True
                )
            except LedgerlinkError as exc:
                failed = True
                out.print(f"[red]✗[/red] {name}: {exc}", highlight=False, soft_wrap=True)
        if failed:
            raise typer.Exit(3)


@config_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of ledgerlink.yaml (for editor completion)."""
    sys.stdout.write(json.dumps(config_schema(), indent=2) + "\n")


@app.command()
def plan(
    config: ConfigOption = DEFAULT_CONFIG,
    pipe: PipeOption = None,
    full: Annotated[bool, typer.Option(help="Plan from all records, not only changes.")] = False,
    as_json: JsonOption = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List every op.")] = False,
) -> None:
    """Dry run: what sync would create, update, link and skip, and why. Writes nothing."""
    _run(config, "plan", pipe, full=full, as_json=as_json, verbose=verbose)


@app.command()
def sync(
    config: ConfigOption = DEFAULT_CONFIG,
    pipe: PipeOption = None,
    full: Annotated[bool, typer.Option(help="Re-read everything, ignoring cursors.")] = False,
    as_json: JsonOption = False,
    *,
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Only records modified (deals: closed) on or after this day (YYYY-MM-DD).",
        ),
    ] = None,
    verify: Annotated[
        bool,
        typer.Option(
            help="Write nothing: compare with what the books hold, list what would change "
            "(exit 1 if anything would, 0 if the books agree)."
        ),
    ] = False,
) -> None:
    """Run the pipes: incremental by default; exit 1 when records were dead-lettered."""
    if verify:
        run_verify(config, pipe, since.date() if since else None, as_json)
    _run(config, "sync", pipe, full=full, as_json=as_json, verbose=False, since=since)


@app.command()
def status(config: ConfigOption = DEFAULT_CONFIG, as_json: JsonOption = False) -> None:
    """The last run, links per pipe, what waits for you (dead letters, conflicts, match
    reviews) and cursors."""
    with open_workspace(config) as workspace:
        store = workspace.store
        runs = store.list_runs(limit=1)
        pipes = [
            {
                "name": p.name,
                "from": p.source,
                "to": p.target,
                "links": store.count_links(p.name),
                "dead_letters": len(store.list_dead_letters(p.name)),
                "conflicts": len(store.list_conflicts(p.name)),
                "match_reviews": len(store.list_reviews(p.name)),
                "cursor": store.get_cursor(p.name, p.source_stream),
            }
            for p in workspace.config.pipes
        ]
        last = runs[0] if runs else None
        if as_json:
            payload = {
                "last_run": last.id if last else None,
                "status": last.status if last else None,
                "pipes": pipes,
            }
            sys.stdout.write(json.dumps(payload, default=str) + "\n")
            return
        if last is None:
            out.print("No run yet: try `ledgerlink plan`, then `ledgerlink sync`.")
        else:
            render.print_runs(out, runs)
        for p in pipes:
            waiting = "".join(
                f", {p[key]} {label}"
                for key, label in (
                    ("conflicts", "conflict(s) to resolve"),
                    ("match_reviews", "match(es) to review"),
                )
                if p[key]
            )
            out.print(
                f"{p['name']} ({p['from']} → {p['to']}): {p['links']:,} linked, "
                f"{p['dead_letters']} dead letter(s){waiting}, cursor {p['cursor'] or '(none)'}",
                highlight=False,
            )


@app.command()
def runs(
    config: ConfigOption = DEFAULT_CONFIG,
    limit: Annotated[int, typer.Option(help="How many runs.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Recent runs with their counts."""
    with open_workspace(config) as workspace:
        rows = workspace.store.list_runs(limit=limit)
        if as_json:
            data = [
                {
                    "id": r.id,
                    "command": r.command,
                    "status": r.status,
                    "started_at": r.started_at,
                    "finished_at": r.finished_at,
                    "summary": r.summary,
                }
                for r in rows
            ]
            sys.stdout.write(json.dumps(data, default=str) + "\n")
            return
        render.print_runs(out, rows)


@dlq_app.command("list")
def dlq_list(
    config: ConfigOption = DEFAULT_CONFIG,
    pipe: Annotated[str | None, typer.Option("--pipe", "-p", help="Only this pipe.")] = None,
    resolved: Annotated[bool, typer.Option(help="Include resolved entries.")] = False,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Also write them to a CSV file.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Dead letters: which record, where, why, and what to do."""
    with open_workspace(config) as workspace:
        letters = workspace.store.list_dead_letters(pipe, include_resolved=resolved)
        now = workspace.store.now()
        nexts = [render.next_retry(d, now) for d in letters]
        if csv_path is not None:
            header = (
                "id", "pipe", "record", "where", "stage", "problem", "what to do", "tries",
                "next retry",
            )  # fmt: skip
            rows = [
                (d.id, d.pipe, d.source_key, d.location, d.stage, d.message, d.hint, d.attempts, n)
                for d, n in zip(letters, nexts, strict=True)
            ]
            write_csv(csv_path, header, rows)
            err.print(f"Wrote {len(rows)} dead letter(s) to {csv_path}")
        if as_json:
            data = [
                {
                    "id": d.id,
                    "pipe": d.pipe,
                    "source_key": d.source_key,
                    "location": d.location,
                    "stage": d.stage,
                    "kind": d.kind,
                    "message": d.message,
                    "hint": d.hint,
                    "record": d.record,
                    "attempts": d.attempts,
                    "first_seen": d.first_seen,
                    "last_seen": d.last_seen,
                    "next_attempt_at": d.next_attempt_at,
                    "next_retry": n,
                    "resolved_at": d.resolved_at,
                    "resolution": d.resolution,
                }
                for d, n in zip(letters, nexts, strict=True)
            ]
            sys.stdout.write(json.dumps(data, default=str) + "\n")
            return
        render.print_dead_letters(out, letters, nexts)


@dlq_app.command("retry")
def dlq_retry(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Dead-letter ids; all open ones if omitted.")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
) -> None:
    """Replay dead letters after a fix: re-read those records from the source and sync them."""
    with open_workspace(config) as workspace:
        store = workspace.store
        letters = store.get_dead_letters(ids) if ids else store.list_dead_letters()
        letters = [d for d in letters if d.resolved_at is None]
        if not letters:
            err.print("Nothing to retry: the dead-letter queue has no open entries.")
            raise typer.Exit(0)
        only: dict[str, set[str]] = {}
        for letter in letters:
            only.setdefault(letter.pipe, set()).add(letter.source_key)
        keys = {pipe: frozenset(k) for pipe, k in only.items()}
        with render.ProgressObserver(err) as observer:
            report = guarded(
                lambda: execute_run(
                    workspace,
                    command="dlq retry",
                    pipes=sorted(keys),
                    only_keys=keys,
                    observer=observer,
                )
            )
        _finish(report, as_json)


@audit_app.command("verify")
def audit_verify(config: ConfigOption = DEFAULT_CONFIG, as_json: JsonOption = False) -> None:
    """Check the audit chain; names the first entry that was altered or removed (exit 1)."""
    with open_workspace(config) as workspace:
        verdict = workspace.store.verify_audit()
    if as_json:
        payload = {
            "ok": verdict.ok,
            "checked": verdict.checked,
            "first_bad_seq": verdict.first_bad_seq,
            "reason": verdict.reason,
        }
        sys.stdout.write(json.dumps(payload) + "\n")
    elif verdict.ok:
        out.print(f"[green]✓[/green] audit trail intact: {verdict.checked:,} entries verified")
    else:
        out.print(
            f"[red]✗[/red] audit trail broken at entry {verdict.first_bad_seq}: {verdict.reason}",
            soft_wrap=True,
        )
    raise typer.Exit(0 if verdict.ok else 1)


@audit_app.command("export")
def audit_export(
    path: Annotated[Path, typer.Argument(help="CSV file to write.")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Write the audit trail as CSV for an accountant (cells are formula-safe)."""
    header = (
        "seq", "at", "run", "pipe", "action", "source record", "target record",
        "before", "after", "idempotency key", "hash",
    )  # fmt: skip
    with open_workspace(config) as workspace:
        rows = (_audit_row(e) for e in workspace.store.iter_audit())
        count = write_csv(path, header, rows)
    err.print(f"Wrote {count:,} audit entries to {path}")


def _audit_row(entry: AuditEntry) -> tuple[object, ...]:
    def as_text(value: dict[str, Any] | None) -> str:
        return "" if value is None else json.dumps(value, sort_keys=True)

    return (
        entry.seq,
        entry.at.isoformat(),
        entry.run_id,
        entry.pipe,
        entry.action,
        entry.source_key,
        entry.target_id,
        as_text(entry.before),
        as_text(entry.after),
        entry.idempotency_key,
        entry.hash,
    )


@app.command()
def demo(
    directory: Annotated[Path, typer.Argument(help="Workspace to create.")] = Path(
        "ledgerlink-demo"
    ),
) -> None:
    """The whole main job on bundled sample data, into a Beancount ledger, in seconds."""
    from ledgerlink.cli.demo import run_demo  # noqa: PLC0415 - only this command needs it

    raise typer.Exit(guarded(lambda: run_demo(directory, out)))
