"""Personal data, only when VIDEODESK_RECORD_PERSONAL_DATA=true, and erasable.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "personal_data",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("patient", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=False),
        sa.Column("erased_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("personal_data_patient", "personal_data", ["patient"])
    op.create_index("personal_data_at", "personal_data", ["at"])


def downgrade() -> None:
    op.drop_table("personal_data")
