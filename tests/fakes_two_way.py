"""Fakes for two-way pipes: a CRM that takes changes back, books that report their own changes."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ledgerlink.canonical.records import Change, Contact, Customer, Invoice, Record
from ledgerlink.connectors.base import ListRead, StreamRead, WriteOutcome, WriteRequest
from ledgerlink.errors import RecordError, TransientError
from tests.fakes import FakeBooks, FakeCrm


class Clock:
    """A shared, hand-driven clock: every tick is one minute later."""

    def __init__(self) -> None:
        self._now = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

    def tick(self) -> datetime:
        self._now += timedelta(minutes=1)
        return self._now


@dataclass
class TwoWayCrm(FakeCrm):
    """A CRM whose contacts ledgerlink may update; payment state lands beside each deal."""

    clock: Clock = field(default_factory=Clock)
    write_backs: int = 0
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_write_back: set[str] = field(default_factory=set)
    down: int = 0

    def write_back_streams(self) -> tuple[str, ...]:
        return ("contacts", "deals")

    def edit(self, key: str, **changes: Any) -> None:
        """A person edits a contact in the CRM."""
        record = self.streams["contacts"][key]
        assert isinstance(record, Contact)
        changes.setdefault("updated_at", self.clock.tick())
        self.streams["contacts"][key] = dataclasses.replace(record, **changes)

    def write_back(self, requests: Sequence[WriteRequest]) -> list[WriteOutcome]:
        if self.down:
            self.down -= 1
            raise TransientError("the CRM is restarting")
        outcomes = []
        for request in requests:
            key = request.target_id or ""
            if key in self.fail_write_back:
                outcomes.append(WriteOutcome(request, error=RecordError("record is locked")))
                continue
            if request.stream == "deals":
                assert isinstance(request.record, Invoice)
                self.payments.setdefault(key, {}).update(
                    {name: getattr(request.record, name) for name in request.changed_fields}
                )
            else:
                self._update_contact(key, request)
            self.write_backs += 1
            outcomes.append(WriteOutcome(request, target_id=key))
        return outcomes

    def _update_contact(self, key: str, request: WriteRequest) -> None:
        current = self.streams["contacts"].get(key)
        if not isinstance(current, Contact):
            raise AssertionError(f"no contact {key}")
        incoming = request.record
        assert isinstance(incoming, Contact)
        values: dict[str, Any] = {}
        for name in request.changed_fields:
            value = getattr(incoming, name)
            if name in ("emails", "phones", "addresses"):
                rest = getattr(current, name)[1:]
                value = tuple(value[:1]) + tuple(rest)
            values[name] = value
        values["updated_at"] = self.clock.tick()
        self.streams["contacts"][key] = dataclasses.replace(current, **values)


@dataclass
class TwoWayBooks(FakeBooks):
    """Books that report what changed since a cursor (a change counter), ours and people's."""

    clock: Clock = field(default_factory=Clock)
    changed: dict[tuple[str, str], tuple[int, datetime]] = field(default_factory=dict)
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def readable_streams(self) -> tuple[str, ...]:
        return ("customers", "invoices")

    def read(self, stream: str, cursor: str | None) -> StreamRead:
        since = int(cursor or 0)
        items = []
        last = since
        for target_id, record in self.records[stream].items():
            seq, at = self.changed.get((stream, target_id), (0, None))
            last = max(last, seq)
            if seq > since:
                items.append(
                    Change(
                        key=target_id,
                        version=str(seq),
                        load=lambda r=record: r,
                        location=f"{stream} {target_id}",
                        updated_at=at,
                    )
                )
        return ListRead(items, str(last))

    def apply(self, requests: Sequence[WriteRequest]) -> list[WriteOutcome]:
        outcomes = super().apply(requests)
        for outcome in outcomes:
            if outcome.ok and outcome.target_id:
                self._touch(outcome.request.stream, outcome.target_id)
        return outcomes

    def edit(self, target_id: str, **changes: Any) -> None:
        """A person edits a customer in the books."""
        record = self.records["customers"][target_id]
        assert isinstance(record, Customer)
        self.records["customers"][target_id] = dataclasses.replace(record, **changes)
        self._touch("customers", target_id)

    def pay(self, target_id: str, on: date) -> None:
        """The customer pays an invoice in full."""
        record = self.records["invoices"][target_id]
        assert isinstance(record, Invoice)
        self.records["invoices"][target_id] = dataclasses.replace(
            record, status="paid", balance=Decimal("0.00"), paid_on=on
        )
        self._touch("invoices", target_id)

    def customer(self, target_id: str) -> Customer:
        record: Record = self.records["customers"][target_id]
        assert isinstance(record, Customer)
        return record

    def _touch(self, stream: str, target_id: str) -> None:
        self.changed[(stream, target_id)] = (next(self._seq), self.clock.tick())
