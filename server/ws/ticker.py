"""The ticker every process runs: expire offers, reap leases, dispatch; then tell people.

Running it in several processes at once is safe: each offer or lease is settled
inside one Lua script, exactly once, by whichever process gets there first.
"""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError

from server.observability.history import record_sample
from server.queue.models import TickReport
from server.ws import notify
from server.ws.desk import Desk
from signaling import server_messages as sm
from signaling.tasks import stop_task

log = logging.getLogger(__name__)

TICK_INTERVAL = 1.0


class Ticker:
    def __init__(self, desk: Desk, interval: float = TICK_INTERVAL) -> None:
        self.desk = desk
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._sampled_minute = -1

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ticker")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _run(self) -> None:
        delay = self.interval
        while True:
            await asyncio.sleep(delay)
            try:
                await self.tick()
                delay = self.interval
            except RedisError as exc:
                delay = min(5.0, delay * 2)
                log.warning(
                    "ticker: Redis unavailable (%s); next try in %.1f s", type(exc).__name__, delay
                )
            except Exception:
                log.exception("ticker failed")

    async def tick(self) -> TickReport:
        report = await self.desk.engine.tick()
        await announce(self.desk, report)
        await self._sample()
        return report

    async def _sample(self) -> None:
        """Once a minute (desk-wide), sample the queues for the supervisor's charts."""
        engine = self.desk.engine
        now = await engine.clock_ms()
        if now // 60_000 != self._sampled_minute:
            self._sampled_minute = now // 60_000
            await record_sample(engine.redis, engine.keys, list(engine.queues), now)


async def announce(desk: Desk, report: TickReport) -> None:
    """Tell everyone concerned what a tick settled."""
    for aid, _queue in report.expired:
        await desk.notify(aid, sm.to_dict(sm.AgentOfferCancelled(reason="expired")))
        await notify.agent_state(desk, aid)
    for member, _queue, what, call, other in report.reaped:
        kind, ident = member[:1], member[2:]
        log.info("lease of %s lapsed: %s", member, what)
        if call:
            # A call ended because one party was gone too long: the other learns why.
            pid, aid = (other, ident) if kind == "a" else (ident, other)
            reason = "agent_lost" if kind == "a" else "patient_lost"
            await notify.call_ended(desk, call, pid, aid, reason)
        elif kind == "a":
            await notify.agent_state(desk, ident)
        else:
            await notify.patient_state(desk, ident)
            if other:  # the agent's offer of this patient is withdrawn
                await desk.notify(other, sm.to_dict(sm.AgentOfferCancelled(reason="patient_left")))
                await notify.agent_state(desk, other)
    await notify.offers(desk, report.offers)
    await desk.queue_changed(*report.changed_queues)
