"""Review queues and retry timing: field conflicts, match reviews, dead-letter backoff.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _run_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["run_id"], ["runs.id"], name=f"fk_{table}_run_id_runs", ondelete="SET NULL"
    )


def upgrade() -> None:
    """Create ``conflicts`` and ``match_reviews``; add ``dead_letters.next_attempt_at``."""
    op.create_table(
        "conflicts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pipe", sa.Text(), nullable=False),
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("target_id", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("base_value", sa.JSON(), nullable=True),
        sa.Column("crm_value", sa.JSON(), nullable=True),
        sa.Column("books_value", sa.JSON(), nullable=True),
        sa.Column("run_id", sa.String(26), nullable=True),
        _ts("detected_at"),
        _ts("resolved_at", nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_value", sa.JSON(), nullable=True),
        _run_fk("conflicts"),
        sa.PrimaryKeyConstraint("id", name="pk_conflicts"),
    )
    op.create_index(
        "uq_conflicts_open",
        "conflicts",
        ["pipe", "source_key", "field"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_table(
        "match_reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pipe", sa.Text(), nullable=False),
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("run_id", sa.String(26), nullable=True),
        _ts("created_at"),
        _ts("decided_at", nullable=True),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("target_id", sa.Text(), nullable=True),
        _run_fk("match_reviews"),
        sa.PrimaryKeyConstraint("id", name="pk_match_reviews"),
    )
    op.create_index(
        "uq_match_reviews_pipe_source_key",
        "match_reviews",
        ["pipe", "source_key"],
        unique=True,
    )
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(_ts("next_attempt_at", nullable=True))


def downgrade() -> None:
    """Drop the review queues and the retry timing (open reviews and conflicts are lost)."""
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_column("next_attempt_at")
    op.drop_index("uq_match_reviews_pipe_source_key", table_name="match_reviews")
    op.drop_table("match_reviews")
    op.drop_index("uq_conflicts_open", table_name="conflicts")
    op.drop_table("conflicts")
