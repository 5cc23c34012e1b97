"""Source aliases: other keys a source names a record by (GoldMine deletions by row id).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``source_aliases``."""
    op.create_table(
        "source_aliases",
        sa.Column("pipe", sa.Text(), nullable=False),
        sa.Column("alias", sa.Text(), nullable=False),
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pipe", "alias", name="pk_source_aliases"),
    )


def downgrade() -> None:
    """Drop ``source_aliases`` (deletions logged under an alias are then only counted)."""
    op.drop_table("source_aliases")
