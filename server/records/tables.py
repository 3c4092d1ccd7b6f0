"""The record tables (SQLAlchemy Core). docs/records.md describes each column; the latest
migration in migrations/versions/ must build exactly this (tests/test_records_schema.py).

Times are epoch milliseconds on the desk's clock (the ``at`` of the events). An event's
primary key is its Redis stream id, so recording it twice is a no-op."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

ID = 40  # a Redis stream id: "<ms>-<seq>"
NAME = 64  # patient, agent, call and queue ids, codes
DELIVERY_ID = 96  # msg_<event id>_<webhook id>

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
    # The wait estimate shown at join (none when the desk could not say), and how many
    # times it changed while the patient waited (each change is an "estimate" event).
    Column("estimate_low_min", Integer),
    Column("estimate_high_min", Integer),
    Column("estimate_s", BigInteger),
    Column("estimate_changes", Integer, nullable=False, server_default="0"),
    Index("visits_joined_at", "joined_at"),
    Index("visits_patient", "patient"),
    Index("visits_answered_at", "answered_at"),
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

# Webhooks (docs/records.md, "Webhooks"): the endpoints admins registered, the outbox of
# deliveries written in the same transaction as the events they announce, and each attempt.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),  # whsec_…, to sign (Standard Webhooks)
    Column("events", Text, nullable=False),  # the event types wanted, comma-separated
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(NAME), nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(DELIVERY_ID), primary_key=True),  # the webhook-id header: stable
    Column("webhook_id", String(ID), nullable=False),
    Column("event_id", String(ID), nullable=False),
    Column("type", String(NAME), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),  # wall clock, ms
    Column("status", String(16), nullable=False),  # pending, delivered, failed, cancelled
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("last_attempt_at", BigInteger),
    Column("last_status", Integer),
    Column("last_error", String(200), nullable=False),
    Index("webhook_deliveries_due", "status", "next_attempt_at"),
    Index("webhook_deliveries_webhook", "webhook_id", "created_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(DELIVERY_ID), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("status", Integer),  # the HTTP status, none when no answer came
    Column("error", String(200), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Index("webhook_attempts_delivery", "delivery_id"),
)

# Only with VIDEODESK_RECORD_PERSONAL_DATA=true: what a patient told the desk, by the event
# that carried it (a join: name and reason; a call-back: the phone number). Erasable
# (server/records/erase.py): the fields are blanked and erased_at set; counts stay.
personal_data = Table(
    "personal_data",
    metadata,
    Column("id", String(ID), primary_key=True),  # the joined or callback_requested event
    Column("at", BigInteger, nullable=False),
    Column("patient", String(NAME), nullable=False),
    Column("name", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("phone", String(NAME), nullable=False),
    Column("erased_at", BigInteger),
    Index("personal_data_patient", "patient"),
    Index("personal_data_at", "at"),
)
