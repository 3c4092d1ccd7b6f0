"""Webhooks: which desk events announce what, the payloads (opaque ids and codes only), the
endpoints admins register, and the retry schedule. Delivery is in deliveries.py.

A delivery row is written by the recorder in the same transaction as the event it announces
(writer.py), keyed ``msg_<event id>_<webhook id>``: recording an event twice cannot queue it
twice, and that key is the ``webhook-id`` header a receiver de-duplicates on."""

from __future__ import annotations

import base64
import random
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.records import tables
from server.records.visits import iso

# Webhook event type → what it announces.
WEBHOOK_EVENTS: Final[Mapping[str, str]] = {
    "visit.started": "a patient joined a queue",
    "visit.answered": "an agent accepted the patient's call",
    "visit.ended": "the visit ended: call completed, patient left, or lost",
    "survey.submitted": "the patient rated the call",
    "callback.requested": "the patient asked for a call-back",
    "callback.due": "a call-back fell due and went to the agents",
    "token.revoked": "an admin revoked a token",
}
# The fields a payload may carry: opaque ids, codes and times, never a name or words.
PAYLOAD_FIELDS: Final = ("patient", "queue", "ticket", "agent", "call", "wait_ms",
                         "handle_ms", "reason", "rating", "mode", "jti", "typ")  # fmt: skip
RETRY_FOR_MS: Final = 24 * 3600 * 1000
RETRY_CAP_S: Final = 3600.0
_encode = msgspec.json.Encoder().encode


def webhook_type(fields: Mapping[str, str]) -> str | None:
    """The webhook event a desk event announces, if any."""
    kind = fields.get("type")
    if kind == "joined":
        return "visit.started"
    if kind == "accepted":
        return "visit.answered"
    if kind in ("left", "abandoned") or (
        kind == "call_ended" and fields.get("reason") in ("completed", "patient_ended")
    ):
        return "visit.ended"
    return {
        "rated": "survey.submitted",
        "callback_requested": "callback.requested",
        "callback_due": "callback.due",
        "token_revoked": "token.revoked",
    }.get(kind or "")


def payload(kind: str, event_id: str, fields: Mapping[str, str]) -> str:
    """The body: ``{"type", "timestamp", "data"}`` as the Standard Webhooks spec suggests."""
    data: dict[str, Any] = {"event_id": event_id, "event": fields.get("type", "")}
    data.update({k: fields[k] for k in PAYLOAD_FIELDS if fields.get(k)})
    body = {"type": kind, "timestamp": iso(fields.get("at")), "data": data}
    return _encode(body).decode()


def delivery_id(event_id: str, webhook_id: str) -> str:
    return f"msg_{event_id}_{webhook_id}"


def retry_delay_s(attempts: int, base_s: float, rng: random.Random | None = None) -> float:
    """After the ``attempts``-th failure: base × 2^(attempts−1), at most an hour, ±25%."""
    nominal = min(base_s * float(2 ** max(0, attempts - 1)), RETRY_CAP_S)
    jitter: float = (rng or random).uniform(0.75, 1.25)
    return nominal * jitter


def next_attempt_ms(created_ms: int, attempts: int, now_ms: int, base_s: float) -> int | None:
    """When to try again, or None: the 24 hours are over (the delivery is marked failed)."""
    at = now_ms + int(retry_delay_s(attempts, base_s) * 1000)
    return None if at > created_ms + RETRY_FOR_MS else at


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    url: str
    events: tuple[str, ...]
    created_at: int
    created_by: str


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(row.id, row.url, tuple(row.events.split(",")), row.created_at,
                    row.created_by)  # fmt: skip


async def add_webhook(
    engine: AsyncEngine, url: str, events: Sequence[str], by: str
) -> tuple[Endpoint, str]:
    """Register an endpoint; its signing secret, shown this once."""
    unknown = sorted(set(events) - WEBHOOK_EVENTS.keys())
    if unknown or not events:
        raise ValueError(f"unknown webhook event: {unknown[0] if unknown else '(none)'}")
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    endpoint = Endpoint("wh_" + secrets.token_hex(8), url, tuple(sorted(set(events))),
                        int(time.time() * 1000), by)  # fmt: skip
    async with engine.begin() as conn:
        await conn.execute(tables.webhooks.insert().values(
            id=endpoint.id, url=url, secret=secret, events=",".join(endpoint.events),
            created_at=endpoint.created_at, created_by=by,
        ))  # fmt: skip
    return endpoint, secret


