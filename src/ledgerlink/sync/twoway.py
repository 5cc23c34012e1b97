"""Two-way pipes: what changed in the books, merged with what changed in the CRM, record by record.

A run of a two-way pipe first reads the books' changes since its books cursor (only records
ledgerlink has linked are in scope; the rest are counted). Each CRM record read as changed is then
merged with its books side (``planning.merge``); books changes whose CRM record did not change are
merged at the end. A merge yields an update of the books (the executor's usual op), a write-back
to the CRM (``WriteBack``), and conflicts (settled by policy or queued).

The books cursor only moves on when every books change read was carried through: if a write-back
or its books update failed, the same changes are read and merged again by the next run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledgerlink.canonical.records import Change, Contact, Deal, ReadFailure, Record
from ledgerlink.canonical.restore import customer_from_json, invoice_from_json
from ledgerlink.canonical.serialise import record_digest, to_jsonable
from ledgerlink.config.model import PipeConfig
from ledgerlink.connectors.base import SourceConnector, TargetConnector, WriteBackSource
from ledgerlink.errors import ConfigError, Problem, RecordError
from ledgerlink.execution.writeback import WriteBackExecutor
from ledgerlink.mapping.reverse import IMPLICIT_BOOKS_OWNED, write_back_request
from ledgerlink.planning.merge import Merge, Owner, Side, merge, same
from ledgerlink.planning.plan import (
    Conflict,
    FieldChange,
    PipePlan,
    PlannedFailure,
    PlannedOp,
    WriteBack,
)
from ledgerlink.state.records import BatchCommit, Link
from ledgerlink.state.store import StateStore

#: The books-side cursor of a two-way pipe is stored beside the CRM's under this prefix.
BOOKS_CURSOR_PREFIX = "books:"
_READ_CHUNK = 2_000


def check_two_way(pipe: PipeConfig, source: object, target: object) -> None:
    """A two-way pipe needs a CRM that takes changes back and books that report theirs."""
    if not isinstance(source, WriteBackSource) or (
        pipe.source_stream not in source.write_back_streams()
    ):
        raise ConfigError(
            f"pipe {pipe.name!r} is two-way, but connection {pipe.source_connection!r} cannot "
            f"take {pipe.source_stream} back",
            hint="Use `direction: one-way`, or a CRM connector that writes back (goldmine)",
        )
    if not isinstance(target, SourceConnector) or (
        pipe.target_stream not in target.readable_streams()
    ):
        raise ConfigError(
            f"pipe {pipe.name!r} is two-way, but connection {pipe.target_connection!r} cannot "
            f"report changes to its {pipe.target_stream}",
            hint="Use `direction: one-way` for this pair of systems",
        )


@dataclass(slots=True)
class BooksSide:
    """One linked record as the books hold it now, where that differs from the last agreed one."""

    link: Link
    side: Side
    location: str


@dataclass(slots=True)
class BooksChanges:
    """The books' changes to linked records since the pipe's books cursor."""

    sides: dict[str, BooksSide] = field(default_factory=dict)
    cursor: str | None = None
    read_cursor: str | None = None
    unlinked: int = 0
    shared: int = 0
    failures: list[PlannedFailure] = field(default_factory=list)
    #: source keys whose books side was merged in this run (their failures hold the cursor back)
    taken: set[str] = field(default_factory=set)
    #: books changes left for the dead-letter replay of their record
    deferred: int = 0


class TwoWayPlanner:
    """Plans the linked records of a two-way pipe from both sides' changes."""

    def __init__(self, pipe: PipeConfig, target: TargetConnector, books: BooksChanges) -> None:
        self.pipe = pipe
        self.books = books
        self._owners: dict[str, Owner] = pipe.owners()
        readable = target.capabilities().round_trip_fields.get(pipe.target_stream)
        self._books_fields = frozenset(readable) if readable is not None else None
        self._books_only_fields = IMPLICIT_BOOKS_OWNED.get(pipe.target_stream, frozenset())
        #: source key -> field -> base value, of the conflicts queued for a person
        self.waiting: dict[str, dict[str, Any]] = {}
        #: source keys waiting in the dead-letter queue (their replay merges both sides)
        self.held: frozenset[str] = frozenset()

    def books_view(self, record: Record) -> dict[str, Any]:
        """The compared fields of a record read from the books (those it gives back exactly)."""
        values = to_jsonable(record)
        return {
            name: value
            for name, value in values.items()
            if name in self._owners and (self._books_fields is None or name in self._books_fields)
        }

    def plan_changed(
        self,
        plan: PipePlan,
        *,
        key: str,
        location: str,
        version: int,
        source: Record,
        desired: Record,
        link: Link,
        updated_at: datetime | None,
    ) -> None:
        """A CRM record that changed, merged with its books side (if that changed too)."""
        crm_values = to_jsonable(desired)
        for name in self._books_only_fields:  # the CRM cannot hold these: it has what we wrote
            crm_values[name] = link.snapshot.get(name)
        crm_time = updated_at or (source.updated_at if isinstance(source, Contact | Deal) else None)
        books = self.books.sides.pop(key, None)
        if books is not None:
            self.books.taken.add(key)
        result = merge(
            link.snapshot,
            Side(crm_values, crm_time),
            books.side if books else None,
            self._owners,
            self.pipe.conflict,
            waiting=self.waiting.get(key),
        )
        self._add(
            plan,
            key=key,
            location=location,
            version=version,
            link=link,
            result=result,
            from_books=books is not None,
        )

    def plan_books_only(self, plan: PipePlan) -> None:
        """The books' changes to records the CRM did not change in this run.

        A record waiting in the dead-letter queue is left for its replay: its CRM side may hold a
        change this run did not read (the CRM's cursor moved past it), and merging without it
        would settle the record on half the story. The books cursor stays back meanwhile.
        """
        sides, self.books.sides = self.books.sides, {}
        self.books.taken.update(sides)
        for key, books in sides.items():
            if key in self.held:
                self.books.deferred += 1
                continue
            link = books.link
            result = merge(
                link.snapshot,
                None,
                books.side,
                self._owners,
                self.pipe.conflict,
                waiting=self.waiting.get(key),
            )
            self._add(
                plan,
                key=key,
                location=books.location,
                version=link.version,
                link=link,
                result=result,
                from_books=True,
            )

    def _add(
        self,
        plan: PipePlan,
        *,
        key: str,
        location: str,
        version: int,
        link: Link,
        result: Merge,
        from_books: bool,
    ) -> None:
        plan.conflicts.extend(
            Conflict(key, link.target_id, c.field, c.base, c.crm, c.books) for c in result.conflicts
        )
        plan.conflicts.extend(
            Conflict(key, link.target_id, c.field, c.base, c.crm, c.books, winner)
            for c, winner in result.settled
        )
        plan.conflicts.extend(
            Conflict(key, link.target_id, name, None, v, v, "agreed")
            for name in result.agreed
            for v in (result.merged.get(name),)
        )
        merged = result.merged
        if not (result.to_books or result.to_crm):
            if all(same(k, merged.get(k), link.snapshot.get(k)) for k in merged | link.snapshot):
                plan.refreshed.append((key, version))
                return
            # both systems already hold the same values (the same edit on both sides, a conflict
            # settled by hand): only the agreed record changes, nothing is written anywhere
            record = self._record(merged)
            plan.ops.append(
                PlannedOp(
                    kind="link",
                    pipe=self.pipe.name,
                    stream=self.pipe.target_stream,
                    source_key=key,
                    location=location,
                    ledgerlink_id=link.ledgerlink_id,
                    record=record,
                    version=version,
                    desired_hash=record_digest(record),
                    target_id=link.target_id,
                    reason="both systems already agree",
                )
            )
            return
        record = self._record(merged)
        if result.to_crm:
            fields = tuple(result.to_crm)
            back, source_fields = write_back_request(self.pipe.target_stream, merged, fields)
            plan.write_backs.append(
                WriteBack(
                    pipe=self.pipe.name,
                    stream=self.pipe.source_stream,
                    source_key=key,
                    location=location,
                    ledgerlink_id=link.ledgerlink_id,
                    target_id=link.target_id,
                    record=back,
                    fields=source_fields,
                    changes=_changes(result.to_crm),
                    merged=merged,
                    books_pending={name: before for name, (before, _) in result.to_books.items()},
                    version=version,
                )
            )
        if result.to_books:
            plan.ops.append(
                PlannedOp(
                    kind="update",
                    pipe=self.pipe.name,
                    stream=self.pipe.target_stream,
                    source_key=key,
                    location=location,
                    ledgerlink_id=link.ledgerlink_id,
                    record=record,
                    version=version,
                    desired_hash=record_digest(record),
                    target_id=link.target_id,
                    changes=_changes(result.to_books),
                    reason="changed in the books" if from_books else "changed in the source",
                    depends_on=getattr(record, "customer_key", None),
                )
            )

    def _record(self, merged: dict[str, Any]) -> Record:
        if self.pipe.target_stream == "invoices":
            return invoice_from_json(merged)
        return customer_from_json(merged)


