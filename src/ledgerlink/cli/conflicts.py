"""``ledgerlink conflicts list|resolve``: fields both systems changed that a person settles."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ledgerlink.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    err,
    guarded,
    open_workspace,
    out,
)
from ledgerlink.errors import LedgerlinkError
from ledgerlink.state.records import ConflictRow
from ledgerlink.sync.conflicts import Keep, parse_value, resolve_conflict

conflicts_app = typer.Typer(
    help="Two-way pipes: fields changed differently in the CRM and in the books.",
    no_args_is_help=True,
)


def _shown(value: Any) -> str:
    return "(empty)" if value in (None, "") else json.dumps(value, default=str).strip('"')


def _json(row: ConflictRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "pipe": row.pipe,
        "source_key": row.source_key,
        "target_id": row.target_id,
        "field": row.field,
        "base": row.base,
        "crm": row.crm,
        "books": row.books,
        "detected_at": row.detected_at,
        "resolved_at": row.resolved_at,
        "resolution": row.resolution,
        "resolved_value": row.resolved_value,
    }


@conflicts_app.command("list")
def conflicts_list(
    config: ConfigOption = DEFAULT_CONFIG,
    pipe: Annotated[str | None, typer.Option("--pipe", "-p", help="Only this pipe.")] = None,
    resolved: Annotated[bool, typer.Option(help="Include resolved conflicts.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Queued conflicts: the record, the field, the last agreed value and each side's."""
    with open_workspace(config) as workspace:
        rows = workspace.store.list_conflicts(pipe, include_resolved=resolved)
    if as_json:
        sys.stdout.write(json.dumps([_json(r) for r in rows], default=str) + "\n")
        return
    if not rows:
        out.print("No conflicts are waiting.")
        return
    table = Table(title=f"{len(rows)} conflict(s)", title_justify="left")
    for column in ("id", "pipe", "record", "field", "was", "CRM now", "books now", "resolved"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row.id),
            row.pipe,
            f"{row.source_key} ↔ {row.target_id}",
            row.field,
            Text(_shown(row.base)),
            Text(_shown(row.crm)),
            Text(_shown(row.books)),
            f"{row.resolution}: {_shown(row.resolved_value)}" if row.resolved_at else "",
        )
    out.print(table)
    if any(r.resolved_at is None for r in rows):
        out.print(
            "Settle one with `ledgerlink conflicts resolve ID --keep crm|books` or `--value VALUE`."
        )


@conflicts_app.command("resolve")
def conflicts_resolve(
    conflict_id: Annotated[int, typer.Argument(help="The conflict's id (see `conflicts list`).")],
    keep: Annotated[
        str | None, typer.Option("--keep", help="crm or books: whose value both get.")
    ] = None,
    value: Annotated[
        str | None, typer.Option("--value", help="A new value for both (JSON or text).")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Write one value to both systems and close the conflict (audited)."""
    if (keep is None) == (value is None) or keep not in (None, "crm", "books"):
        err.print("Give exactly one of --keep crm, --keep books or --value VALUE.")
        raise typer.Exit(2)
    choice: Keep = "value" if keep is None else ("crm" if keep == "crm" else "books")
    with open_workspace(config) as workspace:
        try:
            row = guarded(
                lambda: resolve_conflict(
                    workspace,
                    conflict_id,
                    choice,
                    parse_value(value) if value is not None else None,
                )
            )
        except typer.Exit:
            raise
        except LedgerlinkError as exc:
            err.print(Text(f"not resolved: {exc}"))
            raise typer.Exit(1) from None
    kept = {"crm": row.crm, "books": row.books}.get(choice, parse_value(value or ""))
    out.print(
        Text(
            f"✓ conflict {row.id} resolved: {row.field} of {row.source_key} is now "
            f"{_shown(kept)} in both systems"
        )
    )
