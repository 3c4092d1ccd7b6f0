"""A Redis failover under a working desk, as the failover tests and ``bench.chaos
--redis sentinel|cluster`` run it.

Two desk processes share the Redis deployment. Before the failover: patients waiting
(each told ``queue.joined`` only once a replica had the join: WAIT 1) and one call with
media, the patient on one process and the agent on the other. During it: a new patient
tries to join every 100 ms, and both processes' /readyz are read every 50 ms. After it:
what every acknowledged patient's record says, whether the call's media and chat still
flow across the processes, and whether any process was restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
from redis.asyncio import Redis

from server.core.settings import Settings
from server.core.store import close, connect
from signaling.client import AgentBot, ClientError, PatientBot
from tests.support.desk_group import DeskGroup

log = logging.getLogger(__name__)

WAITING_QUEUE = "appointments"
CALL_QUEUE = "pharmacy"
SERVED = ("offered", "in_call", "on_hold", "wrap_up", "done")


@dataclass
class Attempt:
    at: float  # seconds since the failover began (negative: before)
    ok: bool
    code: str = ""
    who: str = ""  # the patient (joins only)
    took: float = 0.0  # seconds until the answer (joins only)


@dataclass
class FailoverReport:
    acknowledged: dict[str, str] = field(default_factory=dict)  # name -> ticket
    kept: dict[str, str] = field(default_factory=dict)  # name -> state after
    lost: list[str] = field(default_factory=list)  # acknowledged, then gone or re-ticketed
    joins: list[Attempt] = field(default_factory=list)
    readyz: list[Attempt] = field(default_factory=list)
    fail_seconds: float = 0.0  # how long the failover command itself took
    frames_before: tuple[int, int] = (0, 0)  # the call's video frames (patient, agent)
    frames_after: tuple[int, int] = (0, 0)
    chat_after: bool = False
    restarted: list[str] = field(default_factory=list)
    waiting_still_placed: int = 0
    waiting_total: int = 0
    reconnects: list[float] = field(default_factory=list)  # seconds, sockets that dropped

    @property
    def first_unavailable(self) -> float | None:
        failures = [a.at for a in (*self.joins, *self.readyz) if not a.ok and a.at >= 0]
        return min(failures) if failures else None

    @property
    def window(self) -> float:
        """First `unavailable` (a join or /readyz) to the first join that succeeded
        after it; 0 when nobody noticed the failover."""
        start = self.first_unavailable
        if start is None:
            return 0.0
        after = [a.at for a in self.joins if a.ok and a.at > start]
        return (min(after) if after else float("inf")) - start

    @property
    def slowest_join(self) -> float:
        return max((a.took for a in self.joins if a.ok), default=0.0)

    def served_after_refusal(self) -> list[float]:
        """For each patient refused at least once: seconds from their first refusal to
        being told their place (what a patient caught by the failover waited)."""
        first: dict[str, float] = {}
        waits = []
        for attempt in self.joins:
            if not attempt.ok:
                first.setdefault(attempt.who, attempt.at)
            elif attempt.who in first:
                waits.append(attempt.at - first[attempt.who])
        return waits

    @property
    def joins_refused(self) -> list[Attempt]:
        return [a for a in self.joins if not a.ok and a.at >= 0]

    @property
    def readyz_refused(self) -> list[Attempt]:
        return [a for a in self.readyz if not a.ok and a.at >= 0]

    def lines(self, label: str) -> list[str]:
        refused = {a.code for a in self.joins_refused}
        waits = self.served_after_refusal()
        return [
            f"{label}: failover command {self.fail_seconds:.2f} s, window (first "
            f"unavailable → first join served) {self.window:.2f} s",
            f"  acknowledged patients {len(self.acknowledged)}, lost {len(self.lost)} (target 0)",
            f"  joins refused during the window {len(self.joins_refused)} "
            f"({', '.join(sorted(refused)) or 'none'}), /readyz 503 readings "
            f"{len(self.readyz_refused)}",
            f"  call: video frames {self.frames_before} → {self.frames_after}, chat across "
            f"processes after: {'yes' if self.chat_after else 'NO'}",
            f"  slowest join answered: {self.slowest_join:.2f} s",
            f"  patients caught by it: {len(waits)}"
            + (
                f", served p95 {percentile(waits, 95):.2f} s after their first refusal"
                if waits
                else ""
            ),  # fmt: skip
            f"  sockets dropped and reconnected: {len(self.reconnects)}"
            + (f", p95 {percentile(self.reconnects, 95):.2f} s" if self.reconnects else ""),
            f"  processes restarted: {len(self.restarted)}",
        ]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def desk_client(group: DeskGroup) -> Redis:
    """A client of the group's Redis deployment, made as the desk makes its own."""
    return connect(Settings.from_env({"REDIS_URL": group.redis_url, "VIDEODESK_DESK": group.desk}))