def read_books_changes(
    planner: TwoWayPlanner, target: TargetConnector, store: StateStore, *, full: bool = False
) -> None:
    """Fill ``planner.books`` with every linked record the books changed since the books cursor
    (every linked record on ``full``)."""
    assert isinstance(target, SourceConnector)  # checked by ``check_two_way``
    pipe, changes = planner.pipe, planner.books
    changes.cursor = None if full else store.get_cursor(pipe.name, books_cursor_stream(pipe))
    read = target.read(pipe.target_stream, changes.cursor)
    pending: list[Change] = []
    for item in read:
        if isinstance(item, ReadFailure):
            changes.failures.append(_books_failure(pipe, f"books:{item.key}", item))
            continue
        if item.deleted:
            continue  # a deletion in the books is the accountant's; the CRM keeps its record
        pending.append(item)
        if len(pending) >= _READ_CHUNK:
            _compare(store, planner, pending)
            pending = []
    _compare(store, planner, pending)
    changes.read_cursor = read.cursor()


def books_cursor_stream(pipe: PipeConfig) -> str:
    """Where the pipe's books cursor is kept among its cursors."""
    return BOOKS_CURSOR_PREFIX + pipe.target_stream


def _compare(store: StateStore, planner: TwoWayPlanner, batch: list[Change]) -> None:
    if not batch:
        return
    pipe, changes = planner.pipe, planner.books
    links = store.get_links_by_target(pipe.name, [c.key for c in batch])
    for item in batch:
        linked = links.get(item.key, [])
        if not linked:
            changes.unlinked += 1
            continue
        if len(linked) > 1:
            # several CRM records became this one customer: which of them a books edit is
            # about is unknowable, so it stays in the books (the CRM's own edits still go there)
            changes.shared += 1
            continue
        link = linked[0]
        try:
            values = planner.books_view(item.load())
        except RecordError as exc:
            failed = ReadFailure(link.source_key, item.location, exc)
            changes.failures.append(_books_failure(pipe, link.source_key, failed))
            continue
        if any(not same(name, link.snapshot.get(name), value) for name, value in values.items()):
            changes.sides[link.source_key] = BooksSide(
                link, Side(values, item.updated_at), item.location
            )


