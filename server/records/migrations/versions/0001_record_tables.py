"""The record tables: events, visits, surveys, call-backs, audit.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(length=40)
NAME = sa.String(length=64)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", ID, primary_key=True),
        sa.Column("stream_ms", sa.BigInteger(), nullable=False),
        sa.Column("stream_seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("type", NAME, nullable=False),
        sa.Column("patient", NAME, nullable=True),
        sa.Column("agent", NAME, nullable=True),
        sa.Column("queue", NAME, nullable=True),
        sa.Column("call", NAME, nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
    )
    op.create_index("events_order", "events", ["stream_ms", "stream_seq"])
    op.create_index("events_at", "events", ["at"])
    op.create_index("events_patient", "events", ["patient"])

    op.create_table(
        "visits",
        sa.Column("id", ID, primary_key=True),
        sa.Column("patient", NAME, nullable=False),
        sa.Column("ticket", NAME, nullable=False),
        sa.Column("queue", NAME, nullable=False),
        sa.Column("joined_at", sa.BigInteger(), nullable=False),
        sa.Column("answered_at", sa.BigInteger(), nullable=True),
        sa.Column("wait_ms", sa.BigInteger(), nullable=True),
        sa.Column("call", NAME, nullable=False),
        sa.Column("agent", NAME, nullable=False),
        sa.Column("handle_ms", sa.BigInteger(), nullable=True),
        sa.Column("outcome", NAME, nullable=False),
        sa.Column("rating", NAME, nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("callback", NAME, nullable=False),
        sa.Column("end", NAME, nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("visits_joined_at", "visits", ["joined_at"])
    op.create_index("visits_patient", "visits", ["patient"])

    op.create_table(
        "surveys",
        sa.Column("id", ID, primary_key=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("patient", NAME, nullable=False),
        sa.Column("call", NAME, nullable=False),
        sa.Column("queue", NAME, nullable=False),
        sa.Column("rating", NAME, nullable=False),
    )
    op.create_index("surveys_at", "surveys", ["at"])

    op.create_table(
        "callbacks",
        sa.Column("id", ID, primary_key=True),
        sa.Column("patient", NAME, nullable=False),
        sa.Column("queue", NAME, nullable=False),
        sa.Column("mode", NAME, nullable=False),
        sa.Column("requested_at", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=True),
        sa.Column("cancelled_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("callbacks_requested_at", "callbacks", ["requested_at"])
    op.create_index("callbacks_patient", "callbacks", ["patient"])

    op.create_table(
        "audit",
        sa.Column("id", ID, primary_key=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("action", NAME, nullable=False),
        sa.Column("actor", NAME, nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
    )
    op.create_index("audit_at", "audit", ["at"])


def downgrade() -> None:
    for table in ("audit", "callbacks", "surveys", "visits", "events"):
        op.drop_table(table)
