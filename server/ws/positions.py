"""Positions and estimates pushed to this process's waiting patients.

When a queue's order changes (a broadcast from any process) the patients of that queue
here get their new place, at most a few times a second; everyone is refreshed every few
seconds too, since estimates move with time. A patient whose lease was reaped is marked
on their own. Each push goes through the hub, which sends a ``queue.state`` only when
something the patient sees changed (``server/ws/peers.py``).

A long queue (more than QUICK_ABOVE of its patients on this process) is pushed the quick
way between full refreshes: one read of the queue's order and states (``places.lua``), and
each waiting patient whose place moved gets it at once, with the estimate they were last
shown; their range is recomputed at the next full refresh. A full refresh (the replay of
the desk's dispatch for everyone: ``engine.positions``) costs about 50 µs per waiting
patient, so its interval stretches to keep it within FULL_SHARE of the process.
docs/relay.md has the figures.
"""

from __future__ import annotations

import time
from collections import defaultdict

from server.ws import outbound
from server.ws.connection import Connection
from server.ws.desk import Desk

FULL_REFRESH_INTERVAL = 5.0
FULL_SHARE = 0.1  # a full refresh takes at most this share of the time between two
QUICK_ABOVE = 200  # patients of one queue on this process
QUICK_INTERVAL = 0.7  # seconds between quick pushes of one queue, at least


class Positions:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self._dirty: set[str] = set()
        self._last_full = 0.0
        self._full_took = 0.0  # seconds the last full refresh took
        self._last_quick: dict[str, float] = {}

    def queue_changed(self, queue: str) -> None:
        self._dirty.add(queue)

    def patient_changed(self, pid: str) -> None:
        self._dirty.add("*" + pid)

    async def push(self) -> None:
        now = time.monotonic()
        if now - self._last_full >= max(FULL_REFRESH_INTERVAL, self._full_took / FULL_SHARE):
            self._dirty = set()
            await self._full()
            return
        dirty, self._dirty = self._dirty, set()
        if not dirty:
            return
        singles = {d[1:] for d in dirty if d.startswith("*")}
        by_queue: dict[str, list[Connection]] = defaultdict(list)
        slow: set[str] = set()
        for conn in self.desk.hub.all("patient"):
            if conn.queue in dirty:
                by_queue[conn.queue].append(conn)
            elif singles and conn.participant in singles:
                slow.add(conn.participant)
        for queue, conns in by_queue.items():
            slow.update(conn.participant for conn in conns if conn.participant in singles)
            if len(conns) <= QUICK_ABOVE:
                slow.update(conn.participant for conn in conns)
            elif now - self._last_quick.get(queue, 0.0) < QUICK_INTERVAL:
                self._dirty.add(queue)  # pushed on a later round
            else:
                self._last_quick[queue] = now
                slow.update(await self._quick(queue, conns))
        await self._compute(sorted(slow))

    async def _full(self) -> None:
        began = time.monotonic()
        self._last_full = began
        await self._compute(sorted({conn.participant for conn in self.desk.hub.all("patient")}))
        self._full_took = time.monotonic() - began

    async def _compute(self, pids: list[str]) -> None:
        for position in await self.desk.engine.positions(pids):  # one replay for them all
            await self.desk.hub.deliver(position.patient, outbound.queue_state(position))

    async def _quick(self, queue: str, conns: list[Connection]) -> list[str]:
        """New places to the queue's waiting patients here, from one read of its order;
        returns those whose state moved on (they get the full computation instead)."""
        order = await self.desk.engine.places(queue)
        waiting = len(order)
        places = {pid: (i + 1, state) for i, (pid, state) in enumerate(order)}
        moved: list[tuple[int, Connection]] = []
        others: list[str] = []
        for conn in {conn.participant: conn for conn in conns}.values():
            last = conn.last_state
            place, state = places.get(conn.participant, (0, ""))
            if last.get("state") != "waiting" or state != "waiting":
                others.append(conn.participant)
            elif last.get("position") != place or last.get("waiting") != waiting:
                moved.append((place, conn))
        now = time.monotonic()
        for place, conn in sorted(moved, key=lambda item: item[0]):  # the head first
            message = {**conn.last_state, "position": place, "waiting": waiting,
                       "waited_s": max(0, int(now - conn.waiting_since))}  # fmt: skip
            await self.desk.hub.deliver(conn.participant, message)
        return others
