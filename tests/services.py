"""Real local services for tests: PostgreSQL reachable, or a visible skip (a failure in CI)."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

POSTGRES_URL_ENV = "LEDGERLINK_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
REQUIRE_SERVICES_ENV = "LEDGERLINK_REQUIRE_SERVICES"


def _libpq_url(url: str) -> str:
    """The URL without a SQLAlchemy driver suffix (``postgresql+psycopg://`` -> libpq's form)."""
    parsed = make_url(url)
    return parsed.set(drivername=parsed.get_backend_name()).render_as_string(hide_password=False)


@functools.cache
def _postgres_unreachable_reason(url: str) -> str | None:
    try:
        with psycopg.connect(_libpq_url(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return None


def require_postgres() -> str:
    """The test PostgreSQL URL; skips the test when the server is unreachable, or fails it
    when ``LEDGERLINK_REQUIRE_SERVICES=1`` (CI), naming the URL either way."""
    url = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    reason = _postgres_unreachable_reason(url)
    if reason is not None:
        shown = make_url(url).render_as_string(hide_password=True)
        message = f"PostgreSQL not reachable at {shown} ({reason}); set {POSTGRES_URL_ENV}"
        if os.environ.get(REQUIRE_SERVICES_ENV) == "1":
            pytest.fail(f"{message} ({REQUIRE_SERVICES_ENV}=1 requires it)", pytrace=False)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The reachable test PostgreSQL server's URL (skip or fail as ``require_postgres``)."""
    return require_postgres()


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """A URL whose connections work in a fresh, uniquely named schema, dropped afterwards."""
    schema = f"ll_test_{uuid.uuid4().hex[:16]}"
    admin = _libpq_url(postgres_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    scoped = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield scoped.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A URL of an empty state database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('state') / 'state.db'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url
