"""``ledgerlink matches``: the first-sync match review queue: list, accept, reject."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ledgerlink.cli.common import DEFAULT_CONFIG, ConfigOption, JsonOption, err, open_workspace, out
from ledgerlink.state.records import MatchReview, ReviewDecision
from ledgerlink.state.reviews import ReviewError
from ledgerlink.sync.run import Workspace

matches_app = typer.Typer(
    help="Records that only nearly match a customer in the books: accept a candidate or reject.",
    no_args_is_help=True,
)


@matches_app.command("list")
def matches_list(
    config: ConfigOption = DEFAULT_CONFIG,
    pipe: Annotated[str | None, typer.Option("--pipe", "-p", help="Only this pipe.")] = None,
    include_decided: Annotated[
        bool, typer.Option("--all", help="Include accepted and rejected reviews.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Records waiting for a match decision, with each candidate's score and why."""
    with open_workspace(config) as workspace:
        reviews = workspace.store.list_reviews(pipe, include_decided=include_decided)
    if as_json:
        sys.stdout.write(json.dumps([_review_json(r) for r in reviews], default=str) + "\n")
        return
    print_reviews(out, reviews)


@matches_app.command("accept")
def matches_accept(
    review_id: Annotated[int, typer.Argument(help="The review's id (`ledgerlink matches list`).")],
    candidate: Annotated[
        str | None,
        typer.Option("--candidate", help="Target id of the candidate; the best one if omitted."),
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Accept a candidate: the next sync links the record to it and writes nothing."""
    with open_workspace(config) as workspace:
        review = _decide(workspace, review_id, "accept", candidate)
    chosen = next((c for c in review.candidates if c.get("target_id") == review.target_id), {})
    out.print(
        Text(
            f"Accepted: {_summary(review)} is {chosen.get('name', '')} ({review.target_id}) "
            "in the books. The next `ledgerlink sync` links them; nothing is written."
        ),
        soft_wrap=True,
    )


@matches_app.command("reject")
def matches_reject(
    review_id: Annotated[int, typer.Argument(help="The review's id (`ledgerlink matches list`).")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Reject every candidate: the next sync creates the record as a new customer."""
    with open_workspace(config) as workspace:
        review = _decide(workspace, review_id, "reject", None)
    out.print(
        Text(
            f"Rejected: {_summary(review)} is none of the candidates. "
            "The next `ledgerlink sync` creates it."
        ),
        soft_wrap=True,
    )


def _decide(
    workspace: Workspace, review_id: int, decision: ReviewDecision, candidate: str | None
) -> MatchReview:
    """Take the decision; one that cannot be taken is a usage error (exit 2) that says why."""
    try:
        return workspace.store.decide_review(review_id, decision, target_id=candidate, by=_user())
    except ReviewError as exc:
        err.print("[bold red]cannot decide:[/bold red] ", end="", highlight=False)
        err.print(Text(f"{exc.message}\n{exc.hint}"), highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _user() -> str | None:
    """Who decided, for the audit trail (the login name, when the system knows it)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


def print_reviews(console: Console, reviews: Sequence[MatchReview]) -> None:
    """The review queue as a table: which record, which candidates, how alike, why."""
    if not reviews:
        console.print("No record is waiting for a match decision.")
        return
    table = Table(title=f"{len(reviews)} match review(s)", title_justify="left")
    for column in ("id", "pipe", "record", "candidates: name, score, target id, why", "status"):
        table.add_column(column, overflow="fold")
    for review in reviews:
        candidates = "\n".join(
            f"{c.get('name')}  {c.get('score')}%\n  {c.get('target_id')}\n  {c.get('why')}"
            for c in review.candidates
        )
        table.add_row(
            str(review.id),
            review.pipe,
            Text(_summary(review, one_line=False)),
            Text(candidates),
            _status(review),
        )
    console.print(table)
    if any(r.is_open for r in reviews):
        console.print(
            "Decide with `ledgerlink matches accept ID [--candidate TARGET_ID]` or "
            "`ledgerlink matches reject ID`; the next sync acts on it.",
            soft_wrap=True,
        )


def _summary(review: MatchReview, *, one_line: bool = True) -> str:
    record = review.record
    name = str(record.get("display_name") or "")
    email = str(record.get("email") or "")
    head = f"{name} ({review.source_key})" if name else review.source_key
    if not email:
        return head
    return f"{head} <{email}>" if one_line else f"{head}\n{email}"


def _status(review: MatchReview) -> str:
    if review.decision is None:
        return "open"
    decided = f"{review.decided_at:%Y-%m-%d}" if review.decided_at else ""
    target = f" → {review.target_id}" if review.target_id else ""
    return f"{review.decision}ed{target} {decided}".strip()


def _review_json(review: MatchReview) -> dict[str, Any]:
    return {
        "id": review.id,
        "pipe": review.pipe,
        "source_key": review.source_key,
        "location": review.location,
        "record": review.record,
        "candidates": review.candidates,
        "run_id": review.run_id,
        "created_at": review.created_at,
        "decision": review.decision,
        "decided_at": review.decided_at,
        "target_id": review.target_id,
    }
