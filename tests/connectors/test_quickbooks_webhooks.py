"""QuickBooks webhooks: signatures checked on the raw bytes in constant time; both payload forms."""

from __future__ import annotations

import base64

from ledgerlink.connectors.quickbooks.webhooks import (
    SIGNATURE_HEADER,
    parse_notification,
    verify_signature,
)
from tests.emulators.qbo import ManualClock, QboEmulator, cloud_events, notification

TOKEN = "verifier-token-from-the-app"


def _signed() -> tuple[QboEmulator, bytes, str]:
    emulator = QboEmulator(clock=ManualClock(), verifier_token=TOKEN)
    customer = emulator.seed("Customer", {"DisplayName": "Acme"})
    emulator.change("Customer", customer["Id"], {"CompanyName": "Acme Inc"})
    body, headers = notification(emulator.company, TOKEN)
    return emulator, body, headers[SIGNATURE_HEADER]


def test_a_notification_signed_like_intuits_is_accepted_and_read() -> None:
    emulator, body, signature = _signed()
    assert verify_signature(body, signature, TOKEN)
    changes = parse_notification(body)
    assert [(c.entity, c.operation) for c in changes] == [
        ("Customer", "Create"),
        ("Customer", "Update"),
    ]
    assert {c.realm_id for c in changes} == {emulator.realm_id}


def test_a_wrong_key_a_missing_header_or_garbage_is_rejected() -> None:
    _, body, signature = _signed()
    assert not verify_signature(body, signature, "another-apps-token")
    assert not verify_signature(body, None, TOKEN)
    assert not verify_signature(body, "", TOKEN)
    assert not verify_signature(body, "not base64 at all!", TOKEN)
    assert not verify_signature(body, signature, "")


def test_any_change_to_the_bytes_breaks_the_signature() -> None:
    _, body, signature = _signed()
    tampered = body.replace(b'"Update"', b'"Delete"')
    assert tampered != body
    assert not verify_signature(tampered, signature, TOKEN)
    reserialised = body.replace(b",", b", ")  # same JSON, different bytes
    assert not verify_signature(reserialised, signature, TOKEN)
    flipped = bytearray(base64.b64decode(signature))
    flipped[0] ^= 1
    assert not verify_signature(body, base64.b64encode(bytes(flipped)).decode(), TOKEN)


def test_the_cloudevents_form_is_read_too() -> None:
    emulator = QboEmulator(clock=ManualClock(), verifier_token=TOKEN)
    emulator.seed("Customer", {"DisplayName": "Acme"})
    body, headers = cloud_events(emulator.company, TOKEN)
    assert verify_signature(body, headers[SIGNATURE_HEADER], TOKEN)
    (change,) = parse_notification(body)
    assert (change.entity, change.operation, change.entity_id) == ("Customer", "Create", "1")
    assert change.event_id


def test_unreadable_bodies_announce_nothing() -> None:
    assert parse_notification(b"not json") == []
    assert parse_notification(b'{"unexpected": true}') == []
