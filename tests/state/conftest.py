"""Fixtures for the state tests: every behaviour runs on SQLite and on PostgreSQL.

PostgreSQL and the ``state_url`` parametrisation live in ``tests/services.py`` (shared).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ledgerlink.state import StateStore


class TickingClock:
    """A clock that moves one second per reading, so every timestamp is distinct and known."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def clock() -> TickingClock:
    """A deterministic clock for the store."""
    return TickingClock()


@pytest.fixture
def store(state_url: str, clock: TickingClock) -> Iterator[StateStore]:
    """A state store opened (and migrated) on ``state_url``, closed afterwards."""
    opened = StateStore.open(state_url, clock=clock)
    try:
        yield opened
    finally:
        opened.close()