def _changes(fields: dict[str, tuple[Any, Any]]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(name, before, after) for name, (before, after) in fields.items())


def _books_failure(pipe: PipeConfig, key: str, item: ReadFailure) -> PlannedFailure:
    problem = Problem.from_error(item.error)
    return PlannedFailure(
        pipe.name,
        key,
        item.location,
        "read",
        Problem(
            problem.kind,
            f"the books' record could not be read back: {problem.message}",
            hint="Correct the record in the books; the next sync reads it again",
        ),
        dict(item.raw),
    )


class TwoWaySync:
    """The two-way part of one pipe run: the books' changes, the merges, the write-backs."""

    def __init__(
        self,
        planner: TwoWayPlanner,
        writer: WriteBackExecutor | None,
        store: StateStore,
        unsettled: list[str],
    ) -> None:
        self.planner = planner
        self._writer = writer
        self._store = store
        self._carried = True
        self._unsettled = unsettled

    @classmethod
    def start(
        cls,
        pipe: PipeConfig,
        *,
        source: SourceConnector,
        target: TargetConnector,
        store: StateStore,
        run_id: str,
        dry_run: bool,
        full: bool,
        sleep: Callable[[float], None],
        only_keys: frozenset[str] | None = None,
    ) -> TwoWaySync | None:
        """Read the books' changes of a two-way pipe; ``None`` for a one-way pipe.

        With ``only_keys`` (a replay of dead letters) only those records' books sides are kept.
        """
        if pipe.direction != "two-way":
            return None
        check_two_way(pipe, source, target)
        assert isinstance(source, WriteBackSource)
        planner = TwoWayPlanner(pipe, target, BooksChanges())
        for conflict in store.list_conflicts(pipe.name):
            planner.waiting.setdefault(conflict.source_key, {})[conflict.field] = conflict.base
        if only_keys is None:  # a replay reads those records' CRM side itself
            planner.held = frozenset(d.source_key for d in store.list_dead_letters(pipe.name))
        read_books_changes(planner, target, store, full=full and only_keys is None)
        if only_keys is not None:
            books = planner.books
            books.sides = {k: v for k, v in books.sides.items() if k in only_keys}
            books.failures = [f for f in books.failures if f.source_key in only_keys]
        writer = (
            None
            if dry_run
            else WriteBackExecutor(
                store=store,
                source=source,
                run_id=run_id,
                pipe=pipe.name,
                target_stream=pipe.target_stream,
                sleep=sleep,
            )
        )
        unsettled = [i.key for i in store.pending_intents(pipe.name) if i.action == "write_back"]
        return cls(planner, writer, store, unsettled)

    def execute(self, chunk: PipePlan) -> None:
        """Before the chunk's books writes: queue its conflicts and write its changes back.

        A record whose write-back failed loses its books update too (see the module docstring).
        """
        if self._writer is None:
            return
        self._writer.record_conflicts(chunk.conflicts)
        failures = self._writer.execute(chunk.write_backs)
        if failures:
            failed = {f.source_key for f in failures}
            chunk.ops = [op for op in chunk.ops if op.source_key not in failed]
            chunk.write_backs = [w for w in chunk.write_backs if w.source_key not in failed]
            chunk.failures.extend(failures)

    def executed(self, chunk: PipePlan) -> None:
        """After the chunk: a failure among the books' changes keeps the books cursor back."""
        taken = self.planner.books.taken
        if any(f.source_key in taken for f in chunk.failures):
            self._carried = False

    def plan_books_only(self, chunk: PipePlan) -> None:
        """The last chunk: the books' changes whose CRM record did not change."""
        self.planner.plan_books_only(chunk)
        books = self.planner.books
        chunk.failures.extend(books.failures)
        chunk.folded["books_not_linked"] += books.unlinked
        chunk.folded["books_shared"] += books.shared

    def commit_cursor(self, run_id: str) -> None:
        """Move the books cursor on when every books change read was carried through.

        Write-backs left pending by an earlier run that stopped (its outcome never recorded) are
        settled then too: this run read the same books changes again from the same cursor and
        merged them with what the CRM holds now, so their effect is accounted for.
        """
        books = self.planner.books
        if self._writer is None or not self._carried or books.failures or books.deferred:
            return
        moved = books.read_cursor is not None and books.read_cursor != books.cursor
        if not (moved or self._unsettled):
            return
        pipe = self.planner.pipe
        self._store.commit_batch(
            BatchCommit(
                run_id=run_id,
                pipe=pipe.name,
                cursor=(books_cursor_stream(pipe), books.read_cursor)
                if moved and books.read_cursor is not None
                else None,
                done_intents=self._unsettled,
            )
        )
