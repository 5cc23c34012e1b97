"""In-memory connectors for engine tests: a CRM whose records we edit, books that can misbehave."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from ledgerlink.canonical.records import Change, Record, TargetRecord
from ledgerlink.canonical.serialise import record_digest
from ledgerlink.connectors.base import (
    ListRead,
    StreamRead,
    TargetCapabilities,
    WriteOutcome,
    WriteRequest,
)
from ledgerlink.errors import LedgerlinkError, RecordError


@dataclass
class FakeCrm:
    """A source whose streams are dicts of key -> record; the cursor is a content digest."""

    system: str = "fake-crm"
    streams: dict[str, dict[str, Record]] = field(default_factory=dict)
    reads: int = 0
    #: stream -> key -> survivor's key (a merge) or None (a plain deletion), reported as deleted
    deleted: dict[str, dict[str, str | None]] = field(default_factory=dict)

    def readable_streams(self) -> tuple[str, ...]:
        return tuple(self.streams)

    def check(self) -> str:
        return "fake CRM"

    def read(self, stream: str, cursor: str | None) -> StreamRead:
        self.reads += 1
        records = self.streams.get(stream, {})
        gone = self.deleted.get(stream, {})
        digest = str(
            hash(
                (
                    tuple((k, record_digest(r)) for k, r in sorted(records.items())),
                    tuple(sorted(gone.items(), key=str)),
                )
            )
        )
        if cursor == digest:
            return ListRead([], digest)
        items = [
            Change.of(key, record, version=record_digest(record), location=f"{stream}:{key}")
            for key, record in records.items()
        ]
        items += [
            Change(key, f"deleted:{key}", _gone, f"{stream}:{key}", deleted=True, merged_into=into)
            for key, into in gone.items()
        ]
        return ListRead(items, digest)


def _gone() -> Record:
    raise RecordError("deleted in the fake CRM")


@dataclass
class FakeBooks:
    """A target holding records by id, counting writes, with fault hooks."""

    system: str = "fake-books"
    batch_size: int = 10
    records: dict[str, dict[str, Record]] = field(
        default_factory=lambda: {"customers": {}, "invoices": {}}
    )
    stamps: dict[str, str] = field(default_factory=dict)
    writes: int = 0
    apply_calls: int = 0
    reject: Callable[[WriteRequest], str | None] = lambda _request: None
    raise_on_apply: list[LedgerlinkError] = field(default_factory=list)
    deletes: frozenset[str] = frozenset()
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def writable_streams(self) -> tuple[str, ...]:
        return ("customers", "invoices")

    def capabilities(self) -> TargetCapabilities:
        return TargetCapabilities(
            max_batch_size=self.batch_size, idempotency="key", deletes=self.deletes
        )

    def check(self) -> str:
        return "fake books"

    def read_existing(self, stream: str) -> Iterator[TargetRecord]:
        by_id = {v: k for k, v in self.stamps.items()}
        for target_id, record in self.records[stream].items():
            yield TargetRecord(target_id, record, by_id.get(target_id, ""))

    def apply(self, requests: Sequence[WriteRequest]) -> list[WriteOutcome]:
        self.apply_calls += 1
        if self.raise_on_apply:
            raise self.raise_on_apply.pop(0)
        outcomes = []
        for request in requests:
            problem = self.reject(request)
            if problem:
                outcomes.append(WriteOutcome(request, error=RecordError(problem)))
                continue
            if request.action == "delete":
                self.records[request.stream].pop(request.target_id or "", None)
                self.writes += 1
                outcomes.append(WriteOutcome(request, target_id=request.target_id))
                continue
            if (
                request.stream == "invoices"
                and request.references.get("customer") not in self.records["customers"]
            ):
                outcomes.append(WriteOutcome(request, error=RecordError("unknown customer")))
                continue
            if request.action == "create":
                existing = self.stamps.get(request.ledgerlink_id)
                if existing is not None:
                    outcomes.append(WriteOutcome(request, target_id=existing))
                    continue
                target_id = f"{request.stream[:4]}-{next(self._ids)}"
                self.stamps[request.ledgerlink_id] = target_id
            else:
                target_id = request.target_id or ""
            self.records[request.stream][target_id] = request.record
            self.writes += 1
            outcomes.append(WriteOutcome(request, target_id=target_id))
        return outcomes
