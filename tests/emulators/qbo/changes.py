"""Change Data Capture (accounting-systems.md §1.6) and signed webhooks (§1.11)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date, datetime, time, timedelta
from typing import Any

from tests.emulators.qbo import wire
from tests.emulators.qbo.clock import COMPANY_TZ, stamp
from tests.emulators.qbo.company import Company, public
from tests.emulators.qbo.faults import QboFault

CDC_WINDOW = timedelta(days=30)  # §1.6: CDC looks back at most 30 days
CDC_MAX_OBJECTS = 1000  # §1.6: one response carries at most 1,000 objects
CDC_ENTITIES = frozenset(("Customer", "Vendor", "Item", "Invoice", "Payment"))
_PAST = {"Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided"}


def parse_since(text: str) -> datetime:
    """``changedSince``: ISO date or date-time; without an offset it is company time (§1.6)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text.strip()), time())
        except ValueError:
            raise QboFault("4000", "Error parsing query", f"changedSince {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=COMPANY_TZ)


def run_cdc(company: Company, entities: str, changed_since: str) -> list[dict[str, Any]]:
    """The ``CDCResponse`` list for ``entities`` changed since ``changed_since``.

    ⚠ (third-party, consistent across sources): a ``changedSince`` older than 30 days is an error,
    not a partial answer. Deleted objects carry only Id, ``status: Deleted`` and LastUpdatedTime;
    voided ones come whole with ``status: Voided`` (§1.6, EntityStatusEnum).
    """
    since = parse_since(changed_since)
    now = company.clock.now()
    if now - since > CDC_WINDOW:
        raise QboFault(
            "4001",
            "Invalid query",
            "changedSince must be within the last 30 days; run a full query instead",
        )
    names = [n.strip() for n in entities.split(",") if n.strip()]
    unknown = [n for n in names if n not in CDC_ENTITIES]
    if not names or unknown:
        raise QboFault("4001", "Invalid query", f"unsupported CDC entities: {unknown or names}")
    found: list[tuple[datetime, str, dict[str, Any]]] = []
    with company.lock:
        for name in names:
            for stored in company.entities.get(name, {}).values():
                updated = datetime.fromisoformat(stored["MetaData"]["LastUpdatedTime"])
                if updated >= since:
                    shown = public(stored)
                    if stored.get("_status"):
                        shown["status"] = stored["_status"]
                    found.append((updated, name, shown))
            for identifier, when in company.tombstones.get(name, {}).items():
                if when >= since:
                    tombstone = {
                        "Id": identifier,
                        "status": "Deleted",
                        "domain": "QBO",
                        "MetaData": {"LastUpdatedTime": stamp(when)},
                    }
                    found.append((when, name, tombstone))
    found.sort(key=lambda row: row[0])
    found = found[:CDC_MAX_OBJECTS]
    responses: list[dict[str, Any]] = []
    for name in names:
        rows = [row for _, entity, row in found if entity == name]
        if rows:
            responses.append({name: rows, "startPosition": 1, "maxResults": len(rows)})
        else:
            responses.append({})
    return [{"QueryResponse": responses}]


def sign(body: bytes, verifier_token: str) -> str:
    """§1.11: ``intuit-signature`` is base64(HMAC-SHA256(key=verifier token, msg=raw body))."""
    digest = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def notification(
    company: Company, verifier_token: str, after: int = 0
) -> tuple[bytes, dict[str, str]]:
    """A legacy-format webhook POST (§1.11) for changes after sequence ``after``, signed."""
    entities = [
        {
            "name": change.entity,
            "id": change.identifier,
            "operation": change.operation,
            "lastUpdated": change.at.astimezone(COMPANY_TZ).isoformat(timespec="milliseconds"),
        }
        for change in company.changes
        if change.sequence > after
    ]
    payload = {
        "eventNotifications": [
            {"realmId": company.realm_id, "dataChangeEvent": {"entities": entities}}
        ]
    }
    body = wire.dumps(payload)
    return body, {
        "intuit-signature": sign(body, verifier_token),
        "content-type": "application/json",
    }


def cloud_events(
    company: Company, verifier_token: str, after: int = 0
) -> tuple[bytes, dict[str, str]]:
    """The newer CloudEvents form (§1.11): a JSON array, type ``qbo.{entity}.{operation}.v1``."""
    events = [
        {
            "specversion": "1.0",
            "id": f"{company.realm_id}-{change.sequence}",
            "source": "intuit.emulator",
            "type": f"qbo.{change.entity.lower()}.{_PAST[change.operation]}.v1",
            "datacontenttype": "application/json",
            "time": change.at.isoformat(),
            "intuitentityid": change.identifier,
            "intuitaccountid": company.realm_id,
            "data": {},
        }
        for change in company.changes
        if change.sequence > after
    ]
    body = wire.dumps(events)
    return body, {
        "intuit-signature": sign(body, verifier_token),
        "content-type": "application/json",
    }