async def tickets(group: DeskGroup) -> dict[str, tuple[str, str]]:
    """name -> (ticket, state) of every patient record of the desk, read from the primary
    of now (a new client: one made before a failover may still talk to the old one)."""
    redis = desk_client(group)
    found: dict[str, tuple[str, str]] = {}
    try:
        async for key in redis.scan_iter(match=group.keys.prefix + "p:*", count=500):
            record: dict[str, str] = await redis.hgetall(key)  # type: ignore[assignment]
            if record.get("name"):
                found[record["name"]] = (record.get("ticket", ""), record.get("state", ""))
    finally:
        await close(redis)
    return found


async def join_with_retry(
    group: DeskGroup, index: int, name: str, within: float = 60.0
) -> PatientBot:
    """A patient who keeps trying, as a person told "try again shortly" would."""
    async with asyncio.timeout(within):
        while True:
            bot = patient(group, index)
            try:
                await bot.connect()
                await bot.join(name=name)
                return bot
            except (ClientError, TimeoutError, aiohttp.ClientError):
                await bot.close()
                await asyncio.sleep(0.3)


_addresses = itertools.count(1)


def patient(group: DeskGroup, index: int) -> PatientBot:
    """A patient on process ``index``, from an address of their own: the desk is behind
    a trusted proxy (VIDEODESK_TRUSTED_PROXIES), as in production, so each person has
    their own login budget."""
    n = next(_addresses)
    others = tuple(group.url(i) for i in range(group.size) if i != index)
    return PatientBot(
        group.url(index),
        group.mint("desk", queues=(WAITING_QUEUE,)),
        origin=group.url(0),
        media=False,
        alternates=others,
        auto_reconnect=True,
        forwarded_for=f"198.51.{100 + n // 250 % 4}.{n % 250 + 1}",
    )


async def run_failover(
    group: DeskGroup, fail: Callable[[], object], *, waiting: int = 20, settle: float = 60.0
) -> FailoverReport:
    """Run the scenario around ``fail`` (blocking: run in a thread) and report."""
    report = FailoverReport()
    pids = {p.name: p.process.pid for p in group.processes if p.process is not None}
    bots: list[PatientBot] = []
    caller = PatientBot(
        group.url(0),
        group.mint("invite", name="Caller", queues=(CALL_QUEUE,)),
        origin=group.url(0),
    )
    agent = AgentBot(
        group.url(1), group.mint("agent", name="Sam", queues=(CALL_QUEUE,)), origin=group.url(0)
    )
    bots += [caller, agent]  # type: ignore[list-item]
    try:
        for i in range(waiting):
            bots.append(await join_with_retry(group, i % group.size, f"W{i:02d}"))
        await caller.connect()
        await caller.join(name="Caller")
        await agent.connect()
        await agent.available()
        await agent.accept(await agent.next("agent.offer"))
        await caller.next("call.started")
        for bot in (caller, agent):
            await bot.wait_for(lambda b=bot: b.frames_received()[0] >= 10, 20, "video")  # type: ignore[misc]
        report.acknowledged = {n: t for n, (t, _) in (await tickets(group)).items()}
        report.frames_before = (caller.frames_received()[0], agent.frames_received()[0])

        started = time.monotonic()
        stop = asyncio.Event()
        probes = [
            asyncio.create_task(_joiner(group, report, started, stop)),
            asyncio.create_task(_readyz(group, report, started, stop)),
        ]
        await asyncio.sleep(0.3)  # a few readings before the failover
        await asyncio.to_thread(fail)
        report.fail_seconds = time.monotonic() - started
        try:
            async with asyncio.timeout(settle):
                while not _settled(report, started):
                    await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # a few readings after
        finally:
            stop.set()
            await asyncio.gather(*probes, return_exceptions=True)

        # The call: media is peer to peer (Redis plays no part); chat crosses processes.
        before = report.frames_before
        for bot, seen in ((caller, before[0]), (agent, before[1])):
            with contextlib.suppress(TimeoutError):
                await _more_video(bot, seen + 10)
        report.frames_after = (caller.frames_received()[0], agent.frames_received()[0])
        with contextlib.suppress(ClientError, TimeoutError):
            await _chat_until_delivered(caller, agent)
            report.chat_after = True

        after = await tickets(group)
        for name, ticket in report.acknowledged.items():
            now = after.get(name)
            # A patient who joined during the probes must exist; one who waited before
            # the failover must also have the ticket they had.
            if now is None or (ticket and now[0] != ticket):
                report.lost.append(name)
            else:
                report.kept[name] = now[1]
        waiting_bots = bots[2:]
        report.waiting_total = len(waiting_bots)
        report.waiting_still_placed = sum(
            1
            for b in waiting_bots
            if (last := b.last("queue.state")) is not None and last.get("state") == "waiting"
        )
        report.reconnects = [s for b in bots for s in b.reconnect_seconds]
        report.restarted = [
            p.name
            for p in group.processes
            if p.process is None or p.process.poll() is not None or pids[p.name] != p.process.pid
        ]
        return report
    finally:
        for bot in bots:
            await bot.close()


