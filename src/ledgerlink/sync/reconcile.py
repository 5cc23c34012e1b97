"""``reconcile``: read both sides in full and compare them pipe by pipe; write only a run row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from ledgerlink.canonical.records import Deal, Invoice, Payment, ReadFailure, Record
from ledgerlink.config.model import PipeConfig
from ledgerlink.connectors.base import SourceConnector, TargetConnector
from ledgerlink.errors import RecordError
from ledgerlink.mapping.apply import Mapper
from ledgerlink.mapping.defaults import InvoiceRules
from ledgerlink.state.records import Link
from ledgerlink.state.store import StateStore
from ledgerlink.sync.reconcile_compare import Desired, PipeSides, Settled, compare_pipe
from ledgerlink.sync.reconcile_fields import paid_towards
from ledgerlink.sync.reconcile_report import (
    COUNT_LABELS,
    CSV_HEADER,
    DRIFT_KINDS,
    FINDING_KINDS,
    FieldDiff,
    Finding,
    FindingKind,
    PipeReconcile,
    ReconcileReport,
)
from ledgerlink.sync.run import Workspace

__all__ = [
    "COUNT_LABELS",
    "CSV_HEADER",
    "DRIFT_KINDS",
    "FINDING_KINDS",
    "FieldDiff",
    "Finding",
    "FindingKind",
    "PipeReconcile",
    "ReconcileReport",
    "execute_reconcile",
]


def execute_reconcile(
    workspace: Workspace, *, pipes: list[str] | None = None, today: date | None = None
) -> ReconcileReport:
    """Compare the CRM with the books for the selected pipes (customers first).

    Reads the whole source (no cursor) and the target's current records; writes nothing to
    either, and nothing to the state but the run row. A system that cannot be read stops the
    run: the error is raised after the run row is closed as ``failed``.
    """
    store = workspace.store
    selected = workspace.ordered_pipes(pipes)
    for pipe in selected:  # configuration problems stop the run before anything is read
        workspace.dependency_pipe(pipe)
    run_id = store.start_run("reconcile")
    report = ReconcileReport(run_id)
    pairs: dict[str, dict[str, str]] = {}
    today = today or datetime.now(UTC).date()
    try:
        for pipe in selected:
            sides = read_sides(workspace, pipe, today, pairs)
            compared = compare_pipe(sides)
            pairs[pipe.name] = compared.pairs
            report.pipes.append(compared.result)
    except BaseException as exc:
        summary = {"command": "reconcile", "error": str(exc) or type(exc).__name__}
        store.finish_run(run_id, "failed", summary)
        raise
    # A run that found drift is "partial", like a sync whose records failed: both exit 1.
    store.finish_run(
        run_id, "partial" if report.drift else "ok", report.to_json(with_findings=False)
    )
    return report


def read_sides(
    workspace: Workspace,
    pipe: PipeConfig,
    today: date,
    pairs: dict[str, dict[str, str]],
    keep: Callable[[Record], bool] | None = None,
) -> PipeSides:
    """Read and map the CRM side, read the books side, and gather the state's links.

    ``keep`` narrows the CRM side (``sync --verify --since``); what it drops is out of scope.
    """
    source, target, store = workspace.source(pipe), workspace.target(pipe), workspace.store
    caps = target.capabilities()
    mapper = Mapper(
        pipe.source_stream,
        pipe.target_stream,
        pipe.mapping(),
        InvoiceRules(caps.rounding, caps.tax_mode, pipe.payment_terms_days),
    )
    dependency = workspace.dependency_pipe(pipe)
    loaded: list[tuple[str, str, Record]] = []
    unreadable: set[str] = set()
    for item in source.read(pipe.source_stream, None):
        if isinstance(item, ReadFailure):
            unreadable.add(item.key)
            continue
        if item.deleted:
            continue  # gone from the CRM: what the books still hold for it shows as extra
        try:
            loaded.append((item.key, item.location, item.load()))
        except RecordError:
            unreadable.add(item.key)
    terms = _customer_terms(store, dependency, loaded)
    desired: list[Desired] = []
    out_of_scope: set[str] = set()
    for key, location, record in loaded:
        try:
            mapped = mapper.map(record, today=today, customer_terms=terms)
        except RecordError:
            unreadable.add(key)
            continue
        if mapped is None or (keep is not None and not keep(record)):
            out_of_scope.add(key)
            continue
        dated = not (isinstance(record, Deal) and record.close_date is None)
        desired.append(Desired(key, mapped, location, dated))
    links = store.get_links(pipe.name, list(store.load_versions(pipe.name)))
    return PipeSides(
        pipe=pipe.name,
        source=pipe.source,
        target=pipe.target,
        desired=desired,
        existing=list(target.read_existing(pipe.target_stream)),
        links=links,
        out_of_scope=frozenset(out_of_scope),
        unreadable=frozenset(unreadable),
        customer_ids=_customer_ids(store, dependency, desired, pairs),
        settled=_settled(target) if pipe.target_stream == "invoices" else None,
    )


def _contact_keys(records: list[Record]) -> set[str]:
    return {r.contact_key for r in records if isinstance(r, Deal)}


def _customer_terms(
    store: StateStore, dependency: str | None, loaded: list[tuple[str, str, Record]]
) -> Callable[[str], int | None]:
    """Payment terms of the deals' customers as last written, exactly as a sync maps them."""
    keys = _contact_keys([record for _, _, record in loaded])
    links = store.get_links(dependency, keys) if dependency and keys else {}

    def terms(key: str) -> int | None:
        link = links.get(key)
        value = link.snapshot.get("payment_terms_days") if link else None
        return int(value) if isinstance(value, int | str) and str(value).isdigit() else None

    return terms


def _customer_ids(
    store: StateStore,
    dependency: str | None,
    desired: list[Desired],
    pairs: dict[str, dict[str, str]],
) -> dict[str, str]:
    """Contact key -> the books id of its customer: paired in this run, else linked."""
    if dependency is None:
        return {}
    keys = {d.record.customer_key for d in desired if isinstance(d.record, Invoice)}
    links: dict[str, Link] = store.get_links(dependency, keys) if keys else {}
    found = {key: link.target_id for key, link in links.items()}
    found.update({k: v for k, v in pairs.get(dependency, {}).items() if k in keys})
    return found


def _settled(target: TargetConnector) -> Settled | None:
    """What the books' payments settle of each invoice, when the books report payments."""
    if not isinstance(target, SourceConnector) or "payments" not in target.readable_streams():
        return None
    payments: dict[str, list[Payment]] = {}
    for item in target.read("payments", None):
        if isinstance(item, ReadFailure) or item.deleted:
            continue
        try:
            record = item.load()
        except RecordError:
            continue
        if isinstance(record, Payment) and record.invoice_ref:
            payments.setdefault(record.invoice_ref, []).append(record)
    return paid_towards(payments)
