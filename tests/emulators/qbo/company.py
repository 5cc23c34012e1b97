"""One emulated company (realm): its entities, SyncTokens, name rules, changes and op log.

Behaviour follows accounting-systems.md §1.3 (entities, inactive vs deleted, 610), §1.4 (SyncToken,
sparse vs full update, 5010) and §1.12 (dates and money). Transaction rules live in ``sales.py``.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.emulators.qbo.clock import EmulatorClock, stamp
from tests.emulators.qbo.faults import (
    QboFault,
    duplicate_name,
    inactive_reference,
    invalid_reference,
    missing_param,
    stale_object,
)

Entity = dict[str, Any]

NAME_LIST = ("Customer", "Vendor", "Employee", "Item")
# §1.3 ⚠: DisplayName uniqueness is widely stated to span Customer, Vendor and Employee together.
SHARED_NAMES = ("Customer", "Vendor", "Employee")
READ_ONLY = ("Id", "SyncToken", "MetaData", "domain", "sparse", "Balance", "TotalAmt")
# §1.4 ⚠: a full (non-sparse) update clears the writable fields it leaves out; these stay.
KEPT_ON_FULL_UPDATE = ("Id", "MetaData", "domain", "Balance", "LinkedTxn", "status")


def public(entity: Entity) -> Entity:
    """A copy fit for a response: the emulator's private keys (``_status``) left out."""
    return {k: copy.deepcopy(v) for k, v in entity.items() if not k.startswith("_")}


@dataclass(frozen=True, slots=True)
class Change:
    """One change, for CDC and webhooks (§1.6, §1.11)."""

    sequence: int
    entity: str
    identifier: str
    operation: str  # Create, Update, Delete, Void
    at: datetime


