"""Keeping this process's people present: every few seconds, one script call renews the
presence leases of its patients and agents (anyone whose lease was already reaped gets
their new state), the cross-process socket counts are renewed, idle agent sessions end
after the configured inactivity, and sockets whose token expired while quiet close
(``server/ws/expiry.py``)."""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import WSCloseCode

from server.ws import expiry
from server.ws.desk import Desk
from server.ws.positions import Positions

log = logging.getLogger(__name__)


async def renew(desk: Desk, positions: Positions) -> None:
    members = [f"p:{pid}" for pid in desk.hub.participants("patient")]
    members += [f"a:{aid}" for aid in desk.hub.participants("agent")]
    for member in await desk.engine.renew(members):
        if member.startswith("p:"):
            positions.patient_changed(member[2:])
    await desk.sockets.renew([c.count for c in desk.hub.all() if c.count is not None])
    end_idle_agents(desk)
    await end_expired_sessions(desk)


async def end_expired_sessions(desk: Desk) -> None:
    """Sockets whose token expired while they were quiet (a message checks at once)."""
    now = time.time()
    for conn in list(desk.hub.all()):
        if expiry.expired(conn, now):
            await expiry.enforce(desk, conn)


def end_idle_agents(desk: Desk) -> None:
    limit = desk.settings.agent_idle_timeout
    now = time.monotonic()
    for conn in desk.hub.all("agent"):
        if now - conn.last_activity > limit:
            log.info("agent %s session timed out after inactivity", conn.participant)
            asyncio.get_running_loop().create_task(
                conn.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"session timed out")
            )
