"""Desk-wide notices from any process (``Relay.broadcast``), handled on each process for
the sockets it holds: a revoked token's sockets close and its patients leave, a queue
whose order changed has its positions pushed, a staff notice reaches the waiting room."""

from __future__ import annotations

from typing import Any

from server.ws import patient, staff
from server.ws.desk import Desk
from server.ws.presence import Presence


async def received(desk: Desk, presence: Presence, message: dict[str, Any]) -> None:
    """One notice, as ``signaling/relay.py`` reads it from the broadcast stream."""
    kind = message.get("kind")
    if kind == "revoke":
        await desk.hub.close_token(str(message.get("jti", "")), "This link has been withdrawn.")
        patients = message.get("patients")
        if isinstance(patients, list):
            await patient.remove_revoked(desk, [str(p) for p in patients])
    elif kind == "queue":
        presence.queue_changed(str(message.get("queue", "")))
    elif kind == "notice":
        await staff.show_notice(desk, message)
