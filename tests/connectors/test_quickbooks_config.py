"""The QuickBooks connection's configuration: defaults, refusals, documented keys, no I/O."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from ledgerlink.connectors.base import ConnectorContext, SourceConnector, TargetConnector
from ledgerlink.connectors.quickbooks.config import (
    PRODUCTION_BASE_URL,
    PRODUCTION_TOKEN_URL,
    QuickBooksOnlineConfig,
)
from ledgerlink.connectors.quickbooks.connector import QuickBooksOnlineConnector
from ledgerlink.connectors.registry import connector_type

MINIMAL = {
    "type": "quickbooks_online",
    "realm_id": "9130",
    "client_id": "cid",
    "client_secret": "csecret",
    "refresh_token": "RT",
}


def test_the_registry_builds_it_from_a_minimal_entry_without_touching_the_network() -> None:
    kind = connector_type("quickbooks_online")
    config = kind.config_model().model_validate(MINIMAL)
    assert isinstance(config, QuickBooksOnlineConfig)
    assert config.base_url == PRODUCTION_BASE_URL
    assert config.token_url == PRODUCTION_TOKEN_URL
    assert config.minor_version == 75

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"constructing the connector sent {request.url}")

    connector = QuickBooksOnlineConnector(
        config, ConnectorContext("books", Path()), transport=httpx.MockTransport(refuse)
    )
    assert isinstance(connector, TargetConnector)
    assert isinstance(connector, SourceConnector)
    assert connector.writable_streams() == ("customers", "invoices")
    assert set(connector.readable_streams()) == {"payments", "invoices", "customers"}


def test_secrets_are_hidden_when_the_config_is_printed() -> None:
    config = QuickBooksOnlineConfig.model_validate(MINIMAL)
    assert "csecret" not in repr(config)
    assert "RT'" not in repr(config)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"refresh_token": None}, "refresh_token"),
        ({"minor_version": 40}, "minor_version"),
        ({"batch_size": 31}, "batch_size"),
        ({"currency": "DOLLARS"}, "currency"),
        ({"base_url": "quickbooks.example"}, "base_url"),
        ({"disambiguate": "guess"}, "disambiguate"),
        ({"unknown_key": 1}, "unknown_key"),
    ],
)
def test_mistakes_are_refused_with_the_key_named(change: dict[str, object], complaint: str) -> None:
    entry = {**MINIMAL, **change}
    if entry.get("refresh_token") is None:
        entry.pop("refresh_token")
    with pytest.raises(ValidationError) as caught:
        QuickBooksOnlineConfig.model_validate(entry)
    assert complaint in str(caught.value)


def test_every_key_is_documented_for_editor_completion() -> None:
    schema = QuickBooksOnlineConfig.model_json_schema()
    undocumented = [k for k, v in schema["properties"].items() if not v.get("description")]
    assert undocumented == []
