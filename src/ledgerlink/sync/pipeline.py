"""One pipe end to end: read, map, match, diff, plan, execute, commit; chunk by chunk."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Protocol

from ledgerlink.canonical.records import Change, Customer, Deal, Invoice, ReadFailure, Record
from ledgerlink.canonical.serialise import customer_from_snapshot, to_jsonable, version_number
from ledgerlink.compact import Int64Map
from ledgerlink.config.model import PipeConfig
from ledgerlink.connectors.base import InvoiceDescriber, SourceConnector, TargetConnector
from ledgerlink.errors import Problem, RecordError
from ledgerlink.execution.executor import PlanExecutor
from ledgerlink.mapping.apply import Mapper
from ledgerlink.mapping.defaults import InvoiceRules
from ledgerlink.matching.match import MatchIndex
from ledgerlink.planning.deletes import modified_since
from ledgerlink.planning.plan import PipePlan, PlannedFailure
from ledgerlink.planning.planner import RecordPlanner
from ledgerlink.state.records import BatchCommit, Link
from ledgerlink.state.store import StateStore
from ledgerlink.sync.removals import RemovalStep
from ledgerlink.sync.twoway import TwoWaySync

CHUNK_SIZE = 2_000


class RunObserver(Protocol):
    """Receives progress while pipes run (the CLI draws progress bars with it)."""

    def pipe_started(self, pipe: str) -> None:
        """A pipe begins reading."""

    def records_seen(self, pipe: str, count: int) -> None:
        """``count`` more source records were read."""


@dataclass(slots=True)
class PipeRun:
    """The inputs one pipe run needs; built by ``sync.run``, the composition root."""

    pipe: PipeConfig
    source: SourceConnector
    target: TargetConnector
    store: StateStore
    run_id: str
    today: date
    dependency_pipe: str | None
    observer: RunObserver
    dry_run: bool = False
    full: bool = False
    only_keys: frozenset[str] | None = None
    planned_dependencies: Mapping[str, Record] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    since: date | None = None
    relinked: dict[str, Link] = field(default_factory=dict)
    plan: PipePlan = field(init=False)
    seen_keys: set[str] = field(default_factory=set)
    two_way: TwoWaySync | None = None

    def __post_init__(self) -> None:
        self.plan = PipePlan(self.pipe.name, self.pipe.source, self.pipe.target)


def run_pipe(run: PipeRun) -> PipePlan:
    """Run one pipe; return its plan (in a dry run) or what was executed (counts and failures)."""
    pipe, store = run.pipe, run.store
    caps = run.target.capabilities()
    mapper = Mapper(
        pipe.source_stream,
        pipe.target_stream,
        pipe.mapping(),
        InvoiceRules(caps.rounding, caps.tax_mode, pipe.payment_terms_days),
    )
    same_mapping = store.get_fingerprint(pipe.name) == mapper.fingerprint
    incremental = same_mapping and not run.full and run.only_keys is None
    if incremental and store.count_waiting_decisions(pipe.name):
        incremental = False  # a decided match review waits for its record, which is unchanged
    cursor = store.get_cursor(pipe.name, pipe.source_stream) if incremental else None
    versions = store.load_version_digests(pipe.name) if same_mapping else Int64Map()
    planner = RecordPlanner(pipe.name, pipe.target_stream, lambda: _match_index(run))
    executor = (
        None
        if run.dry_run
        else PlanExecutor(
            store=store,
            target=run.target,
            run_id=run.run_id,
            pipe=pipe.name,
            dependency_pipe=run.dependency_pipe,
            sleep=run.sleep,
        )
    )
    run.observer.pipe_started(pipe.name)
    run.two_way = TwoWaySync.start(
        pipe,
        source=run.source,
        target=run.target,
        store=store,
        run_id=run.run_id,
        dry_run=run.dry_run,
        full=run.full,
        sleep=run.sleep,
        only_keys=run.only_keys,
    )
    read = run.source.read(pipe.source_stream, cursor)
    pending: list[Change] = []
    removed: list[Change] = []
    removals = RemovalStep(pipe, store, run.target, run.run_id, run.dry_run, run.relinked)
    chunk = PipePlan(pipe.name, pipe.source, pipe.target)
    seen = 0
    for item in read:
        seen += 1
        if seen % 1000 == 0:
            run.observer.records_seen(pipe.name, 1000)
        if run.only_keys is not None:
            if item.key not in run.only_keys:
                continue
            run.seen_keys.add(item.key)
        if isinstance(item, ReadFailure):
            chunk.failures.append(_read_failure(pipe.name, item))
            continue
        if item.deleted:
            # planned before the chunk's other records, so a merge's survivor finds its link
            removed.append(item)
            continue
        if versions.get(hash(item.key)) == version_number(item.version):
            chunk.unchanged += 1
            continue
        pending.append(item)
        if len(pending) >= CHUNK_SIZE:
            removals.plan(removed, chunk)
            removed = []
            _plan_chunk(run, mapper, planner, pending, chunk)
            _finish_chunk(run, executor, chunk)
            pending, chunk = [], PipePlan(pipe.name, pipe.source, pipe.target)
    run.observer.records_seen(pipe.name, seen % 1000)
    removals.plan(removed, chunk)
    _plan_chunk(run, mapper, planner, pending, chunk)
    _finish_chunk(run, executor, chunk)
    if run.two_way is not None:
        chunk = PipePlan(pipe.name, pipe.source, pipe.target)
        run.two_way.plan_books_only(chunk)
        _finish_chunk(run, executor, chunk)
    next_cursor = read.cursor()
    run.plan.source_unchanged = cursor is not None and seen == 0 and next_cursor == cursor
    if executor is not None and run.only_keys is None:
        store.commit_batch(
            BatchCommit(
                run_id=run.run_id,
                pipe=pipe.name,
                # a --since slice read only part of the source: its cursor would skip the rest
                cursor=(pipe.source_stream, next_cursor)
                if next_cursor is not None and run.since is None
                else None,
                fingerprint=mapper.fingerprint,
            )
        )
        if run.two_way is not None:
            run.two_way.commit_cursor(run.run_id)
    return run.plan


def _match_index(run: PipeRun) -> MatchIndex:
    """What the target already holds, for records with no link yet; read only when it can matter.

    Customers are always matched (a contact may exist in the books by hand). Invoices are
    matched on a pipe's first sync, and after a run that may have stopped between a write and
    its state commit (pending intents): the stamp ledgerlink put on the record then finds it.
    Otherwise a new deal is a new invoice, and reading every invoice of the books is skipped.
    """
    pipe, store = run.pipe, run.store
    first_sync = store.count_links(pipe.name) == 0
    if pipe.target_stream == "invoices" and not first_sync and not store.pending_intents(pipe.name):
        return MatchIndex()
    fuzzy = pipe.target_stream == "customers"
    return MatchIndex.of(run.target.read_existing(pipe.target_stream), fuzzy=fuzzy)


def _finish_chunk(run: PipeRun, executor: PlanExecutor | None, chunk: PipePlan) -> None:
    """Execute a planned chunk (unless previewing); the pipe's plan then shows what happened."""
    if run.two_way is not None:
        run.two_way.execute(chunk)
    if executor is not None:
        chunk.failures = executor.execute(chunk)
        failed = {f.source_key for f in chunk.failures}
        chunk.ops = [op for op in chunk.ops if op.source_key not in failed]
    if run.two_way is not None:
        run.two_way.executed(chunk)
    run.plan.extend(chunk, keep_ops=executor is None)


