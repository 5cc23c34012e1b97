"""Configuration errors name the file, the line and the fix; ${ENV} interpolation; the schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledgerlink.config.loader import load_config, parse_config
from ledgerlink.config.model import config_schema
from ledgerlink.connectors.registry import CONNECTOR_TYPES
from ledgerlink.errors import ConfigError

GOOD = """\
version: 1
state: sqlite:///state.db
connections:
  crm: {type: outlook_csv, path: contacts.csv}
  books:
    type: beancount
    path: ${BOOKS:-books.beancount}
pipes:
  - name: customers
    from: crm.contacts
    to: books.customers
"""


def parse(text: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return parse_config(text, Path("/work/ledgerlink.yaml"), env or {})


def error(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as excinfo:
        parse(text, env)
    return str(excinfo.value)


def test_a_good_config_loads_and_resolves_state_next_to_it() -> None:
    loaded = parse(GOOD)
    assert loaded.config.pipes[0].source_stream == "contacts"
    assert loaded.state_url() == "sqlite:////work/state.db"


def test_env_interpolation_with_default_and_value() -> None:
    assert parse(GOOD).config.connections["books"].path == "books.beancount"  # type: ignore[attr-defined]
    loaded = parse(GOOD, {"BOOKS": "/srv/ledger.beancount"})
    assert loaded.config.connections["books"].path == "/srv/ledger.beancount"  # type: ignore[attr-defined]


def test_missing_env_var_names_line_and_variable() -> None:
    message = error(GOOD.replace("${BOOKS:-books.beancount}", "${BOOKS}"))
    assert "ledgerlink.yaml:7" in message
    assert "BOOKS" in message


def test_unknown_key_names_the_line_and_the_fix() -> None:
    message = error(
        GOOD.replace("    to: books.customers\n", "    to: books.customers\n    mapp: {}\n")
    )
    assert "ledgerlink.yaml:12" in message
    assert "mapp" in message
    assert "Remove" in message


def test_unknown_connector_key_points_into_the_connection() -> None:
    message = error(GOOD.replace("    path: ${BOOKS:-books.beancount}", "    pth: books.beancount"))
    assert "ledgerlink.yaml:" in message
    assert "pth" in message


def test_unknown_connection_type_lists_known_types() -> None:
    message = error(GOOD.replace("type: outlook_csv", "type: salesforse"))
    assert "ledgerlink.yaml:4" in message
    assert "beancount" in message
    assert "csv" in message


def test_pipe_naming_an_undefined_connection() -> None:
    message = error(GOOD.replace("from: crm.contacts", "from: hubspot.contacts"))
    assert "hubspot" in message


def test_bad_filter_is_a_config_error_at_load_time() -> None:
    message = error(
        GOOD.replace(
            "    to: books.customers\n", "    to: books.customers\n    when: \"open('x')\"\n"
        )
    )
    assert "ledgerlink.yaml:12" in message
    assert "not allowed" in message


def test_yaml_syntax_error_names_the_line() -> None:
    message = error("version: 1\nconnections: {a: [\n")
    assert "ledgerlink.yaml:" in message
    assert "YAML" in message


def test_missing_file_suggests_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ledgerlink init"):
        load_config(tmp_path / "nope.yaml")


def test_schema_covers_every_connector_type() -> None:
    schema = config_schema()
    variants = schema["properties"]["connections"]["additionalProperties"]["oneOf"]
    titles = {v["$ref"].rsplit("/", 1)[1] for v in variants}
    assert len(titles) == len(CONNECTOR_TYPES)
    assert "pipes" in schema["required"]
