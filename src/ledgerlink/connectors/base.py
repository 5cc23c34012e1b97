"""The seams every connector plugs into: what a source reads and what a target writes.

A *source* streams canonical records (``Change``) with a cursor it can resume from. A *target*
reports its capabilities (batch size, rounding, tax mode, how it makes writes idempotent), lists the
records it already holds (for first-sync matching) and applies batches of writes, answering for each
write separately so that one bad record never fails the others.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from ledgerlink.canonical.money import RoundingMode
from ledgerlink.canonical.records import (
    Change,
    Customer,
    Invoice,
    ReadFailure,
    Record,
    TargetRecord,
    TaxMode,
)
from ledgerlink.errors import LedgerlinkError

WriteAction = Literal["create", "update", "deactivate", "void", "delete"]
IdempotencyMode = Literal["key", "lookup"]


@runtime_checkable
class TokenStore(Protocol):
    """Keeps a connection's OAuth tokens (encrypted at rest by the state store).

    ``save`` must be durable before it returns: a rotated refresh token is stored before the next
    API call, so a crash never strands the connection with a token the vendor has already revoked.
    """

    def load(self, connection: str) -> dict[str, str] | None:
        """The stored token set of a connection (e.g. access_token, refresh_token, expires_at)."""
        ...

    def save(self, connection: str, tokens: dict[str, str]) -> None:
        """Store (replace) a connection's token set."""
        ...


@dataclass(frozen=True, slots=True)
class ConnectorContext:
    """What every connector may need from its surroundings; paths resolve against ``base_dir``."""

    name: str
    base_dir: Path
    tokens: TokenStore | None = None

    def resolve(self, path: str | Path) -> Path:
        """An absolute path for a path written in the configuration."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.base_dir / candidate


@runtime_checkable
class StreamRead(Protocol):
    """The result of reading one stream: records first, then the cursor to resume from."""

    def __iter__(self) -> Iterator[Change | ReadFailure]:
        """Yield each record (or a failure naming the row) once."""
        ...

    def cursor(self) -> str | None:
        """The cursor to store after every record yielded has been committed."""
        ...


@dataclass(slots=True)
class ListRead:
    """A ``StreamRead`` over records already in memory (small sources, tests, targets' reads)."""

    items: Sequence[Change | ReadFailure]
    next_cursor: str | None = None

    def __iter__(self) -> Iterator[Change | ReadFailure]:
        return iter(self.items)

    def cursor(self) -> str | None:
        """The cursor given at construction."""
        return self.next_cursor


@runtime_checkable
class SourceConnector(Protocol):
    """Reads canonical records from a CRM (or any system acting as a source)."""

    system: str

    def readable_streams(self) -> tuple[str, ...]:
        """The streams this connection can read, for example ``("contacts", "deals")``."""
        ...

    def check(self) -> str:
        """Reach the system; return a one-line description or raise ``ConnectionFailedError``."""
        ...

    def read(self, stream: str, cursor: str | None) -> StreamRead:
        """Read the stream, only what changed since ``cursor`` when the source allows it."""
        ...


@dataclass(frozen=True, slots=True)
class TargetCapabilities:
    """How a target writes, so the engine can plan and batch for it."""

    max_batch_size: int = 1
    rounding: RoundingMode = "half-up"
    tax_mode: TaxMode = "line"
    idempotency: IdempotencyMode = "lookup"
    default_currency: str = "USD"
    #: Streams whose records the target can delete outright (``on_delete: delete``); none by
    #: default: customers are deactivated and invoices voided instead.
    deletes: frozenset[str] = frozenset()
    #: Per stream, the fields the target's ``read`` gives back exactly as written (two-way pipes
    #: compare only these); a stream not named here round-trips every field.
    round_trip_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """One write for a target to apply.

    ``ledgerlink_id`` is stamped on the record the target creates (its identity for lookups);
    ``idempotency_key`` is sent where the target supports one; ``references`` maps a dependency
    (``"customer"``) to the target id of the record it points to.
    """

    action: WriteAction
    stream: str
    ledgerlink_id: str
    idempotency_key: str
    record: Record
    target_id: str | None = None
    references: dict[str, str] = field(default_factory=dict)
    changed_fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """What happened to one ``WriteRequest``: the target id, or the error for this record only."""

    request: WriteRequest
    target_id: str | None = None
    error: LedgerlinkError | None = None

    @property
    def ok(self) -> bool:
        """True when the write took effect."""
        return self.error is None


@runtime_checkable
class WriteBackSource(Protocol):
    """A source that can take changes back: the CRM side of a two-way pipe.

    Each request is an ``update`` of one source record: ``target_id`` is the record's source key,
    ``record`` carries the new values and ``changed_fields`` names the only fields to write (a
    contact's ``emails``/``phones``/``addresses`` replace the first entry only, keeping the rest).
    For ``deals`` the record is the books' ``Invoice`` and the fields are its payment state
    (``number``, ``status``, ``balance``, ``paid_on``). One outcome per request, in order; raise
    only for failures of the whole batch, like ``TargetConnector.apply``.
    """

    def write_back_streams(self) -> tuple[str, ...]:
        """The streams this source accepts changes for, e.g. ``("contacts", "deals")``."""
        ...

    def write_back(self, requests: Sequence[WriteRequest]) -> list[WriteOutcome]:
        """Apply updates to source records; one outcome per request."""
        ...


@runtime_checkable
class InvoiceDescriber(Protocol):
    """A target that can say, for a plan, how it will book an invoice (e.g. Tally's GST split)."""

    def describe_invoice(self, invoice: Invoice, customer: Customer | None) -> str:
        """A short description; ``customer`` is the invoice's customer when it is known."""
        ...


@runtime_checkable
class TargetConnector(Protocol):
    """Writes canonical records into books (or any system acting as a target)."""

    system: str

    def writable_streams(self) -> tuple[str, ...]:
        """The streams this connection can write, for example ``("customers", "invoices")``."""
        ...

    def capabilities(self) -> TargetCapabilities:
        """Batch size, rounding, tax mode and idempotency support."""
        ...

    def check(self) -> str:
        """Reach the system; return a one-line description or raise ``ConnectionFailedError``."""
        ...

    def read_existing(self, stream: str) -> Iterator[TargetRecord]:
        """Every record of ``stream`` already in the target, for matching on a first sync."""
        ...

    def apply(self, requests: Sequence[WriteRequest]) -> list[WriteOutcome]:
        """Apply a batch of writes of one stream; one outcome per request, in order.

        A request whose ``ledgerlink_id`` the target already holds (a retry after a crash) must
        not create a second record: it answers with the existing target id.
        Raise only for failures of the whole batch (``TransientError``, ``FatalError``).
        """
        ...