def _plan_chunk(
    run: PipeRun,
    mapper: Mapper,
    planner: RecordPlanner,
    changes: Sequence[Change],
    chunk: PipePlan,
) -> None:
    if not changes:
        return
    loaded: list[tuple[Change, Record]] = []
    for change in changes:
        try:
            loaded.append((change, change.load()))
        except RecordError as exc:
            chunk.failures.append(_failure(run.pipe.name, change, "read", exc, dict(change.raw)))
    if run.since is not None:
        kept = [(c, r) for c, r in loaded if modified_since(r, run.since)]
        chunk.filtered += len(loaded) - len(kept)
        loaded = kept
    aliases = [(alias, c.key) for c, _ in loaded for alias in c.aliases]
    if aliases and not run.dry_run:
        run.store.record_aliases(run.pipe.name, aliases)
    links = run.store.get_links(run.pipe.name, [c.key for c, _ in loaded])
    links.update({c.key: run.relinked[c.key] for c, _ in loaded if c.key in run.relinked})
    reviews = run.store.get_reviews(run.pipe.name, [c.key for c, _ in loaded if c.key not in links])
    terms = _customer_terms(run, [r for _, r in loaded])
    for change, record in loaded:
        try:
            desired = mapper.map(record, today=run.today, customer_terms=terms)
        except RecordError as exc:
            chunk.failures.append(_failure(run.pipe.name, change, "map", exc, to_jsonable(record)))
            continue
        if desired is None:
            chunk.filtered += 1
            continue
        link = links.get(change.key)
        if run.two_way is not None and link is not None:
            run.two_way.planner.plan_changed(
                chunk,
                key=change.key,
                location=change.location,
                version=version_number(change.version),
                source=record,
                desired=desired,
                link=link,
                updated_at=change.updated_at,
            )
            continue
        planner.plan(
            chunk,
            key=change.key,
            location=change.location,
            version=version_number(change.version),
            desired=desired,
            link=links.get(change.key),
            review=reviews.get(change.key),
        )
    if run.dry_run:
        _check_dependencies_for_preview(run, chunk)
        _describe_invoices(run, chunk)


