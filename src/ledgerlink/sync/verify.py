"""``sync --verify``: what a sync would change in the books, from what they actually hold.

Reads the CRM (all of it, or ``--since`` a day) and the books' current records (the target's
``read_existing``, not ledgerlink's snapshots), pairs and compares them with the reconcile code,
and reports the records a sync would create (missing) or update (differs, field by field).
Nothing is written to the books, nor to the state's links or cursors: only a run row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from ledgerlink.planning.deletes import modified_since
from ledgerlink.sync.reconcile import read_sides
from ledgerlink.sync.reconcile_compare import compare_pipe
from ledgerlink.sync.reconcile_report import Finding
from ledgerlink.sync.run import Workspace

#: Findings a sync would act on: a create for ``missing``, an update for ``differs``.
CHANGING = ("missing", "differs")


@dataclass(slots=True)
class PipeVerify:
    """One pipe's verdict: the records a sync would change, and how many agree."""

    name: str
    source: str
    target: str
    in_scope: int = 0
    agree: int = 0
    changes: list[Finding] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """``would create``, ``would update`` and ``agree`` for the table and JSON."""
        return {
            "would_create": sum(1 for f in self.changes if f.kind == "missing"),
            "would_update": sum(1 for f in self.changes if f.kind == "differs"),
            "agree": self.agree,
        }

    def to_json(self) -> dict[str, Any]:
        """The pipe as plain JSON, every change with its fields."""
        return {
            "name": self.name,
            "from": self.source,
            "to": self.target,
            "in_scope": self.in_scope,
            **self.counts(),
            "changes": [f.to_json() for f in self.changes],
        }


@dataclass(slots=True)
class VerifyReport:
    """The outcome of ``sync --verify``."""

    run_id: str
    since: date | None
    pipes: list[PipeVerify] = field(default_factory=list)

    @property
    def status(self) -> Literal["agree", "would-change"]:
        """``agree`` when the books already hold what a sync would write."""
        return "would-change" if any(p.changes for p in self.pipes) else "agree"

    @property
    def exit_code(self) -> int:
        """0 when the books agree, 1 when a sync would change something."""
        return 0 if self.status == "agree" else 1

    def to_json(self) -> dict[str, Any]:
        """Exactly the JSON object ``sync --verify --json`` prints."""
        return {
            "run_id": self.run_id,
            "command": "sync --verify",
            "status": self.status,
            "since": self.since.isoformat() if self.since else None,
            "pipes": [p.to_json() for p in self.pipes],
        }


def execute_verify(
    workspace: Workspace,
    *,
    pipes: list[str] | None = None,
    since: date | None = None,
    today: date | None = None,
) -> VerifyReport:
    """Compare what the CRM says the books should hold with what they hold; write nothing."""
    store = workspace.store
    selected = workspace.ordered_pipes(pipes)
    for pipe in selected:  # configuration problems stop the run before anything is read
        workspace.dependency_pipe(pipe)
    run_id = store.start_run("verify")
    report = VerifyReport(run_id, since)
    pairs: dict[str, dict[str, str]] = {}
    today = today or datetime.now(UTC).date()
    keep = None if since is None else (lambda record: modified_since(record, since))
    try:
        for pipe in selected:
            compared = compare_pipe(read_sides(workspace, pipe, today, pairs, keep))
            pairs[pipe.name] = compared.pairs
            found = compared.result
            changes = [f for f in found.findings if f.kind in CHANGING]
            differing = {f.source_key for f in changes if f.kind == "differs"}
            report.pipes.append(
                PipeVerify(
                    pipe.name,
                    pipe.source,
                    pipe.target,
                    in_scope=found.in_source,
                    agree=found.matched - len(differing),
                    changes=changes,
                )
            )
    except BaseException as exc:
        store.finish_run(run_id, "failed", {"command": "verify", "error": str(exc) or "error"})
        raise
    summary = report.to_json()
    for pipe_json in summary["pipes"]:
        pipe_json.pop("changes")
    store.finish_run(run_id, "ok" if report.exit_code == 0 else "partial", summary)
    return report
