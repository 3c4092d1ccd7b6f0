"""The wait estimate a visit was shown at join, and how often it changed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.add_column(sa.Column("estimate_low_min", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("estimate_high_min", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("estimate_s", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("estimate_changes", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_index("visits_answered_at", "visits", ["answered_at"])


def downgrade() -> None:
    op.drop_index("visits_answered_at", table_name="visits")
    with op.batch_alter_table("visits") as batch:
        for column in ("estimate_changes", "estimate_s", "estimate_high_min", "estimate_low_min"):
            batch.drop_column(column)
