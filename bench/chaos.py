"""Chaos run: several server processes, many patient and agent bots, processes killed at
random and Redis restarted, then a check that nobody was lost.

    python -m bench.chaos                 # 3 processes, 200 patients, 10 agents, ~3 minutes
    python -m bench.chaos --patients 30 --agents 4 --seconds 40   # a short run
    python -m bench.chaos --redis sentinel   # Redis fails over instead (also: cluster)

With ``--redis sentinel|cluster`` it starts that Redis deployment on loopback (Sentinel: 1
primary, 2 replicas, 3 sentinels; Cluster: 3 primaries with 2 replicas each), two desk
processes with ``VIDEODESK_REDIS_WAIT_REPLICAS=1``, and fails the desk's primary over
``--rounds`` times each way (the planned switchover, then kill -9), under 20 waiting
patients, a call with media and a patient trying to join every 100 ms
(tests/support/failover.py). It prints the failover window (first ``unavailable`` to the
first join served), the acknowledged patients lost (target 0) and how long patients caught
by the failover waited to be served, and how many sockets dropped (reconnect p95, target
<= 3 s).

Run it inside a loopback-only network namespace (scripts/test does this for the short
variant in tests/test_chaos.py). It prints what happened and the checks; the exit status
is 1 when a check fails. Bounded in count and time; every process it starts is stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from signaling.client import AgentBot, Bot, ClientError, PatientBot
from tests.support.desk_group import DeskGroup
from tests.support.invariants import check_invariants, states
from tests.support.redis_server import RedisServer

QUEUES = ["appointments", "pharmacy", "billing", "technical"]
SETTLED = {"done", "left"}


@dataclass
class ChaosConfig:
    processes: int = 3
    patients: int = 200
    agents: int = 10
    seconds: float = 150.0  # the disturbed part of the run
    kill_every: float = 8.0
    redis_restart_at: float = 0.5  # fraction of the run
    call_seconds: tuple[float, float] = (0.5, 2.0)
    leave_share: float = 0.05
    settle_seconds: float = 60.0  # after the faults stop, time for the queue to drain
    seed: int = 1


@dataclass
class ChaosResult:
    joined: int = 0
    kills: int = 0
    redis_restarts: int = 0
    final_states: Counter[str] = field(default_factory=Counter)
    overlapping_calls: list[str] = field(default_factory=list)
    invariant_problems: list[str] = field(default_factory=list)
    reconnects: int = 0
    reconnect_seconds: list[float] = field(default_factory=list)
    calls: int = 0
    elapsed: float = 0.0

    @property
    def lost(self) -> int:
        """Patients in a state that means the desk failed them (abandoned while connected)."""
        return sum(n for s, n in self.final_states.items() if s not in SETTLED | {"waiting"})

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and not self.overlapping_calls
            and not self.invariant_problems
            and sum(self.final_states.values()) == self.joined
        )

    def report(self) -> str:
        p95 = _percentile(self.reconnect_seconds, 95)
        lines = [
            f"patients joined: {self.joined}; calls answered: {self.calls}",
            f"faults: {self.kills} SIGKILLs of server processes, "
            f"{self.redis_restarts} Redis restart(s)",
            f"final patient states: {dict(sorted(self.final_states.items()))}",
            f"patients lost (not done, left or waiting): {self.lost}",
            f"patients ever in two calls at once: {len(self.overlapping_calls)}",
            f"orphaned offers, leases or other contradictions: {len(self.invariant_problems)}",
            f"reconnects: {self.reconnects}, p95 time to reconnect: {p95:.2f} s"
            if self.reconnect_seconds
            else "reconnects: 0",
            f"run time: {self.elapsed:.0f} s",
            "CHECKS PASSED" if self.ok else "CHECKS FAILED",
        ]
        lines += [
            f"  problem: {p}" for p in (self.invariant_problems + self.overlapping_calls)[:20]
        ]
        return "\n".join(lines)


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


class AgentWorker:
    """Drives an agent bot from its latest state, so it copes with any reconnect."""

    def __init__(self, bot: AgentBot, rng: random.Random, call_seconds: tuple[float, float]):
        self.bot = bot
        self.rng = rng
        self.call_seconds = call_seconds
        self.accepted: set[str] = set()
        self.calls = 0
        self._call_ends_at = 0.0
        self._last_action = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(0.1)
            with contextlib.suppress(ClientError, ConnectionError, RuntimeError):
                await self.step()

    async def step(self) -> None:
        bot = self.bot
        state_message = bot.last("agent.state")
        if not bot.connected or state_message is None:
            return
        state = state_message["state"]
        now = time.monotonic()
        if state == "offered":
            offer = bot.last("agent.offer")
            if offer is not None and offer["token"] not in self.accepted:
                self.accepted.add(offer["token"])
                await bot.send("agent.accept", token=offer["token"])
                self.calls += 1
                self._call_ends_at = now + self.rng.uniform(*self.call_seconds)
            return
        if now - self._last_action < 1.0:
            return
        if state in ("away", "offline"):
            self._last_action = now
            await bot.send("agent.status", status="available")
        elif state == "in_call" and now >= self._call_ends_at:
            self._last_action = now
            await bot.send("agent.end")
        elif state == "wrap_up":
            self._last_action = now
            await bot.send("agent.wrapup", outcome="resolved", next="available")


async def _patient(bot: PatientBot, delay: float, leave_after: float | None) -> None:
    await asyncio.sleep(delay)
    for _ in range(60):
        try:
            if not bot.connected:
                await bot.connect()
            await bot.join(name="Chaos", reason="load")
            break
        except (ClientError, TimeoutError, OSError):
            await asyncio.sleep(1.0)
    if leave_after is not None:
        await asyncio.sleep(leave_after)
        state = bot.last("queue.state")
        if state is not None and state["state"] == "waiting":
            with contextlib.suppress(ClientError, ConnectionError, RuntimeError):
                await bot.send("queue.leave")


async def _faults(
    group: DeskGroup, redis_server: RedisServer, config: ChaosConfig, rng: random.Random,
    result: ChaosResult, stop: asyncio.Event,
) -> None:  # fmt: skip
    started = time.monotonic()
    restarted_redis = False
    while time.monotonic() - started < config.seconds:
        await asyncio.sleep(config.kill_every * rng.uniform(0.5, 1.5))
        victim = rng.randrange(group.size)
        process = group.processes[victim]
        process.kill()
        result.kills += 1
        await asyncio.to_thread(process.start)
        if (
            not restarted_redis
            and time.monotonic() - started > config.seconds * config.redis_restart_at
        ):
            restarted_redis = True
            redis_server.kill()
            await asyncio.sleep(1.0)
            redis_server.start()
            result.redis_restarts += 1
    stop.set()


async def _no_overlapping_calls(redis: Redis, group: DeskGroup) -> list[str]:
    """From the events stream: no patient had two calls open at the same time."""
    entries: list[tuple[str, dict[str, str]]] = await redis.xrange(group.keys.events)  # type: ignore[assignment]
    open_calls: dict[str, str] = {}
    problems = []
    for _, event in entries:
        pid, call = event.get("patient", ""), event.get("call", "")
        if event["type"] == "accepted":
            if pid in open_calls:
                problems.append(f"patient {pid} accepted into {call} while in {open_calls[pid]}")
            open_calls[pid] = call
        elif event["type"] == "call_ended" and open_calls.get(pid) == call:
            del open_calls[pid]
    return problems


async def run_chaos(config: ChaosConfig) -> ChaosResult:
    rng = random.Random(config.seed)
    result = ChaosResult()
    redis_server = RedisServer(appendonly=True)
    redis_server.start()
    group = DeskGroup(redis_server.url, size=config.processes)
    group.start()
    redis = Redis.from_url(redis_server.url, decode_responses=True)
    started = time.monotonic()
    stop = asyncio.Event()
    agents: list[AgentBot] = []
    patients: list[PatientBot] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        urls = [group.url(i) for i in range(group.size)]
        for index in range(config.agents):
            home = index % group.size
            bot = AgentBot(
                urls[home], group.mint("agent", name=f"Agent{index}", queues=tuple(QUEUES)),
                origin=urls[0], media=False, auto_reconnect=True,
                alternates=tuple(u for u in urls if u != urls[home]),
            )  # fmt: skip
            await bot.connect()
            agents.append(bot)
        workers = [AgentWorker(bot, rng, config.call_seconds) for bot in agents]
        tasks += [asyncio.create_task(w.run(stop)) for w in workers]
        for index in range(config.patients):
            home = index % group.size
            patient = PatientBot(
                urls[home],
                group.mint("invite", queues=(QUEUES[index % len(QUEUES)],)),
                origin=urls[0], media=False, auto_reconnect=True, use_cookie=False,
                alternates=tuple(u for u in urls if u != urls[home]),
            )  # fmt: skip
            patients.append(patient)
            delay = rng.uniform(0, config.seconds * 0.6)
            leave = rng.uniform(1, 10) if rng.random() < config.leave_share else None
            tasks.append(asyncio.create_task(_patient(patient, delay, leave)))
        await _faults(group, redis_server, config, rng, result, stop)
        # Faults over: agents keep working until every patient is settled (or time is up).
        drain = asyncio.Event()
        tasks += [asyncio.create_task(w.run(drain)) for w in workers]
        deadline = time.monotonic() + config.settle_seconds
        while time.monotonic() < deadline:
            records = await states(redis, group.keys)
            if len(records) >= config.patients and all(
                r.get("state") in SETTLED for r in records.values()
            ):
                break
            await asyncio.sleep(1.0)
        drain.set()
        await asyncio.sleep(2.0)
        records = await states(redis, group.keys)
        result.joined = len(records)
        result.final_states = Counter(r.get("state", "?") for r in records.values())
        result.calls = sum(w.calls for w in workers)
        result.overlapping_calls = await _no_overlapping_calls(redis, group)
        result.invariant_problems = await check_invariants(redis, group.keys, QUEUES)
        bots: list[Bot] = [*agents, *patients]
        for any_bot in bots:
            result.reconnects += any_bot.reconnects
            result.reconnect_seconds += any_bot.reconnect_seconds
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for closing in [*agents, *patients]:
            with contextlib.suppress(Exception):
                await closing.close()
        await redis.aclose()
        group.stop()
        redis_server.close()
        result.elapsed = time.monotonic() - started
    return result


def _fail_over(topology: Any, way: str, desk: str, killed: list[RedisServer]) -> None:
    """One failover of the desk's primary: the planned switchover, or kill -9 (the killed
    node goes in ``killed``, to be started again as a replica)."""
    from tests.support.sentinel import SentinelTopology

    if isinstance(topology, SentinelTopology):
        if way == "planned":
            topology.failover(pause_writes_ms=3000)
        else:
            killed.append(topology.primary_server())
            killed[0].kill()
            topology.wait_new_primary(killed[0].port)
    elif way == "planned":
        topology.failover(desk)
    else:
        killed.append(topology.kill_owner(desk))
        topology.wait_owner_changed(desk, killed[0])


async def redis_failovers(kind: str, rounds: int, waiting: int) -> bool:
    """Fail the desk's Redis primary over ``rounds`` times each way; True when nobody
    acknowledged was lost and every process kept running."""
    from tests.support.failover import FailoverReport, percentile, run_failover
    from tests.support.loopback import loopback_host_addresses
    from tests.support.redis_cluster import RedisClusterTopology
    from tests.support.sentinel import SentinelTopology

    env = {"VIDEODESK_REDIS_WAIT_REPLICAS": "1", "VIDEODESK_TRUSTED_PROXIES": "127.0.0.1/32"}
    reports: list[tuple[str, FailoverReport]] = []
    topology: SentinelTopology | RedisClusterTopology
    topology = SentinelTopology(replicas=2) if kind == "sentinel" else RedisClusterTopology(
        replicas_per_primary=2
    )  # fmt: skip
    await asyncio.to_thread(topology.start)
    try:
        for n in range(rounds):
            for way in ("planned", "kill -9"):
                group = DeskGroup(topology.url, extra_env=env)
                group.start()
                killed: list[RedisServer] = []

                fail = functools.partial(_fail_over, topology, way, group.desk, killed)
                try:
                    with loopback_host_addresses():
                        report = await run_failover(group, fail, waiting=waiting)
                finally:
                    group.stop()
                    for node in killed:
                        await asyncio.to_thread(topology.rejoin, node)
                label = f"{kind} {way}, round {n + 1}"
                print("\n".join(report.lines(label)), flush=True)
                reports.append((label, report))
    finally:
        topology.close()
    windows = [r.window for _, r in reports]
    lost = sum(len(r.lost) for _, r in reports)
    acknowledged = sum(len(r.acknowledged) for _, r in reports)
    waits = [w for _, r in reports for w in r.served_after_refusal()]
    drops = [s for _, r in reports for s in r.reconnects]
    print(
        f"\n{kind}: {len(reports)} failovers; window median {statistics.median(windows):.2f} s, "
        f"max {max(windows):.2f} s; acknowledged patients lost {lost} of {acknowledged} "
        "(target 0)"
    )
    if waits:
        print(f"patients caught by a failover: {len(waits)}, served p95 "
              f"{percentile(waits, 95):.2f} s after their first refusal")  # fmt: skip
    print(
        f"sockets dropped: {len(drops)}"
        + (f", reconnect p95 {percentile(drops, 95):.2f} s (target <= 3 s)" if drops else
           " (a Redis failover closes no socket; reconnect p95 not applicable)")
    )  # fmt: skip
    return lost == 0 and all(not r.restarted for _, r in reports)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = ChaosConfig()
    parser.add_argument("--processes", type=int, default=defaults.processes)
    parser.add_argument("--patients", type=int, default=defaults.patients)
    parser.add_argument("--agents", type=int, default=defaults.agents)
    parser.add_argument("--seconds", type=float, default=defaults.seconds)
    parser.add_argument("--kill-every", type=float, default=defaults.kill_every)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--redis",
        choices=["sentinel", "cluster"],
        help="fail Redis over instead of killing desk processes",
    )
    parser.add_argument("--rounds", type=int, default=2, help="with --redis: failovers each way")
    parser.add_argument("--waiting", type=int, default=20, help="with --redis: patients waiting")
    args = parser.parse_args()
    if args.redis:
        print(f"chaos: Redis {args.redis} failovers, {args.rounds} round(s) each way", flush=True)
        return 0 if asyncio.run(redis_failovers(args.redis, args.rounds, args.waiting)) else 1
    config = ChaosConfig(
        processes=args.processes, patients=args.patients, agents=args.agents,
        seconds=args.seconds, kill_every=args.kill_every, seed=args.seed,
    )  # fmt: skip
    print(
        f"chaos: {config.processes} processes, {config.patients} patients, {config.agents} "
        f"agents, a SIGKILL every ~{config.kill_every:.0f} s for {config.seconds:.0f} s, "
        "one Redis restart",
        flush=True,
    )
    result = asyncio.run(run_chaos(config))
    print(result.report())
    if result.reconnect_seconds:
        print(f"reconnect median: {statistics.median(result.reconnect_seconds):.2f} s")
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