@dataclass
class Company:
    """The ground truth of one realm; every write goes through ``write`` and lands in ``oplog``."""

    realm_id: str
    clock: EmulatorClock
    name: str = "Emulated Company"
    currency: str = "USD"
    accounts: dict[str, str] = field(
        default_factory=lambda: {"1": "Services", "79": "Sales of Product Income"}
    )
    entities: dict[str, dict[str, Entity]] = field(default_factory=dict)
    tombstones: dict[str, dict[str, datetime]] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    oplog: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    hidden: frozenset[str] = frozenset()
    _next_id: int = 1

    # -- reading ---------------------------------------------------------------------------

    def all(self, entity: str) -> list[Entity]:
        """Every visible stored object of ``entity`` (copies)."""
        with self.lock:
            table = self.entities.get(entity, {})
            return [public(e) for i, e in table.items() if i not in self.hidden]

    def get(self, entity: str, identifier: str) -> Entity:
        """One object by Id; a missing one is 610 Object Not Found (§1.10 table)."""
        with self.lock:
            found = self.peek(entity, identifier)
            if found is None:
                raise QboFault(
                    "610", "Object Not Found", f"Object Not Found : {entity} {identifier}"
                )
            return public(found)

    def peek(self, entity: str, identifier: str) -> Entity | None:
        """The stored object itself (no copy), or None; objects created earlier in the running
        batch are invisible (§1.7: an item cannot see objects created earlier in the batch)."""
        if str(identifier) in self.hidden:
            return None
        return self.entities.get(entity, {}).get(str(identifier))

    # -- writing ---------------------------------------------------------------------------

    def new_id(self) -> str:
        """The next server-assigned Id (a string, §1.3)."""
        with self.lock:
            identifier = str(self._next_id)
            self._next_id += 1
            return identifier

    def store_new(self, entity: str, body: Entity) -> Entity:
        """Give ``body`` an Id, SyncToken "0" and MetaData, store it, log it; return a copy."""
        with self.lock:
            now = self.clock.now()
            stored = copy.deepcopy(body)
            stored.pop("sparse", None)
            stored["Id"] = self.new_id()
            stored["SyncToken"] = "0"
            stored["MetaData"] = {"CreateTime": stamp(now), "LastUpdatedTime": stamp(now)}
            stored["domain"] = "QBO"
            self.entities.setdefault(entity, {})[stored["Id"]] = stored
            self._record(entity, stored["Id"], "Create", now)
            return public(stored)

    def store_update(self, entity: str, body: Entity, *, operation: str = "Update") -> Entity:
        """Apply a sparse or full update after the SyncToken check (§1.4); return a copy."""
        with self.lock:
            current = self.locked_for_update(entity, body)
            if body.get("sparse") is True:
                for key, value in body.items():
                    if key not in READ_ONLY:
                        current[key] = copy.deepcopy(value)
            else:
                kept = {k: current[k] for k in KEPT_ON_FULL_UPDATE if k in current}
                current.clear()
                current.update(kept)
                current.update({k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY})
            return self.touch(entity, current, operation)

    def locked_for_update(self, entity: str, body: Entity) -> Entity:
        """The stored object ``body`` updates, after checking Id and SyncToken (§1.4)."""
        identifier = str(body.get("Id") or "")
        if not identifier:
            raise missing_param("Id")
        if "SyncToken" not in body:
            raise missing_param("SyncToken")
        current = self.peek(entity, identifier)
        if current is None:
            raise QboFault("610", "Object Not Found", f"Object Not Found : {entity} {identifier}")
        if str(body["SyncToken"]) != current["SyncToken"]:
            raise stale_object(entity, identifier)
        return current

    def touch(self, entity: str, current: Entity, operation: str) -> Entity:
        """Bump SyncToken (a string counter, §1.4) and LastUpdatedTime; log; return a copy."""
        now = self.clock.now()
        current["SyncToken"] = str(int(current["SyncToken"]) + 1)
        current["MetaData"]["LastUpdatedTime"] = stamp(now)
        self._record(entity, current["Id"], operation, now)
        return public(current)

    def delete(self, entity: str, body: Entity) -> Entity:
        """Delete a transaction (§1.1: transactions only); it leaves a tombstone for CDC (§1.6)."""
        with self.lock:
            if entity in NAME_LIST:
                raise QboFault(
                    "6000",
                    "A business validation error has occurred",
                    f"{entity} cannot be deleted; make it inactive instead",
                )
            current = self.locked_for_update(entity, body)
            del self.entities[entity][current["Id"]]
            now = self.clock.now()
            self.tombstones.setdefault(entity, {})[current["Id"]] = now
            self._record(entity, current["Id"], "Delete", now)
            return {"Id": current["Id"], "status": "Deleted", "domain": "QBO"}

    def _record(self, entity: str, identifier: str, operation: str, at: datetime) -> None:
        self.changes.append(Change(len(self.changes) + 1, entity, identifier, operation, at))
        self.oplog.append((operation, entity, identifier))

    # -- name-list rules ---------------------------------------------------------------------

    def check_name_free(self, entity: str, name: str, own_id: str | None = None) -> None:
        """6240 when another object holds ``name`` (§1.3; case-insensitive ⚠; inactive ones too)."""
        wanted = name.strip().casefold()
        namespaces: Iterable[str] = SHARED_NAMES if entity in SHARED_NAMES else (entity,)
        field_name = "Name" if entity == "Item" else "DisplayName"
        for space in namespaces:
            key = "Name" if space == "Item" else field_name
            for identifier, other in self.entities.get(space, {}).items():
                if identifier == own_id and space == entity:
                    continue
                if str(other.get(key, "")).strip().casefold() == wanted:
                    raise duplicate_name(name)

    def active_or_fault(self, entity: str, identifier: str, element: str) -> Entity:
        """A referenced name-list object that must exist (2500) and be active (610, §1.3)."""
        found = self.peek(entity, identifier)
        if found is None:
            raise invalid_reference(element, identifier)
        if found.get("Active") is False:
            raise inactive_reference(element)
        return found
