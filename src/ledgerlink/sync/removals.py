"""A pipe's deletions and merges in a run: links looked up, merges repaired, ops planned."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from ledgerlink.canonical.records import Change, Invoice, InvoiceStatus
from ledgerlink.canonical.restore import customer_from_json, invoice_from_json
from ledgerlink.canonical.serialise import version_number
from ledgerlink.config.model import PipeConfig
from ledgerlink.connectors.base import TargetConnector
from ledgerlink.planning.deletes import LinkRepair, RemovalPlanner
from ledgerlink.planning.plan import PipePlan, PlannedOp
from ledgerlink.state.records import AuditWrite, BatchCommit, Link, LinkWrite
from ledgerlink.state.store import StateStore


@dataclass(slots=True)
class RemovalStep:
    """Plans the deleted records of each chunk before its other records.

    Merge repairs are state-only: in a sync they are committed at once (so the survivor's own
    change in the same chunk finds its new link); in a plan they are kept in ``relinked``.
    """

    pipe: PipeConfig
    store: StateStore
    target: TargetConnector
    run_id: str
    dry_run: bool
    relinked: dict[str, Link] = field(default_factory=dict)
    _statuses: dict[str, InvoiceStatus] | None = None

    def plan(self, changes: Sequence[Change], chunk: PipePlan) -> None:
        """Plan (and, for merges in a sync, commit) these deletions into ``chunk``."""
        if not changes:
            return
        aliased = self.store.resolve_aliases(self.pipe.name, [c.key for c in changes])
        changes = [replace(c, key=aliased[c.key]) if c.key in aliased else c for c in changes]
        keys = {c.key for c in changes} | {c.merged_into for c in changes if c.merged_into}
        links: dict[str, Link] = {**self.store.get_links(self.pipe.name, keys), **self.relinked}
        planner = RemovalPlanner(
            self.pipe.name,
            self.pipe.target_stream,
            self.pipe.on_delete,
            target_system=self.target.system,
            can_delete=self.pipe.target_stream in self.target.capabilities().deletes,
            books_status=self._status,
        )
        repairs: list[LinkRepair] = []
        for change in changes:
            repair = planner.plan(
                chunk,
                key=change.key,
                location=change.location,
                version=version_number(change.version),
                link=links.get(change.key),
                merged_into=change.merged_into,
                survivor=links.get(change.merged_into or ""),
            )
            if repair is not None:
                repairs.append(repair)
                if repair.moved_to is not None:
                    links[repair.moved_to] = self._moved(repair)
        self._apply(repairs, chunk)

    def _apply(self, repairs: list[LinkRepair], chunk: PipePlan) -> None:
        moves = [r for r in repairs if r.moved_to is not None]
        if self.dry_run:
            for repair in moves:
                self.relinked[repair.moved_to or ""] = self._moved(repair)
                chunk.ops.append(_shown(self.pipe, repair))
            chunk.unchanged += len(repairs) - len(moves)
            return
        if not repairs:
            return
        links = [
            LinkWrite(r.source_key, r.target_id, 0, r.merged_hash, r.snapshot, r.ledgerlink_id)
            for r in repairs
        ]
        links += [
            LinkWrite(r.moved_to or "", r.target_id, 0, r.desired_hash, r.snapshot, r.ledgerlink_id)
            for r in moves
        ]
        audit = [
            AuditWrite(
                "link_repaired",
                source_key=r.moved_to or r.source_key,
                target_id=r.target_id,
                before={"source_key": r.source_key},
                after={"source_key": r.moved_to or r.source_key, "merged": r.source_key},
            )
            for r in repairs
        ]
        self.store.commit_batch(
            BatchCommit(run_id=self.run_id, pipe=self.pipe.name, links=links, audit=audit)
        )
        chunk.folded["link"] += len(moves)
        chunk.unchanged += len(repairs) - len(moves)

    def _moved(self, repair: LinkRepair) -> Link:
        """The survivor's link as it is once the repair is committed."""
        return Link(
            pipe=self.pipe.name,
            source_key=repair.moved_to or "",
            target_id=repair.target_id,
            version=0,
            desired_hash=repair.desired_hash,
            snapshot=repair.snapshot,
            ledgerlink_id=repair.ledgerlink_id,
            updated_at=datetime.now(UTC),
            last_run_id=self.run_id,
        )

    def _status(self, target_id: str) -> InvoiceStatus | None:
        """What the books say of an invoice now (paid ones are never voided); read once."""
        if self._statuses is None:
            self._statuses = {
                t.target_id: t.record.status
                for t in self.target.read_existing("invoices")
                if isinstance(t.record, Invoice)
            }
        return self._statuses.get(target_id)


def _shown(pipe: PipeConfig, repair: LinkRepair) -> PlannedOp:
    """How a plan shows a merge repair: a link of the survivor, nothing written to the books."""
    record = (
        customer_from_json(repair.snapshot)
        if pipe.target_stream == "customers"
        else invoice_from_json(repair.snapshot)
    )
    return PlannedOp(
        kind="link",
        pipe=pipe.name,
        stream=pipe.target_stream,
        source_key=repair.moved_to or "",
        location="",
        ledgerlink_id=repair.ledgerlink_id,
        record=record,
        version=0,
        desired_hash=repair.desired_hash,
        target_id=repair.target_id,
        reason=f"{repair.source_key!r} was merged into it in the CRM: its link moves here "
        "(nothing is written to the books)",
    )
