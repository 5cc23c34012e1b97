"""Importing into a running Tally: envelopes of many objects, and each object's own outcome."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from ledgerlink.connectors.base import WriteOutcome, WriteRequest
from ledgerlink.connectors.tally import queries
from ledgerlink.connectors.tally.client import SYSTEM, TallyClient
from ledgerlink.connectors.tally.config import TallyConfig
from ledgerlink.connectors.tally.directory import TallyDirectory
from ledgerlink.connectors.tally.envelopes import ImportReport, ImportResult, import_request
from ledgerlink.connectors.tally.envelopes import import_result as read_result
from ledgerlink.connectors.tally.prepare import (
    Prepared,
    prepare_customer,
    prepare_invoice,
    prepare_payment,
)
from ledgerlink.connectors.tally.translate import stock_item_element
from ledgerlink.errors import LedgerlinkError, RecordError

Verify = Callable[[Sequence[Prepared]], set[int]]
WRITABLE = ("customers", "invoices", "payments")


def rejection(result: ImportResult, what: str) -> RecordError:
    """The error of one object Tally did not take, in Tally's own words."""
    if result.line_errors:
        message = f"Tally rejected the {what}: {'; '.join(result.line_errors)}"
    else:
        message = f"Tally did not import the {what} ({result.describe()})"
    return RecordError(
        message,
        hint="Correct it in the CRM (or create what Tally says is missing) and run "
        "`ledgerlink dlq retry`",
        details={"tally": result.describe()},
    )


class EnvelopeSender:
    """Sends objects in envelopes of ``batch_size`` and works out every object's outcome.

    A clean answer (no errors, every object counted) settles the envelope. Otherwise the objects
    that provably arrived are done (``verify``: Tally shows them created or altered after the
    AlterID read before the import); when exactly one is left and Tally reported one error, that
    object gets Tally's message; the rest are sent again one by one, which is safe because each
    carries its REMOTEID, so each answer speaks of exactly one object.
    """

    def __init__(self, client: TallyClient, batch_size: int) -> None:
        self._client = client
        self._batch_size = batch_size
        self._merge_ok = False
        self.envelopes = 0

    def send(
        self,
        report: ImportReport,
        items: Sequence[Prepared],
        verify: Verify,
        what: str,
        *,
        merge_ok: bool = False,
    ) -> dict[int, RecordError | None]:
        """Import the items; None for each one Tally took, else its error.

        Only with ``merge_ok`` does a duplicate Tally combined or ignored count as taken (stock
        items); a ledger or voucher must be created, or altered through its own REMOTEID.
        """
        self._merge_ok = merge_ok
        outcomes: dict[int, RecordError | None] = {}
        for start in range(0, len(items), self._batch_size):
            outcomes.update(
                self._envelope(report, items[start : start + self._batch_size], verify, what)
            )
        return outcomes

    def _taken(self, result: ImportResult) -> int:
        if self._merge_ok:
            return result.accepted
        return result.created + result.altered + result.deleted + result.cancelled

    def _post(self, report: ImportReport, items: Sequence[Prepared]) -> ImportResult:
        self.envelopes += 1
        envelope = import_request(report, self._client.company, (p.node for p in items))
        return read_result(self._client.post(envelope))

    def _envelope(
        self, report: ImportReport, items: Sequence[Prepared], verify: Verify, what: str
    ) -> dict[int, RecordError | None]:
        result = self._post(report, items)
        if result.clean and self._taken(result) >= len(items):
            return dict.fromkeys((p.position for p in items), None)
        if len(items) == 1:
            ok = result.clean and self._taken(result) >= 1
            return {items[0].position: None if ok else rejection(result, what)}
        arrived = verify(items)
        outcomes: dict[int, RecordError | None] = dict.fromkeys(arrived, None)
        rest = [p for p in items if p.position not in arrived]
        failures = result.errors + result.exceptions
        if len(rest) == 1 and result.line_errors and failures == 1:
            outcomes[rest[0].position] = rejection(result, what)
            return outcomes
        for item in rest:
            outcomes.update(self._envelope(report, [item], verify, what))
        return outcomes