async def list_webhooks(engine: AsyncEngine) -> list[tuple[Endpoint, dict[str, int]]]:
    """Every endpoint, with its deliveries counted by status."""
    w, d = tables.webhooks, tables.webhook_deliveries
    async with engine.connect() as conn:
        endpoints = [_endpoint(r) for r in await conn.execute(select(w).order_by(w.c.created_at))]
        counts: dict[str, dict[str, int]] = {}
        result = await conn.execute(
            select(d.c.webhook_id, d.c.status, func.count()).group_by(d.c.webhook_id, d.c.status)
        )
        for webhook_id, status, n in result:
            counts.setdefault(webhook_id, {})[status] = n
    return [(e, counts.get(e.id, {})) for e in endpoints]


async def webhook_exists(engine: AsyncEngine, webhook_id: str) -> bool:
    w = tables.webhooks
    async with engine.connect() as conn:
        found = await conn.execute(select(w.c.id).where(w.c.id == webhook_id))
        return found.first() is not None


async def remove_webhook(engine: AsyncEngine, webhook_id: str) -> bool:
    """Remove an endpoint; what it had pending is cancelled (kept, for the record)."""
    d = tables.webhook_deliveries
    async with engine.begin() as conn:
        removed = await conn.execute(
            delete(tables.webhooks).where(tables.webhooks.c.id == webhook_id)
        )
        await conn.execute(
            update(d).where(d.c.webhook_id == webhook_id, d.c.status == "pending")
            .values(status="cancelled")
        )  # fmt: skip
    return bool(removed.rowcount)


async def deliveries_of(
    engine: AsyncEngine, webhook_id: str, limit: int = 100
) -> list[dict[str, Any]]:
    """The endpoint's latest deliveries, each with its attempts, newest first."""
    d, a = tables.webhook_deliveries, tables.webhook_attempts
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(d.c.id, d.c.type, d.c.event_id, d.c.status, d.c.attempts, d.c.created_at,
                   d.c.next_attempt_at, d.c.last_status, d.c.last_error)
            .where(d.c.webhook_id == webhook_id)
            .order_by(d.c.created_at.desc(), d.c.id.desc()).limit(limit)
        )).mappings().all()  # fmt: skip
        ids = [r["id"] for r in rows]
        attempts: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids:
            result = await conn.execute(
                select(a.c.delivery_id, a.c.at, a.c.status, a.c.error, a.c.duration_ms)
                .where(a.c.delivery_id.in_(ids)).order_by(a.c.id)
            )  # fmt: skip
            for delivery, at, status, error, duration in result:
                attempts[delivery].append(
                    {"at": at, "status": status, "error": error, "duration_ms": duration}
                )
    # str(): the keys are SQLAlchemy quoted_name, a str subclass msgspec does not take.
    return [{**{str(k): v for k, v in r.items()}, "attempts_made": attempts[r["id"]]} for r in rows]


async def queue_deliveries(
    conn: AsyncConnection, entries: Sequence[tuple[str, Mapping[str, str]]]
) -> list[dict[str, Any]]:
    """In the recorder's transaction: the delivery rows, one per event and endpoint that
    wants it (the caller inserts them, skipping any already there)."""
    wanted = [(eid, f, kind) for eid, f in entries if (kind := webhook_type(f)) is not None]
    if not wanted:
        return []
    endpoints = [_endpoint(e) for e in await conn.execute(select(tables.webhooks))]
    if not endpoints:
        return []
    now = int(time.time() * 1000)
    return [
        {
            "id": delivery_id(event_id, endpoint.id),
            "webhook_id": endpoint.id,
            "event_id": event_id,
            "type": kind,
            "payload": payload(kind, event_id, fields),
            "created_at": now,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "last_attempt_at": None,
            "last_status": None,
            "last_error": "",
        }  # fmt: skip
        for event_id, fields, kind in wanted
        for endpoint in endpoints
        if kind in endpoint.events
    ]