def _customer_terms(run: PipeRun, records: Iterable[Record]) -> Callable[[str], int | None]:
    """Payment terms of the customers these deals point to, from their last-written snapshots."""
    keys = {r.contact_key for r in records if isinstance(r, Deal)}
    if not keys or run.dependency_pipe is None:
        return lambda _key: None
    links = run.store.get_links(run.dependency_pipe, keys)

    def terms(key: str) -> int | None:
        link = links.get(key)
        value = link.snapshot.get("payment_terms_days") if link else None
        return int(value) if isinstance(value, int | str) and str(value).isdigit() else None

    return terms


def _check_dependencies_for_preview(run: PipeRun, chunk: PipePlan) -> None:
    """In a plan, an invoice whose customer is neither in the books nor planned will fail."""
    wanted = {op.depends_on for op in chunk.ops if op.depends_on}
    if not wanted or run.dependency_pipe is None:
        return
    linked = set(run.store.get_links(run.dependency_pipe, wanted))
    available = linked | set(run.planned_dependencies)
    kept = []
    for op in chunk.ops:
        if op.depends_on and op.depends_on not in available:
            chunk.failures.append(
                PlannedFailure(
                    op.pipe,
                    op.source_key,
                    op.location,
                    "plan",
                    Problem(
                        "record",
                        f"its customer {op.depends_on!r} is not in the books and this run "
                        "would not create it",
                        hint="Check the deal's contact, and that contact's own problems above",
                    ),
                    to_jsonable(op.record),
                )
            )
        else:
            kept.append(op)
    chunk.ops = kept


def _describe_invoices(run: PipeRun, chunk: PipePlan) -> None:
    """Let a target that can (Tally's GST split) say how it will book each planned invoice."""
    if not isinstance(run.target, InvoiceDescriber) or run.dependency_pipe is None:
        return
    wanted = {op.depends_on for op in chunk.ops if op.depends_on}
    links = run.store.get_links(run.dependency_pipe, wanted) if wanted else {}
    described = []
    for op in chunk.ops:
        customer = run.planned_dependencies.get(op.depends_on or "")
        if customer is None and op.depends_on in links:
            customer = customer_from_snapshot(links[op.depends_on].snapshot)
        if isinstance(op.record, Invoice) and isinstance(customer, Customer | None):
            note = run.target.describe_invoice(op.record, customer)
            described.append(replace(op, note=note))
        else:
            described.append(op)
    chunk.ops = described


def _failure(
    pipe: str, change: Change, stage: str, error: RecordError, record: dict[str, object]
) -> PlannedFailure:
    return PlannedFailure(
        pipe,
        change.key,
        change.location,
        "read" if stage == "read" else "map",
        Problem.from_error(error),
        record,
    )


def _read_failure(pipe: str, item: ReadFailure) -> PlannedFailure:
    return PlannedFailure(
        pipe, item.key, item.location, "read", Problem.from_error(item.error), dict(item.raw)
    )
