"""Positions and estimates pushed to this process's waiting patients.

When a queue's order changes (a broadcast from any process) the patients of that queue
here get their new place, at most a few times a second; everyone is refreshed every few
seconds too, since estimates move with time. A patient whose lease was reaped is marked
on their own. Each push goes through the hub, which sends a ``queue.state`` only when
something the patient sees changed (``server/ws/peers.py``).
"""

from __future__ import annotations

import time

from server.ws import outbound
from server.ws.desk import Desk

FULL_REFRESH_INTERVAL = 5.0


class Positions:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self._dirty: set[str] = set()
        self._last_full = 0.0

    def queue_changed(self, queue: str) -> None:
        self._dirty.add(queue)

    def patient_changed(self, pid: str) -> None:
        self._dirty.add("*" + pid)

    async def push(self) -> None:
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
        for position in await desk.engine.positions(pids):  # one replay for them all
            await desk.hub.deliver(position.patient, outbound.queue_state(position))
