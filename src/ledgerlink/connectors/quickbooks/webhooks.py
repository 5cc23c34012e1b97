"""QuickBooks webhooks: the ``intuit-signature`` check on raw bytes; the changes they announce.

The signature is base64(HMAC-SHA256(key = the app's verifier token, message = the raw body)); it is
checked before the body is parsed, in constant time. A notification is a hint, not data: the
service reads the entities (or runs CDC) afterwards, because delivery is best-effort, batched and
possibly out of order.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

SIGNATURE_HEADER = "intuit-signature"
# CloudEvents types say ``qbo.invoice.created.v1``; the legacy form says ``Create``.
_OPERATIONS = {"created": "Create", "updated": "Update", "deleted": "Delete", "voided": "Void"}
_OPERATIONS.update(merged="Merge", emailed="Emailed")


def expected_signature(body: bytes, verifier_token: str) -> bytes:
    """The raw HMAC-SHA256 digest Intuit signs ``body`` with."""
    return hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()


def verify_signature(body: bytes, signature: str | None, verifier_token: str) -> bool:
    """True when ``signature`` (the header value) signs exactly these ``body`` bytes.

    A missing, empty or malformed header is simply invalid; the comparison is constant-time.
    """
    if not signature or not verifier_token:
        return False
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, expected_signature(body, verifier_token))


@dataclass(frozen=True, slots=True)
class EntityChange:
    """One change a notification announces."""

    realm_id: str
    entity: str
    entity_id: str
    operation: str
    last_updated: str = ""
    event_id: str = ""


def parse_notification(body: bytes) -> list[EntityChange]:
    """The changes in a (verified) notification, legacy or CloudEvents form.

    Legacy: ``{"eventNotifications": [{"realmId", "dataChangeEvent": {"entities": [...]}}]}``.
    CloudEvents: a JSON array of ``{id, type: "qbo.<entity>.<operation>.v1", intuitentityid,
    intuitaccountid, time}``. Anything else yields no changes.
    """
    try:
        payload = json.loads(body)
    except ValueError:
        return []
    if isinstance(payload, list):
        return [c for c in (_cloud_event(e) for e in payload if isinstance(e, dict)) if c]
    if not isinstance(payload, dict):
        return []
    changes: list[EntityChange] = []
    for note in payload.get("eventNotifications") or []:
        if not isinstance(note, dict):
            continue
        realm = str(note.get("realmId") or "")
        for entity in (note.get("dataChangeEvent") or {}).get("entities") or []:
            if isinstance(entity, dict):
                changes.append(
                    EntityChange(
                        realm_id=realm,
                        entity=str(entity.get("name") or ""),
                        entity_id=str(entity.get("id") or ""),
                        operation=str(entity.get("operation") or ""),
                        last_updated=str(entity.get("lastUpdated") or ""),
                    )
                )
    return changes


def _cloud_event(event: dict[str, object]) -> EntityChange | None:
    parts = str(event.get("type") or "").split(".")
    if len(parts) != 4 or parts[0] != "qbo":
        return None
    return EntityChange(
        realm_id=str(event.get("intuitaccountid") or ""),
        entity=parts[1].capitalize(),
        entity_id=str(event.get("intuitentityid") or ""),
        operation=_OPERATIONS.get(parts[2], parts[2].capitalize()),
        last_updated=str(event.get("time") or ""),
        event_id=str(event.get("id") or ""),
    )
