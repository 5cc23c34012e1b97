"""What the Tally company holds that writes depend on: ledgers by name and stock items, cached."""

from __future__ import annotations

from ledgerlink.connectors.tally import queries
from ledgerlink.connectors.tally.client import TallyClient
from ledgerlink.connectors.tally.readback import LedgerInfo, ledger_info
from ledgerlink.errors import ConnectionFailedError, ErrorContext


class TallyDirectory:
    """Ledgers and stock items of the company, reloaded only when its AltMstId moved.

    Writes keep it current themselves (``remember``), so a batch of invoices after a batch of
    customers costs one cheap company request, not a reload.
    """

    def __init__(self, client: TallyClient, currency: str) -> None:
        self._client = client
        self._currency = currency
        self._master_id: int | None = None
        self._ledgers: dict[str, LedgerInfo] = {}
        self._folded: dict[str, str] = {}
        self._stock: set[str] | None = None

    def refresh(self) -> queries.CompanyInfo:
        """Check the company is loaded; reload ledgers if masters changed since the last load."""
        info = queries.company_info(self._client)
        if info is None:
            raise ConnectionFailedError(
                f"the company {self._client.company!r} is not open in Tally",
                hint="Open it in Tally (F3 Select Company), or correct `company:` to its name "
                "exactly as Tally shows it",
                context=ErrorContext(system="tally", location=self._client.url),
            )
        if info.alt_master_id != self._master_id:
            self.reload()
            self._master_id = info.alt_master_id
        return info

    def reload(self) -> None:
        """Read every ledger again; stock items are read again when next needed."""
        nodes = queries.ledgers(self._client)
        self._ledgers = {}
        for node in nodes:
            info = ledger_info(node, self._currency)
            self._ledgers[info.name] = info
        self._folded = {name.casefold(): name for name in self._ledgers}
        self._stock = None

    def ledger(self, name: str) -> LedgerInfo | None:
        """The ledger of this name (Tally compares names without regard to case)."""
        exact = self._ledgers.get(name)
        if exact is not None:
            return exact
        folded = self._folded.get(name.casefold())
        return self._ledgers.get(folded) if folded else None

    def ledgers(self) -> list[LedgerInfo]:
        """Every ledger as last loaded."""
        return list(self._ledgers.values())

    def remember(self, info: LedgerInfo, *, replaces: str | None = None) -> None:
        """Record a ledger ledgerlink just wrote (renamed from ``replaces``)."""
        if replaces and replaces != info.name:
            self._ledgers.pop(replaces, None)
            self._folded.pop(replaces.casefold(), None)
        self._ledgers[info.name] = info
        self._folded[info.name.casefold()] = info.name
        self._master_id = None  # our own write moved AltMstId; re-check next time

    def forget_master_id(self) -> None:
        """Force a ledger reload on the next ``refresh`` (after an ambiguous master import)."""
        self._master_id = None

    def missing_stock(self, names: set[str]) -> set[str]:
        """Which of these stock items Tally does not have."""
        if self._stock is None:
            self._stock = queries.stock_items(self._client)
        folded = {n.casefold() for n in self._stock}
        return {n for n in names if n.casefold() not in folded}

    def add_stock(self, names: set[str]) -> None:
        """Record stock items ledgerlink just created."""
        if self._stock is not None:
            self._stock |= names
