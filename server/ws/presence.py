"""Background work of each process for the sockets it holds.

* leases: every few seconds, renew the presence leases of this process's
  patients and agents (one script call); anyone whose lease was already reaped
  gets their new state;
* positions: when a queue's order changes (a broadcast from any process), push
  new positions and estimates to this process's patients in that queue, at most
  a few times a second; and refresh everyone every few seconds, since estimates
  move with time;
* agents' queue panels (``server/ws/panels.py``), every few seconds;
* idle agents: sessions end after the configured inactivity;
* socket counts: renew this process's sockets in the cross-process counts, and
  close sockets whose token has expired (``server/ws/expiry.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import msgspec
from aiohttp import WSCloseCode
from redis.exceptions import RedisError

from server.observability import dashboard
from server.ws import expiry, outbound, panels
from server.ws.desk import Desk
from signaling import server_messages as sm
from signaling.tasks import stop_task

log = logging.getLogger(__name__)

LEASE_INTERVAL = 4.0
POSITION_INTERVAL = 0.25
FULL_REFRESH_INTERVAL = 5.0
PANEL_INTERVAL = 3.0
DASHBOARD_INTERVAL = 2.0


class Presence:
    """The loops above, started and stopped with the app."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self._dirty: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_full = 0.0

    def queue_changed(self, queue: str) -> None:
        self._dirty.add(queue)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._every(LEASE_INTERVAL, self.renew_leases), name="leases"),
            asyncio.create_task(self._every(POSITION_INTERVAL, self.push_positions), name="pos"),
            asyncio.create_task(self._every(PANEL_INTERVAL, self.push_panels), name="panels"),
            asyncio.create_task(
                self._every(DASHBOARD_INTERVAL, self.push_dashboard), name="dashboard"
            ),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            await stop_task(task)
        self._tasks = []

    async def _every(self, seconds: float, work: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await work()
            except RedisError as exc:
                log.warning("%s: Redis unavailable (%s)", work.__name__, type(exc).__name__)
            except Exception:
                log.exception("%s failed", work.__name__)

    async def renew_leases(self) -> None:
        desk = self.desk
        members = [f"p:{pid}" for pid in desk.hub.participants("patient")]
        members += [f"a:{aid}" for aid in desk.hub.participants("agent")]
        gone = await desk.engine.renew(members)
        for member in gone:
            pid = member[2:]
            if member.startswith("p:"):
                self._dirty.add("*" + pid)
        await desk.sockets.renew([c.count for c in desk.hub.all() if c.count is not None])
        self._end_idle_agents()
        await self._end_expired_sessions()

    async def _end_expired_sessions(self) -> None:
        """Sockets whose token expired while they were quiet (a message checks at once)."""
        now = time.time()
        for conn in list(self.desk.hub.all()):
            if expiry.expired(conn, now):
                await expiry.enforce(self.desk, conn)

    def _end_idle_agents(self) -> None:
        limit = self.desk.settings.agent_idle_timeout
        now = time.monotonic()
        for conn in self.desk.hub.all("agent"):
            if now - conn.last_activity > limit:
                log.info("agent %s session timed out after inactivity", conn.participant)
                asyncio.get_running_loop().create_task(
                    conn.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"session timed out")
                )

    async def push_positions(self) -> None:
        desk = self.desk
        now = time.monotonic()
        full = now - self._last_full >= FULL_REFRESH_INTERVAL
        if full:
            self._last_full = now
        dirty, self._dirty = self._dirty, set()
        if not dirty and not full:
            return
        pids = sorted(
            {
                conn.participant
                for conn in desk.hub.all("patient")
                if full or conn.queue in dirty or ("*" + conn.participant) in dirty
            }
        )
        for start in range(0, len(pids), 500):
            batch = pids[start : start + 500]
            for position in await desk.engine.positions(batch):
                await desk.hub.deliver(position.patient, outbound.queue_state(position))

    async def push_dashboard(self) -> None:
        admins = list(self.desk.hub.all("admin"))
        if not admins:
            return
        snapshot = await dashboard.snapshot(self.desk.engine)
        message = msgspec.convert(snapshot, sm.Dashboard)  # checked, once for every admin
        for conn in admins:
            await conn.send(message)

    async def push_panels(self) -> None:
        await panels.push(self.desk, list(self.desk.hub.all("agent")))
