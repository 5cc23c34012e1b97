"""The conformance suite every connector type passes: configuration, construction, reachability."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ledgerlink.connectors.base import ConnectorContext, SourceConnector, TargetConnector
from ledgerlink.connectors.registry import CONNECTOR_TYPES
from ledgerlink.errors import ConfigError, ConnectionFailedError

SECRET = "s3cr3t-never-shown"

# A minimal valid configuration of each type, pointing at nothing that exists or answers.
UNREACHABLE: dict[str, dict[str, Any]] = {
    "csv": {"contacts": "missing/contacts.csv"},
    "outlook_csv": {"path": "missing/contacts.csv"},
    "vcard": {"path": "missing/contacts.vcf"},
    "beancount": {"path": "missing/books.beancount", "create": False},
    "goldmine": {"url": "postgresql://gm:" + SECRET + "@127.0.0.1:9/goldmine", "currency": "USD"},
    "quickbooks_online": {
        "realm_id": "9130",
        "client_id": "client",
        "client_secret": SECRET,
        "refresh_token": SECRET,
        "base_url": "http://127.0.0.1:9/v3/company",
        "token_url": "http://127.0.0.1:9/oauth2/v1/tokens/bearer",
    },
    "tally": {"url": "http://127.0.0.1:9", "company": "Demo Co", "company_state": "Karnataka"},
}

TYPES = sorted(CONNECTOR_TYPES)


def test_every_type_has_a_conformance_entry() -> None:
    assert set(UNREACHABLE) == set(CONNECTOR_TYPES)


@pytest.mark.parametrize("name", TYPES)
def test_config_rejects_unknown_keys_and_documents_every_key(name: str) -> None:
    model = CONNECTOR_TYPES[name].config_model()
    with pytest.raises(ValidationError):
        model.model_validate({"type": name, **UNREACHABLE[name], "no_such_key": 1})
    undocumented = [k for k, f in model.model_fields.items() if not f.description]
    assert undocumented == []
    schema = model.model_json_schema()
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("name", TYPES)
def test_construction_does_no_io(name: str, tmp_path: Path) -> None:
    kind = CONNECTOR_TYPES[name]
    config = kind.config_model().model_validate({"type": name, **UNREACHABLE[name]})
    connector = kind.build(config, ConnectorContext(name="x", base_dir=tmp_path))
    assert list(tmp_path.iterdir()) == []
    if kind.role == "crm":
        assert isinstance(connector, SourceConnector)
        assert set(connector.readable_streams()) & {"contacts", "deals"}
    else:
        assert isinstance(connector, TargetConnector)
        assert {"customers", "invoices"} <= set(connector.writable_streams())


@pytest.mark.parametrize("name", TYPES)
def test_unreachable_system_is_a_clear_error_without_secrets(name: str, tmp_path: Path) -> None:
    kind = CONNECTOR_TYPES[name]
    config = kind.config_model().model_validate({"type": name, **UNREACHABLE[name]})
    connector = kind.build(config, ConnectorContext(name="x", base_dir=tmp_path))
    with pytest.raises((ConnectionFailedError, ConfigError)) as excinfo:
        connector.check()
    message = str(excinfo.value)
    assert SECRET not in message
    assert excinfo.value.hint or "missing" in message or "127.0.0.1" in message


SAMPLES = Path(__file__).resolve().parents[2] / "src" / "ledgerlink" / "demo" / "samples"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crm"
FILE_SOURCES: list[tuple[str, dict[str, Any], str]] = [
    ("csv", {"deals": str(SAMPLES / "deals.csv")}, "deals"),
    ("outlook_csv", {"path": str(SAMPLES / "outlook-contacts.csv")}, "contacts"),
    ("vcard", {"path": str(FIXTURES / "contacts-3.0.vcf")}, "contacts"),
]


@pytest.mark.parametrize(("name", "settings", "stream"), FILE_SOURCES)
def test_sources_resume_from_their_cursor(
    name: str, settings: dict[str, Any], stream: str, tmp_path: Path
) -> None:
    kind = CONNECTOR_TYPES[name]
    config = kind.config_model().model_validate({"type": name, **settings})
    source = kind.build(config, ConnectorContext(name="crm", base_dir=tmp_path))
    assert isinstance(source, SourceConnector)
    first = source.read(stream, None)
    items = list(first)
    cursor = first.cursor()
    assert items
    assert cursor is not None
    assert len({item.key for item in items}) == len(items)
    again = source.read(stream, cursor)
    assert list(again) == []
    assert again.cursor() == cursor
    full = source.read(stream, None)
    assert [(i.key, getattr(i, "version", None)) for i in full] == [
        (i.key, getattr(i, "version", None)) for i in items
    ]
