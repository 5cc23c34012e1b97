"""Initial state schema: runs, pipe state, cursors, links, intents, dead letters, audit chain.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create every table and seed the audit chain's head."""
    op.create_table(
        "runs",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    op.create_table(
        "pipe_state",
        sa.Column("pipe", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=True),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("pipe", name="pk_pipe_state"),
    )
    op.create_table(
        "cursors",
        sa.Column("pipe", sa.Text(), nullable=False),
        sa.Column("stream", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("pipe", "stream", name="pk_cursors"),
    )
    op.create_table(
        "links",
        sa.Column("pipe", sa.Text(), nullable=False),
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("target_id", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("desired_hash", sa.String(64), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("ledgerlink_id", sa.Text(), nullable=False),
        _ts("updated_at"),
        sa.Column("last_run_id", sa.String(26), nullable=True),
        sa.ForeignKeyConstraint(
            ["last_run_id"], ["runs.id"], name="fk_links_last_run_id_runs", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("pipe", "source_key", name="pk_links"),
    )
    op.create_index("ix_links_pipe_target_id", "links", ["pipe", "target_id"])
    op.create_table(
        "intents",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(26), nullable=True),
        sa.Column("pipe", sa.Text(), nullable=False),
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("ledgerlink_id", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("created_at"),
        _ts("completed_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_intents_run_id_runs", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("key", name="pk_intents"),
    )
    op.create_index("ix_intents_pipe_status", "intents", ["pipe", "status"])
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pipe", sa.Text(), nullable=False),
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("hint", sa.Text(), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("first_seen"),
        _ts("last_seen"),
        sa.Column("last_run_id", sa.String(26), nullable=True),
        _ts("resolved_at", nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["last_run_id"],
            ["runs.id"],
            name="fk_dead_letters_last_run_id_runs",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
    )
    op.create_index(
        "uq_dead_letters_open",
        "dead_letters",
        ["pipe", "source_key"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        _ts("at"),
        sa.Column("run_id", sa.String(26), nullable=True),
        sa.Column("pipe", sa.Text(), nullable=False),
        sa.Column("source_key", sa.Text(), nullable=True),
        sa.Column("target_id", sa.Text(), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])


def downgrade() -> None:
    """Drop everything (the state is lost)."""
    for table in (
        "audit_head",
        "audit_log",
        "dead_letters",
        "intents",
        "links",
        "cursors",
        "pipe_state",
        "runs",
    ):
        op.drop_table(table)
