"""Background work of each process for the sockets it holds, on timers:

* leases and socket counts, idle agents, expired tokens (``server/ws/leases.py``);
* positions and estimates for waiting patients (``server/ws/positions.py``);
* agents' queue panels (``server/ws/panels.py``);
* the admins' live dashboard (below).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import msgspec
from redis.exceptions import RedisError

from server.observability import dashboard
from server.ws import leases, panels
from server.ws.desk import Desk
from server.ws.positions import Positions
from signaling import server_messages as sm
from signaling.tasks import stop_task

log = logging.getLogger(__name__)

LEASE_INTERVAL = 4.0
POSITION_INTERVAL = 0.25
PANEL_INTERVAL = 3.0
DASHBOARD_INTERVAL = 2.0


class Presence:
    """The loops above, started and stopped with the app."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.positions = Positions(desk)
        self._tasks: list[asyncio.Task[None]] = []

    def queue_changed(self, queue: str) -> None:
        self.positions.queue_changed(queue)

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
        await leases.renew(self.desk, self.positions)

    async def push_positions(self) -> None:
        await self.positions.push()

    async def push_dashboard(self) -> None:
        admins = list(self.desk.hub.all("admin"))
        supervisors = list(self.desk.hub.all("supervisor"))
        if not admins and not supervisors:
            return
        snapshot = await dashboard.snapshot(self.desk.engine)
        message = msgspec.convert(snapshot, sm.Dashboard)  # checked, once for every admin
        for conn in admins:
            await conn.send(message)
        by_scope: dict[tuple[str, ...], sm.Dashboard] = {}  # supervisors: their queues only
        for conn in supervisors:
            scope = tuple(conn.session.queues)
            if scope not in by_scope:
                by_scope[scope] = msgspec.convert(dashboard.scoped(snapshot, scope), sm.Dashboard)
            await conn.send(by_scope[scope])

    async def push_panels(self) -> None:
        await panels.push(self.desk, list(self.desk.hub.all("agent")))