class HttpWriter:
    """Applies write requests to a running Tally, one outcome per request."""

    def __init__(
        self,
        client: TallyClient,
        config: TallyConfig,
        directory: TallyDirectory,
        today: Callable[[], date],
    ) -> None:
        self._client = client
        self._config = config
        self._directory = directory
        self._today = today
        self.sender = EnvelopeSender(client, config.batch_size)
        self._marks: queries.CompanyInfo | None = None

    def apply(self, requests: Sequence[WriteRequest]) -> list[WriteOutcome]:
        """Customers first, then stock items invoices need, then vouchers."""
        self._marks = self._directory.refresh()
        outcomes: dict[int, WriteOutcome] = {}
        ledgers: list[Prepared] = []
        vouchers: list[Prepared] = []
        taken: set[str] = set()
        for position, request in enumerate(requests):
            try:
                if request.stream == "customers":
                    prepared = prepare_customer(
                        position, request, self._config, self._directory.ledger
                    )
                    if prepared.identity.casefold() in taken:
                        raise RecordError(
                            f"another customer in this batch is also named {prepared.identity!r}",
                            hint="Ledger names are unique in Tally; rename one contact in the CRM",
                        )
                    taken.add(prepared.identity.casefold())
                    ledgers.append(prepared)
                elif request.stream == "invoices":
                    vouchers.append(
                        prepare_invoice(
                            position, request, self._config, self._directory.ledger, self._today()
                        )
                    )
                elif request.stream == "payments":
                    vouchers.append(
                        prepare_payment(position, request, self._config, self._directory.ledger)
                    )
                else:
                    raise RecordError(
                        f"the Tally connector does not write {request.stream!r}",
                        hint=f"It writes {', '.join(WRITABLE)}",
                    )
            except RecordError as error:
                outcomes[position] = failed(request, error)
        if ledgers:
            outcomes.update(self._write_ledgers(ledgers))
        if vouchers:
            vouchers = self._ensure_stock(vouchers, outcomes)
            results = self.sender.send("Vouchers", vouchers, self._present_vouchers, "voucher")
            outcomes.update(_outcomes(vouchers, results))
        return [outcomes[position] for position in range(len(requests))]

    def _write_ledgers(self, ledgers: list[Prepared]) -> dict[int, WriteOutcome]:
        results = self.sender.send("All Masters", ledgers, self._present_ledgers, "ledger")
        for item in ledgers:
            if results.get(item.position) is None and item.ledger is not None:
                self._directory.remember(item.ledger, replaces=item.replaces)
        return _outcomes(ledgers, results)

    def _ensure_stock(
        self, vouchers: list[Prepared], outcomes: dict[int, WriteOutcome]
    ) -> list[Prepared]:
        """Create the stock items the vouchers need; vouchers whose item failed fail with it."""
        wanted = set().union(*(p.stock_items for p in vouchers))
        missing = sorted(self._directory.missing_stock(wanted)) if wanted else []
        if not missing:
            return vouchers
        items = [
            Prepared(-i - 1, vouchers[0].request, stock_item_element(name, self._config.stock_unit),
                     identity=name, target_id=name, create=True)
            for i, name in enumerate(missing)
        ]  # fmt: skip
        results = self.sender.send(
            "All Masters", items, self._present_stock, "stock item", merge_ok=True
        )
        failed_items = {p.identity: results[p.position] for p in items if results[p.position]}
        self._directory.add_stock(set(missing) - set(failed_items))
        kept = []
        for voucher in vouchers:
            bad = sorted(voucher.stock_items & set(failed_items))
            if bad:
                error = failed_items[bad[0]]
                assert error is not None
                outcomes[voucher.position] = failed(
                    voucher.request,
                    RecordError(f"stock item {bad[0]!r} could not be created: {error.message}"),
                )
            else:
                kept.append(voucher)
        return kept

    def _present_vouchers(self, items: Sequence[Prepared]) -> set[int]:
        assert self._marks is not None
        found = queries.vouchers_altered_after(self._client, self._marks.alt_voucher_id)
        return {p.position for p in items if p.identity in found}

    def _present_masters(self, items: Sequence[Prepared], object_type: str) -> dict[int, str]:
        assert self._marks is not None
        self._directory.forget_master_id()
        found = queries.masters_altered_after(self._client, object_type, self._marks.alt_master_id)
        folded = {name.casefold(): guid for name, guid in found.items()}
        return {
            p.position: folded[p.identity.casefold()]
            for p in items
            if p.identity.casefold() in folded
        }

    def _present_ledgers(self, items: Sequence[Prepared]) -> set[int]:
        found = self._present_masters(items, "Ledger")
        by_position = {p.position: p for p in items}
        return {
            position
            for position, guid in found.items()
            if not by_position[position].create
            or guid == by_position[position].request.ledgerlink_id
        }

    def _present_stock(self, items: Sequence[Prepared]) -> set[int]:
        return set(self._present_masters(items, "StockItem"))


def failed(request: WriteRequest, error: LedgerlinkError) -> WriteOutcome:
    """An outcome carrying ``error`` with the request's context filled in."""
    error.with_context(system=SYSTEM, stream=request.stream, record=request.ledgerlink_id)
    return WriteOutcome(request, error=error)


def _outcomes(
    items: Sequence[Prepared], results: dict[int, RecordError | None]
) -> dict[int, WriteOutcome]:
    outcomes = {}
    for item in items:
        error = results.get(item.position)
        outcomes[item.position] = (
            failed(item.request, error)
            if error is not None
            else WriteOutcome(item.request, target_id=item.target_id)
        )
    return outcomes
