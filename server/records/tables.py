"""The record tables (SQLAlchemy Core). docs/records.md describes each column; the latest
migration in migrations/versions/ must build exactly this (tests/test_records_schema.py).

Times are epoch milliseconds on the desk's clock (the ``at`` of the events). An event's
primary key is its Redis stream id, so recording it twice is a no-op."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

ID = 40  # a Redis stream id: "<ms>-<seq>"
NAME = 64  # patient, agent, call and queue ids, codes

events = Table(
    "events",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("stream_ms", BigInteger, nullable=False),
    Column("stream_seq", BigInteger, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("type", String(NAME), nullable=False),
    Column("patient", String(NAME)),
    Column("agent", String(NAME)),
    Column("queue", String(NAME)),
    Column("call", String(NAME)),
    # Every field of the event as it was written to the stream, JSON.
    Column("fields", Text, nullable=False),
    Index("events_order", "stream_ms", "stream_seq"),
    Index("events_at", "at"),
    Index("events_patient", "patient"),
)

# One row per patient visit: from joining to done, left or abandoned (the session report).
visits = Table(
    "visits",
    metadata,
    Column("id", String(ID), primary_key=True),  # the id of the visit's "joined" event
    Column("patient", String(NAME), nullable=False),
    Column("ticket", String(NAME), nullable=False),
    Column("queue", String(NAME), nullable=False),
    Column("joined_at", BigInteger, nullable=False),
    Column("answered_at", BigInteger),
    Column("wait_ms", BigInteger),
    Column("call", String(NAME), nullable=False),
    Column("agent", String(NAME), nullable=False),
    Column("handle_ms", BigInteger),
    Column("outcome", String(NAME), nullable=False),
    Column("rating", String(NAME), nullable=False),
    Column("transfers", Integer, nullable=False),
    Column("callback", String(NAME), nullable=False),
    Column("end", String(NAME), nullable=False),
    Column("ended_at", BigInteger),
    Index("visits_joined_at", "joined_at"),
    Index("visits_patient", "patient"),
)

surveys = Table(
    "surveys",
    metadata,
    Column("id", String(ID), primary_key=True),  # the "rated" event
    Column("at", BigInteger, nullable=False),
    Column("patient", String(NAME), nullable=False),
    Column("call", String(NAME), nullable=False),
    Column("queue", String(NAME), nullable=False),
    Column("rating", String(NAME), nullable=False),
    Index("surveys_at", "at"),
)

callbacks = Table(
    "callbacks",
    metadata,
    Column("id", String(ID), primary_key=True),  # the "callback_requested" event
    Column("patient", String(NAME), nullable=False),
    Column("queue", String(NAME), nullable=False),
    Column("mode", String(NAME), nullable=False),
    Column("requested_at", BigInteger, nullable=False),
    Column("due_at", BigInteger),
    Column("cancelled_at", BigInteger),
    Index("callbacks_requested_at", "requested_at"),
    Index("callbacks_patient", "patient"),
)

audit = Table(
    "audit",
    metadata,
    Column("id", String(ID), primary_key=True),  # the audit event
    Column("at", BigInteger, nullable=False),
    Column("action", String(NAME), nullable=False),
    Column("actor", String(NAME), nullable=False),  # who: an agent id, "admin", "system"
    Column("details", Text, nullable=False),  # the event's other fields, JSON
    Index("audit_at", "at"),
)