async def _more_video(bot: PatientBot | AgentBot, frames: int) -> None:
    await bot.wait_for(lambda: bot.frames_received()[0] >= frames, 10, "video")


def _settled(report: FailoverReport, started: float) -> bool:
    """A join served after the failover began, and the last /readyz readings all 200."""
    now = time.monotonic() - started
    served = any(a.ok and a.at > report.fail_seconds for a in report.joins)
    recent = [a for a in report.readyz if a.at > now - 0.5]
    return served and bool(recent) and all(a.ok for a in recent)


async def _chat_until_delivered(caller: PatientBot, agent: AgentBot) -> None:
    """The patient's chat reaches the agent on the other process (a message sent while
    the relay was still reconnecting is retried, as the page's send would be)."""
    async with asyncio.timeout(15):
        while True:
            seen = len(agent.chats)
            with contextlib.suppress(ClientError):
                await caller.send("call.chat", text="still there?")
            with contextlib.suppress(TimeoutError):
                await agent.wait_for(lambda s=seen: len(agent.chats) > s, 2, "chat")  # type: ignore[misc]
                return


async def _joiner(
    group: DeskGroup, report: FailoverReport, started: float, stop: asyncio.Event
) -> None:
    """New patients, one after another. Each tries until told their place, as a person
    with the page open would: again on the same socket after `unavailable`, on a new one
    (the page reloaded) when the desk would not open one."""
    n = 0
    while not stop.is_set():
        name = f"L{n:03d}"
        if await _join_once(group, report, started, stop, name, n % group.size):
            n += 1
        await asyncio.sleep(0.1)


async def _join_once(
    group: DeskGroup,
    report: FailoverReport,
    started: float,
    stop: asyncio.Event,
    name: str,
    index: int,
) -> bool:
    """One socket of the patient ``name``; True once they were told their place."""
    bot = patient(group, index)
    bot.auto_reconnect = False
    try:
        at = time.monotonic() - started
        try:
            async with asyncio.timeout(10):  # as long as a page waits for its welcome
                await bot.connect()
        except ClientError as exc:
            report.joins.append(Attempt(at, False, exc.code, name))
            return False
        except (TimeoutError, aiohttp.ClientError) as exc:
            report.joins.append(Attempt(at, False, type(exc).__name__, name))
            return False
        while not stop.is_set():
            at = time.monotonic() - started
            try:
                await bot.join(name=name)
            except ClientError as exc:
                report.joins.append(Attempt(at, False, exc.code, name))
                await asyncio.sleep(0.1)
                continue
            except TimeoutError:
                report.joins.append(Attempt(at, False, "TimeoutError", name))
                return False
            report.joins.append(Attempt(at, True, "", name, time.monotonic() - started - at))
            report.acknowledged[name] = ""  # must exist afterwards (ticket not known)
            return True
        return False
    finally:
        await bot.close()


async def _readyz(
    group: DeskGroup, report: FailoverReport, started: float, stop: asyncio.Event
) -> None:
    # Longer than the desk's own 1 s limit, so the reading is the desk's answer.
    timeout = aiohttp.ClientTimeout(total=3)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        while not stop.is_set():
            for index in range(group.size):
                at = time.monotonic() - started
                try:
                    async with http.get(f"{group.url(index)}/readyz") as response:
                        body = await response.json()
                        report.readyz.append(
                            Attempt(at, response.status == 200, str(body.get("error", "")))
                        )
                except (aiohttp.ClientError, TimeoutError) as exc:
                    report.readyz.append(Attempt(at, False, type(exc).__name__))
            await asyncio.sleep(0.05)
