"""Alembic environment: migrates the connection handed over by ``ledgerlink.state.db``.

There is no ``alembic.ini``: ``ledgerlink.state.db.alembic_config`` builds the configuration and
puts an open connection (already inside a locked transaction) in ``config.attributes``. To write a
new revision against a scratch database::

    from alembic import command
    from ledgerlink.state.db import alembic_config, connect_engine
    engine = connect_engine("sqlite:///scratch.db")
    with engine.begin() as conn:
        cfg = alembic_config(conn)
        command.upgrade(cfg, "head")
        command.revision(cfg, message="what changed", autogenerate=True, rev_id="0002")

then bump ``HEAD_REVISION`` in ``db.py`` (a test checks that it matches).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from ledgerlink.state.tables import VERSION_TABLE, metadata


def run_migrations_online() -> None:
    """Run the pending migrations on the connection the caller provided."""
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        msg = "ledgerlink migrations run through ledgerlink.state.db, which passes a connection"
        raise RuntimeError(msg)
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    msg = "offline (SQL script) migrations are not supported; open the database instead"
    raise RuntimeError(msg)
run_migrations_online()
