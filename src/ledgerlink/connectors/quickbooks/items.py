"""Find-or-create the service Items invoice lines refer to, remembered for the connection's life."""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from ledgerlink.connectors.quickbooks.batches import reactivate
from ledgerlink.connectors.quickbooks.client import (
    BATCH_REQUEST_ID_MAX,
    SYSTEM,
    QboApi,
    in_list,
    request_id,
    select,
)
from ledgerlink.connectors.quickbooks.config import QuickBooksOnlineConfig
from ledgerlink.connectors.quickbooks.dto import Fault, ItemDto, Ref
from ledgerlink.errors import ErrorContext, RecordError

log = logging.getLogger("ledgerlink.quickbooks")


class ItemCatalog:
    """Items by name: looked up once (inactive ones too), created when missing and allowed."""

    def __init__(self, api: QboApi, config: QuickBooksOnlineConfig) -> None:
        self._api, self._config = api, config
        self._items: dict[str, ItemDto] = {}
        self.created = 0

    def refs(self, names: Collection[str]) -> dict[str, Ref | RecordError]:
        """A reference per item name, or the reason it cannot be used."""
        wanted = sorted({n for n in names if n.casefold() not in self._items})
        if wanted:
            self._lookup(wanted)
        problems: dict[str, RecordError] = {}
        self._reactivate(names, problems)
        missing = sorted({n for n in names if n.casefold() not in self._items} - set(problems))
        if missing:
            self._create(missing, problems)
        result: dict[str, Ref | RecordError] = {}
        for name in names:
            item = self._items.get(name.casefold())
            if name in problems:
                result[name] = problems[name]
            elif item is not None and item.id:
                result[name] = Ref(value=item.id, name=item.name)
            else:
                result[name] = RecordError(f"the item {name!r} could not be found or created")
        return result

    def _lookup(self, names: list[str]) -> None:
        for start in range(0, len(names), 50):
            chunk = names[start : start + 50]
            statement = select(
                "Item", in_list("Name", chunk), "Active IN (true, false)", tail=" MAXRESULTS 1000"
            )
            result, _ = self._api.query(statement)
            for row in result.get("Item") or []:
                self._remember(row)

    def _remember(self, row: dict[str, Any]) -> None:
        item = ItemDto.model_validate(row)
        if item.name:
            self._items[item.name.casefold()] = item

    def _reactivate(self, names: Collection[str], problems: dict[str, RecordError]) -> None:
        inactive = {
            n: item
            for n in names
            if (item := self._items.get(n.casefold())) is not None and item.active is False
        }
        if not inactive:
            return
        if not self._config.reactivate_inactive:
            for name in inactive:
                problems[name] = RecordError(
                    f"the item {name!r} is inactive in QuickBooks",
                    hint="Make it active in QuickBooks, or set `reactivate_inactive: true`",
                    context=ErrorContext(system=SYSTEM, vendor_code="610"),
                )
            return
        rows = [{"Id": i.id, "SyncToken": i.sync_token} for i in inactive.values()]
        faults = reactivate(self._api, "Item", rows)
        for name, item in inactive.items():
            fault = faults.get(str(item.id))
            if fault is None:
                log.info("QuickBooks item %r was inactive; reactivated it", name)
                token = str(int(item.sync_token or "0") + 1)
                self._items[name.casefold()] = item.model_copy(
                    update={"active": True, "sync_token": token}
                )
            else:
                problems[name] = RecordError(
                    f"the inactive item {name!r} could not be reactivated: {fault.describe()}"
                )

    def _create(self, names: list[str], problems: dict[str, RecordError]) -> None:
        account = self._config.income_account
        if account is None:
            for name in names:
                problems[name] = RecordError(
                    f"the item {name!r} does not exist in QuickBooks",
                    hint="Create a service item with that name in QuickBooks, or set "
                    "`income_account` so ledgerlink creates missing items",
                )
            return
        for start in range(0, len(names), 30):
            chunk = names[start : start + 30]
            items = [
                {
                    "bId": f"i{i}",
                    "operation": "create",
                    "Item": {"Name": n, "Type": "Service", "IncomeAccountRef": {"value": account}},
                }
                for i, n in enumerate(chunk)
            ]
            rid = request_id("item", account, *chunk, limit=BATCH_REQUEST_ID_MAX)
            answers = {str(a.get("bId")): a for a in self._api.batch(items, rid)}
            for i, name in enumerate(chunk):
                answer = answers.get(f"i{i}") or {}
                if isinstance(answer.get("Item"), dict):
                    self._remember(answer["Item"])
                    self.created += 1
                    log.info("created QuickBooks service item %r", name)
                    continue
                fault = Fault.model_validate(answer.get("Fault") or {})
                problems[name] = RecordError(
                    f"the item {name!r} could not be created: {fault.describe()}",
                    context=ErrorContext(system=SYSTEM, vendor_code=fault.code or None),
                )
