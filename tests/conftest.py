"""Shared fixtures: PostgreSQL (real, per-test schema) and state URLs on SQLite and PostgreSQL."""

from tests.services import postgres_schema_url, postgres_url, state_url

__all__ = ["postgres_schema_url", "postgres_url", "state_url"]
