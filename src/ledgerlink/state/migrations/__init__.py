"""Alembic migrations of the state database, run programmatically by ``ledgerlink.state.db``."""
