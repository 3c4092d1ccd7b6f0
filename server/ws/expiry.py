"""Sockets close when the token they were opened with expires.

A token's lifetime bounds every socket opened with it (and every session made
from it): at expiry the socket gets an ``error`` with code ``token_expired`` and
closes with 1008. Two parties are given time past it, because cutting them off
would hurt the person the desk serves:

* a patient in a visit (waiting, offered, in a call, on hold, call-back pending)
  keeps the socket until that visit ends; no new visit can start with the
  expired link (``queue.join`` answers ``token_expired``);
* an agent in a call keeps the socket until the call ends.

The check runs on every message (one float comparison) and, for idle sockets,
in the presence loop every few seconds. docs/protocol.md says the same.
"""

from __future__ import annotations

import logging
import time

from aiohttp import WSCloseCode

from server.queue.models import ACTIVE_PATIENT_STATES
from server.ws.connection import Connection
from server.ws.desk import Desk
from signaling.messages import error_message

log = logging.getLogger(__name__)

RECHECK_SECONDS = 5.0  # how often a visit kept past expiry is looked at again


def expired(conn: Connection, now: float | None = None) -> bool:
    return (time.time() if now is None else now) >= conn.expires_at


async def enforce(desk: Desk, conn: Connection) -> bool:
    """Close ``conn`` if its token has expired and nothing keeps it; True if closed."""
    now = time.time()
    if not expired(conn, now) or conn.ws.closed:
        return False
    if await _in_visit(desk, conn):
        conn.expires_at = now + RECHECK_SECONDS
        return False
    log.info("%s %s: token expired, closing", conn.role, conn.participant)
    await conn.send(
        error_message("token_expired", "Your link has expired. Please ask for a new one.")
    )
    await conn.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"token expired")
    return True


async def _in_visit(desk: Desk, conn: Connection) -> bool:
    if conn.role == "agent":
        return bool(conn.call)
    if conn.role == "patient":
        record = await desk.engine.patient(conn.participant)
        return record.get("state") in ACTIVE_PATIENT_STATES
    return False
