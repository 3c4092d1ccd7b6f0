"""One batch of stream entries into the database, in one transaction: the events (an
event already there is skipped: its stream id is the key), the surveys and audit rows
they carry, and the visits and call-backs of every patient they touch, rebuilt from all
of that patient's recorded events, so that two processes recording neighbouring batches
in either order end with the same rows."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import String, Table, any_, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.records import tables
from server.records.visits import callbacks_from, visits_from
from server.records.webhooks import queue_deliveries

Entry = tuple[str, Mapping[str, str]]

# Events that are audit records (docs/records.md, "audit"): who did what and when.
AUDIT_TYPES = frozenset({
    "token_issued", "token_revoked", "auth_failed", "invitation_mailed", "agent_signed_in",
    "emergency", "report_downloaded", "webhook_added", "webhook_removed",
    "personal_data_erased", "staff_message", "guest_invited", "guest_joined", "guest_left",
    "guest_removed", "supervisor_started", "supervisor_mode", "supervisor_stopped",
})  # fmt: skip
IN_CHUNK = 500  # ids per IN (...) list
# Events after which a patient's personal data is recorded (with the setting on).
PERSONAL_TYPES = frozenset({"joined", "callback_requested"})
# Events that change a visit or a call-back (the others, offers and holds among them, are
# recorded but rebuild nothing).
VISIT_TYPES = frozenset({
    "joined", "accepted", "call_ended", "transferred", "callback_requested", "callback_due",
    "callback_cancelled", "left", "abandoned", "rated", "wrapup", "estimate",
})  # fmt: skip


decode = msgspec.json.Decoder(dict[str, str]).decode
_encode = msgspec.json.Encoder().encode  # in the order the stream has them


def event_row(entry_id: str, fields: Mapping[str, str]) -> dict[str, Any]:
    ms, _, seq = entry_id.partition("-")
    return {
        "id": entry_id,
        "stream_ms": int(ms),
        "stream_seq": int(seq or 0),
        "at": int(fields.get("at") or ms),
        "type": fields.get("type", ""),
        "patient": fields.get("patient") or None,
        "agent": fields.get("agent") or None,
        "queue": fields.get("queue") or None,
        "call": fields.get("call") or None,
        "fields": _encode(dict(fields)).decode(),
    }


def survey_row(event: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    return {
        "id": event["id"], "at": event["at"], "patient": fields.get("patient", ""),
        "call": fields.get("call", ""), "queue": fields.get("queue", ""),
        "rating": fields.get("rating", ""),
    }  # fmt: skip


def audit_row(event: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    details = {k: v for k, v in fields.items() if k not in ("type", "at", "by")}
    return {
        "id": event["id"],
        "at": event["at"],
        "action": event["type"],
        "actor": fields.get("by") or fields.get("agent") or "system",
        "details": json.dumps(details, separators=(",", ":"), sort_keys=True),
    }


class Writer:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    async def write(
        self, entries: Sequence[Entry], details: Mapping[str, Mapping[str, str]] | None = None
    ) -> int:
        """Record a batch; the webhook deliveries it queued. Raises (and commits nothing)
        when the database fails.
        ``details``: patient → name, reason, phone (VIDEODESK_RECORD_PERSONAL_DATA only)."""
        rows, surveys, audit = [], [], []
        for entry_id, fields in entries:
            row = event_row(entry_id, fields)
            rows.append(row)
            if row["type"] == "rated":
                surveys.append(survey_row(row, fields))
            elif row["type"] in AUDIT_TYPES:
                audit.append(audit_row(row, fields))
        if not rows:
            return 0
        async with self._engine.begin() as conn:
            await self._name_patients(conn, rows)
            # Insert first: on SQLite that takes the write lock, so what is read below is
            # every committed event (on PostgreSQL the advisory locks do the same).
            await self._insert_new(conn, tables.events, rows)
            await self._insert_new(conn, tables.surveys, surveys)
            await self._insert_new(conn, tables.audit, audit)
            if details:
                personal = [
                    {"id": row["id"], "at": row["at"], "patient": row["patient"],
                     **details[row["patient"]], "erased_at": None}
                    for row, (_, f) in zip(rows, entries, strict=True)
                    if f.get("type") in PERSONAL_TYPES and f.get("patient") in details
                ]  # fmt: skip
                await self._insert_new(conn, tables.personal_data, personal)
            # The webhook outbox, in the same transaction as the events it announces.
            deliveries = await queue_deliveries(conn, entries)
            await self._insert_new(conn, tables.webhook_deliveries, deliveries)
            changed = {r["patient"] for r in rows if r["patient"] and r["type"] in VISIT_TYPES}
            await self.rebuild(conn, sorted(changed))
        return len(deliveries)

    async def _insert_new(
        self, conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]
    ) -> None:
        if not rows:
            return
        dialect = postgresql if self._postgres else sqlite
        statement = dialect.insert(table).on_conflict_do_nothing(index_elements=["id"])
        await conn.execute(statement, rows)

    async def _name_patients(self, conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        """A wrap-up written by an older desk names only the call: file it under the
        call's patient, from this batch or from what is recorded."""
        orphans = [r for r in rows if r["call"] and not r["patient"]]
        if not orphans:
            return
        patient_of = {r["call"]: r["patient"] for r in rows if r["call"] and r["patient"]}
        missing = sorted({r["call"] for r in orphans} - patient_of.keys())
        for chunk in self._chunks(missing):
            result = await conn.execute(
                select(tables.events.c.call, tables.events.c.patient)
                .where(self._among(tables.events.c.call, chunk))
                .where(tables.events.c.patient.is_not(None))
                .distinct()
            )
            patient_of.update({call: patient for call, patient in result})
        for row in orphans:
            row["patient"] = patient_of.get(row["call"])

    async def rebuild(self, conn: AsyncConnection, patients: list[str]) -> None:
        """Rebuild these patients' visits and call-backs from their recorded events."""
        if not patients:
            return
        if self._postgres:
            # One writer per patient at a time, taken in a fixed order (no deadlock);
            # whoever waits reads what the other committed.
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) k"),
                {"keys": sorted(_lock_key(p) for p in patients)},
            )
        events_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for chunk in self._chunks(patients):
            result = await conn.execute(
                select(tables.events.c.id, tables.events.c.patient, tables.events.c.fields)
                .where(self._among(tables.events.c.patient, chunk))
                .order_by(tables.events.c.stream_ms, tables.events.c.stream_seq)
            )
            for event_id, patient, raw in result:
                events_of[patient].append({"id": event_id, **decode(raw)})
        visits: list[dict[str, Any]] = []
        callbacks: list[dict[str, Any]] = []
        for patient in patients:
            events = events_of[patient]
            visits += [v.columns() for v in visits_from(events)]
            callbacks += [c.columns() for c in callbacks_from(events)]
        # A visit, once begun, is never taken back (events are only ever added), so an
        # upsert is enough: no delete, and on PostgreSQL the updates stay HOT.
        await self._upsert(conn, tables.visits, visits)
        await self._upsert(conn, tables.callbacks, callbacks)

    async def _upsert(
        self, conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]
    ) -> None:
        if not rows:
            return
        dialect = postgresql if self._postgres else sqlite
        statement = dialect.insert(table)
        changed = {c.name: statement.excluded[c.name] for c in table.columns if c.name != "id"}
        await conn.execute(
            statement.on_conflict_do_update(index_elements=["id"], set_=changed), rows
        )

    def _among(self, column: Any, values: Sequence[str]) -> Any:
        """``column IN (values)``; on PostgreSQL ``= ANY(array)``, one parameter, so the
        statement is compiled once and not once per list length."""
        if self._postgres:
            return column == any_(bindparam(None, list(values), type_=ARRAY(String())))
        return column.in_(values)

    def _chunks(self, items: Sequence[str]) -> Iterable[Sequence[str]]:
        """SQLite caps the parameters of a statement; an array is one parameter."""
        if self._postgres:
            return [items]
        return _chunks(items)


def _lock_key(patient: str) -> int:
    digest = hashlib.blake2b(patient.encode(), digest_size=8, person=b"vd-visit").digest()
    return int.from_bytes(digest, "big", signed=True)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]
