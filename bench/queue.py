"""Queue engine benchmark: step latency and cycle throughput, or a wait-estimate simulation.

    python -m bench.queue [--redis-url URL] [--seconds N] [--simulate [--model M]]

Speed is measured, not asserted: every figure is printed beside the floor measured in the
same run (PING and a trivial EVALSHA over the same client and pool), and each target is
reported as MET or NOT MET. Without ``--redis-url`` a throwaway ``redis-server`` (no
persistence) is started on a free loopback port and stopped at the end. With a URL the
benchmark works on desks of its own (``vd:{bench-…-<random>}:…``) and deletes only those
keys afterwards; it never flushes a database (its scripts do stay in the script cache).

``--simulate`` drives the real engine on simulated time (the desk's clock skew): Poisson
arrivals, lognormal handle and wrap-up times, agents who accept at once. It compares the
wait estimate each patient was shown at join with the wait they actually had.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import secrets
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.utils import HIREDIS_AVAILABLE

from server.core.redis_keys import Keys
from server.core.settings import DEFAULT_QUEUES, parse_queues
from server.queue.engine import QueueEngine, Timing
from server.queue.models import Offer, PatientDetails
from tests.support.redis_server import RedisServer

TARGET_P99_RATIO = 3.0  # a step's p99 within 3x the EVALSHA floor's p99
TARGET_CYCLES = 3000.0  # full patient cycles per second from one process
DETAILS = PatientDetails(name="Bench", reason="benchmark", language="en")


# -- connection and desks --------------------------------------------------------------------
@asynccontextmanager
async def redis_for(url: str | None) -> AsyncIterator[tuple[Redis, str]]:
    """A client set up like ``server.core.store.connect``'s, on the given or a throwaway server."""
    server: RedisServer | None = None
    if url is None:
        server = RedisServer()
        server.start()
        url = server.url
    pool: BlockingConnectionPool = BlockingConnectionPool.from_url(
        url,
        max_connections=64,
        timeout=5,
        socket_timeout=5,
        socket_connect_timeout=2,
        socket_keepalive=True,
        health_check_interval=15,
        decode_responses=True,
    )
    client = Redis(connection_pool=pool)
    try:
        yield client, "own throwaway redis-server" if server else "given --redis-url"
    finally:
        await client.aclose()
        if server is not None:
            server.close()


@asynccontextmanager
async def fresh_desk(redis: Redis, label: str) -> AsyncIterator[Keys]:
    """A desk nobody else uses; its keys, and only those, are deleted afterwards."""
    keys = Keys(f"bench-{label}-{secrets.token_hex(4)}")
    try:
        yield keys
    finally:
        batch: list[str] = []
        async for key in redis.scan_iter(match=f"{keys.prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                await redis.unlink(*batch)
                batch.clear()
        if batch:
            await redis.unlink(*batch)


def loop_factory() -> tuple[Callable[[], asyncio.AbstractEventLoop] | None, str]:
    """uvloop's event loop when it is installed (as in production), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None, "asyncio event loop"
    return uvloop.new_event_loop, f"uvloop {metadata.version('uvloop')}"


# -- part 1: latency figures ------------------------------------------------------------------
@dataclass
class Latencies:
    """Round-trip times of one operation, in nanoseconds."""

    ns: list[int] = field(default_factory=list)

    def since(self, start: int) -> int:
        """Record the time since ``start``; returns now (the next step's start)."""
        now = time.perf_counter_ns()
        self.ns.append(now - start)
        return now

    def percentile_us(self, fraction: float) -> float:
        if not self.ns:
            return math.nan
        ordered = sorted(self.ns)
        return ordered[max(1, math.ceil(fraction * len(ordered))) - 1] / 1000.0

    def mean_us(self) -> float:
        return statistics.fmean(self.ns) / 1000.0 if self.ns else math.nan


@dataclass
class Load:
    """Wall time and what each side spent during a phase (INFO is read-only)."""

    wall_s: float = 0.0
    client_cpu_s: float = 0.0
    redis_cpu_s: float = 0.0
    evalsha_calls: int = 0
    evalsha_us: int = 0

    def add(self, other: Load) -> None:
        self.wall_s += other.wall_s
        self.client_cpu_s += other.client_cpu_s
        self.redis_cpu_s += other.redis_cpu_s
        self.evalsha_calls += other.evalsha_calls
        self.evalsha_us += other.evalsha_us

    def describe(self) -> str:
        figures = (
            f"wall {self.wall_s:5.1f} s, client CPU {self.client_cpu_s / self.wall_s:4.0%}, "
            f"redis CPU {self.redis_cpu_s / self.wall_s:4.0%}"
        )
        if self.evalsha_calls:
            figures += f", redis time per EVALSHA {self.evalsha_us / self.evalsha_calls:.1f} us"
        return figures


@dataclass(frozen=True, slots=True)
class Counters:
    """redis-server's totals so far: CPU seconds, EVALSHA calls and time, other commands
    (those the scripts run count here too: Redis 7 counts them in commandstats)."""

    cpu_s: float
    evalsha_calls: int
    evalsha_us: int
    other_calls: int


async def server_counters(redis: Redis) -> Counters:
    cpu: dict[str, Any] = await redis.info("cpu")
    commands: dict[str, dict[str, Any]] = await redis.info("commandstats")
    evalsha = commands.get("cmdstat_evalsha", {"calls": 0, "usec": 0})
    other = sum(
        int(stat["calls"])
        for name, stat in commands.items()
        if name not in ("cmdstat_evalsha", "cmdstat_info")
    )
    used = float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])
    return Counters(used, int(evalsha["calls"]), int(evalsha["usec"]), other)


async def measure(redis: Redis, phase: Awaitable[object]) -> Load:
    before = await server_counters(redis)
    cpu, wall = time.process_time(), time.perf_counter()
    await phase
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = await server_counters(redis)
    return Load(
        wall,
        cpu,
        after.cpu_s - before.cpu_s,
        after.evalsha_calls - before.evalsha_calls,
        after.evalsha_us - before.evalsha_us,
    )


@dataclass
class Run:
    """One operation (or the engine's cycle) at one number of callers, over all rounds."""

    callers: int
    latencies: Latencies = field(default_factory=Latencies)
    load: Load = field(default_factory=Load)


async def floor_round(
    redis: Redis, op: Callable[[], Awaitable[object]], run: Run, ops: int, cap_s: float
) -> None:
    """``ops`` round trips of ``op`` spread over the run's concurrent callers."""
    deadline = time.monotonic() + cap_s

    async def caller() -> None:
        for _ in range(ops // run.callers):
            if time.monotonic() > deadline:
                return
            start = time.perf_counter_ns()
            await op()
            run.latencies.since(start)

    run.load.add(await measure(redis, asyncio.gather(*(caller() for _ in range(run.callers)))))


STEPS = ("join", "offer", "accept", "finish", "wrapup")


@dataclass
class CycleRun(Run):
    """Full cycles: ``latencies`` is the whole cycle, ``steps`` each step of it."""

    steps: dict[str, Latencies] = field(default_factory=lambda: {s: Latencies() for s in STEPS})
    agents: list[str] = field(default_factory=list)


async def cycle_round(engine: QueueEngine, run: CycleRun, seconds: float, record: bool) -> None:
    """Each caller is an agent running full patient cycles for ``seconds``.

    Every agent serves every queue, so an offer goes to the longest-waiting patient, who
    may be another caller's; there is always one, as each caller joins before offering.
    """
    names = sorted(engine.queues)
    if not run.agents:
        languages = sorted({lang for q in engine.queues.values() for lang in q.languages})
        run.agents = [f"a_bench{run.callers}_{i}" for i in range(run.callers)]
        for aid in run.agents:
            await engine.agent_signin(aid, "Bench agent", names, languages)
    steps = run.steps if record else {s: Latencies() for s in STEPS}
    cycle = run.latencies if record else Latencies()
    stop = time.monotonic() + seconds

    async def agent(aid: str) -> None:
        while time.monotonic() < stop:
            pid = f"p_{secrets.token_hex(6)}"
            queue = names[len(cycle.ns) % len(names)]
            first = t = time.perf_counter_ns()
            await engine.join(pid, queue, DETAILS)
            t = steps["join"].since(t)
            offer = await engine.set_status(aid, "available")
            t = steps["offer"].since(t)
            if offer is None:
                raise RuntimeError("no offer: every agent must serve every queue")
            await engine.accept(aid, offer.token)
            t = steps["accept"].since(t)
            await engine.finish(aid)
            t = steps["finish"].since(t)
            await engine.wrapup_done(aid, "resolved", available=False)
            steps["wrapup"].since(t)
            cycle.since(first)

    load = await measure(engine.redis, asyncio.gather(*(agent(aid) for aid in run.agents)))
    if record:
        run.load.add(load)


@dataclass(frozen=True, slots=True)
class ScriptCost:
    """What one step's script costs redis-server (medians over the profiled cycles)."""

    redis_us: float
    commands: float  # Redis commands the script runs


async def script_costs(engine: QueueEngine, cycles: int = 100) -> dict[str, ScriptCost]:
    """Each step's script cost, one caller, from INFO around each step."""
    aid = "a_bench_profile"
    await engine.agent_signin(aid, "Bench agent", sorted(engine.queues), ["en", "es"])
    spent: dict[str, list[tuple[int, int]]] = {s: [] for s in STEPS}

    async def timed(step: str, op: Awaitable[object]) -> object:
        before = await server_counters(engine.redis)
        result = await op
        after = await server_counters(engine.redis)
        spent[step].append(
            (after.evalsha_us - before.evalsha_us, after.other_calls - before.other_calls)
        )
        return result

    for n in range(cycles):
        queue = sorted(engine.queues)[n % len(engine.queues)]
        await timed("join", engine.join(f"p_{secrets.token_hex(6)}", queue, DETAILS))
        offer = await timed("offer", engine.set_status(aid, "available"))
        if not isinstance(offer, Offer):
            raise RuntimeError("no offer for the profiling agent")
        await timed("accept", engine.accept(aid, offer.token))
        await timed("finish", engine.finish(aid))
        await timed("wrapup", engine.wrapup_done(aid, "resolved", available=False))
    return {
        step: ScriptCost(
            statistics.median(us for us, _ in costs), statistics.median(n for _, n in costs)
        )
        for step, costs in spent.items()
    }


def _row(name: str, run: Run, rate: float, lat: Latencies, extra: str = "") -> str:
    return (
        f"{name:<9}{run.callers:>8}{len(lat.ns):>8}{rate:>10,.0f}"
        f"{lat.percentile_us(0.5):>9.0f}{lat.percentile_us(0.99):>9.0f}{extra}"
    )


HEADER = f"{'step':<9}{'callers':>8}{'ops':>8}{'ops/s':>10}{'p50_us':>9}{'p99_us':>9}"


def print_throughput(
    floors: dict[tuple[str, int], Run], cycles: dict[int, CycleRun], costs: dict[str, ScriptCost]
) -> None:
    redis_us = {step: cost.redis_us for step, cost in costs.items()}
    print("\nfloor (same client and pool; ops/s = ops / wall time):")
    print(HEADER + f"{'redis_us':>10}")
    for (op, _), run in floors.items():
        per_call = run.load.evalsha_us / max(1, run.load.evalsha_calls) if op == "EVALSHA" else 0
        rate = len(run.latencies.ns) / run.load.wall_s
        print(_row(op, run, rate, run.latencies, f"{per_call:>10.0f}" if per_call else ""))
    print(
        "\nengine steps (a step's ops/s = callers / its mean latency; p99/floor = its p99 over\n"
        "the EVALSHA p99 at the same callers; redis_us = median server time of its script,\n"
        "cmds = Redis commands it runs; both profiled with one caller):"
    )
    print(HEADER + f"{'p99/floor':>11}{'redis_us':>10}{'cmds':>6}")
    verdicts: list[str] = []
    for callers, run in cycles.items():
        floor_p99 = floors["EVALSHA", callers].latencies.percentile_us(0.99)
        worst = ("", 0.0)
        for step, lat in run.steps.items():
            ratio = lat.percentile_us(0.99) / floor_p99
            worst = max(worst, (step, ratio), key=lambda w: w[1])
            extra = f"{ratio:>10.1f}x{redis_us[step]:>10.0f}{costs[step].commands:>6.0f}"
            print(_row(step, run, callers * 1e6 / lat.mean_us(), lat, extra))
        rate = len(run.latencies.ns) / run.load.wall_s
        commands = sum(c.commands for c in costs.values())
        total = f"{'':>11}{sum(redis_us.values()):>10.0f}{commands:>6.0f}"
        print(_row("cycle", run, rate, run.latencies, total))
        met = "MET" if worst[1] <= TARGET_P99_RATIO else "NOT MET"
        verdicts.append(f"{callers} callers {met} (worst {worst[0]} {worst[1]:.1f}x)")
    print("(cycle = join, offer, accept, finish, wrap-up; its ops/s is cycles per wall second)")
    print("\nwhere the time went (all rounds of each phase):")
    for (op, callers), run in floors.items():
        print(f"  {op:<8}{callers:>3} callers: {run.load.describe()}")
    for callers, run in cycles.items():
        print(f"  cycles  {callers:>3} callers: {run.load.describe()}")
    most = max(cycles)
    busiest = cycles[most]
    done = len(busiest.latencies.ns)
    best = done / busiest.load.wall_s
    floor_rate = len(floors["EVALSHA", most].latencies.ns) / floors["EVALSHA", most].load.wall_s
    client_us = busiest.load.client_cpu_s * 1e6 / done
    server_us = busiest.load.redis_cpu_s * 1e6 / done
    print(
        f"ceilings: this client does {floor_rate:,.0f} trivial EVALSHA/s at {most} callers, so "
        f"{floor_rate / len(STEPS):,.0f} cycles/s of {len(STEPS)} round trips if the scripts cost "
        f"nothing;\n  at {most} callers a cycle took {client_us:.0f} us of this process's CPU "
        f"and {server_us:.0f} us of redis-server's, so with a free core each at most "
        f"{1e6 / max(client_us, server_us):,.0f} cycles/s"
    )
    print(f"\ntarget: p99 <= {TARGET_P99_RATIO:.0f}x EVALSHA floor per step: {'; '.join(verdicts)}")
    met = "MET" if best >= TARGET_CYCLES else "NOT MET"
    print(
        f"target: >= {TARGET_CYCLES:,.0f} full cycles/s from one process: {met} "
        f"({best:,.0f} cycles/s at {most} callers)"
    )


async def throughput(redis: Redis, budget_s: float, rounds: int = 3) -> None:
    """Floors and cycles at 1 and 20 callers, in alternating rounds so that a noisy
    neighbour on the machine weighs on both alike."""
    floor_ops, floor_cap = 12_000 // rounds, budget_s * 0.05
    cycle_s = budget_s * 0.09
    trivial = redis.register_script("return 1")
    floors: dict[tuple[str, int], Run] = {}
    cycles: dict[int, CycleRun] = {}
    async with fresh_desk(redis, "tp") as keys:

        async def evalsha() -> object:
            return await trivial(keys=[keys.seq], args=[keys.prefix])

        async def ping() -> object:
            return await redis.ping()

        engine = QueueEngine(redis, keys, parse_queues(DEFAULT_QUEUES), Timing())
        for callers in (1, 20):
            for op in (ping, evalsha):
                for _ in range(20):  # every caller's connection open, the script loaded
                    await asyncio.gather(*(op() for _ in range(callers)))
            cycles[callers] = CycleRun(callers)
            await cycle_round(engine, cycles[callers], 0.5, record=False)
            for _ in range(rounds):
                for name, op in (("PING", ping), ("EVALSHA", evalsha)):
                    run = floors.setdefault((name, callers), Run(callers))
                    await floor_round(redis, op, run, floor_ops, floor_cap)
                await cycle_round(engine, cycles[callers], cycle_s, record=True)
        costs = await script_costs(engine)
    print_throughput(floors, cycles, costs)


# -- part 1b: the cost of confirming joins on a replica (WAIT) --------------------------------
async def wait_cost(budget_s: float, rounds: int = 3) -> None:
    """Joins on a throwaway primary with one replica (loopback, the same machine), without
    and with ``VIDEODESK_REDIS_WAIT_REPLICAS=1``, in alternating rounds, at 1 and 20
    callers. The plain join is the floor the WAIT is measured against."""
    primary = RedisServer(extra=("--repl-diskless-sync-delay", "0"))
    primary.start()
    replica = RedisServer(extra=("--replicaof", "127.0.0.1", str(primary.port)))
    replica.start()
    try:
        async with redis_for(primary.url) as (redis, _):
            while (await redis.info("replication")).get("connected_slaves", 0) < 1:
                await asyncio.sleep(0.05)
            runs: dict[tuple[int, int], Run] = {}
            per_round = budget_s / (rounds * 4)
            async with fresh_desk(redis, "wait") as keys:
                for _ in range(rounds):
                    for callers in (1, 20):
                        for replicas in (0, 1):
                            engine = QueueEngine(
                                redis,
                                keys,
                                parse_queues(DEFAULT_QUEUES),
                                Timing(wait_replicas=replicas, wait_ms=500),
                            )
                            run = runs.setdefault((callers, replicas), Run(callers))
                            await _join_round(engine, run, per_round)
        print("\njoins confirmed on a replica (WAIT 1, same pipeline as the join script), "
              "primary and replica on loopback:")  # fmt: skip
        print(f"  {'callers':>7}  {'WAIT':>4}  {'joins/s':>8}  {'p50 µs':>8}  {'p99 µs':>8}")
        for (callers, replicas), run in sorted(runs.items()):
            rate = len(run.latencies.ns) / run.load.wall_s if run.load.wall_s else math.nan
            p50, p99 = run.latencies.percentile_us(0.5), run.latencies.percentile_us(0.99)
            print(f"  {callers:>7}  {replicas:>4}  {rate:>8,.0f}  {p50:>8,.0f}  {p99:>8,.0f}")
        for callers in (1, 20):
            plain, waited = runs[(callers, 0)], runs[(callers, 1)]
            extra = waited.latencies.percentile_us(0.5) - plain.latencies.percentile_us(0.5)
            print(f"  {callers} caller(s): WAIT adds {extra:,.0f} µs to the median join")
    finally:
        replica.close()
        primary.close()


async def _join_round(engine: QueueEngine, run: Run, seconds: float) -> None:
    deadline = time.monotonic() + seconds

    async def caller() -> None:
        while time.monotonic() < deadline:
            start = time.perf_counter_ns()
            await engine.join("p_" + secrets.token_hex(6), "appointments", DETAILS)
            run.latencies.since(start)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(run.callers)))
    run.load.wall_s += time.perf_counter() - started


# -- part 2: simulated waits (bench/waits.py) ----------------------------------------------------
async def simulate(redis: Redis, budget_s: float, calibrate: bool) -> None:
    from bench import waits

    seeds = [101 + i for i in range(len(waits.SCENARIOS))] if calibrate else waits.CI_SEEDS
    results = await waits.simulate_all(redis, budget_s, seeds)
    if calibrate:
        waits.print_calibration(results)
    else:
        waits.print_results(results)
    await waits.estimate_cost(redis)


# -- entry point ---------------------------------------------------------------------------------
async def run(args: argparse.Namespace, loop_name: str) -> None:
    async with redis_for(args.redis_url) as (redis, where):
        info: dict[str, Any] = await redis.info("server")
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"videodesk queue benchmark: redis {info['redis_version']} ({where}), "
            f"{os.cpu_count()} CPUs (load average {load}), Python "
            f"{platform.python_version()}, {loop_name}, "
            f"hiredis {'yes' if HIREDIS_AVAILABLE else 'no'}"
        )
        if args.wait_cost:
            await wait_cost(args.seconds)
        elif args.simulate:
            await simulate(redis, args.seconds, args.calibrate)
        else:
            await throughput(redis, args.seconds)
        print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.queue", description=__doc__)
    parser.add_argument(
        "--redis-url", help="use this Redis (desks of its own only) instead of a throwaway one"
    )
    parser.add_argument(
        "--seconds", type=float, default=40.0, help="rough wall-clock budget (default 40)"
    )
    parser.add_argument(
        "--simulate", action="store_true", help="simulate waits and judge the wait estimate"
    )
    parser.add_argument(
        "--wait-cost",
        action="store_true",
        help="measure joins confirmed on a replica (WAIT 1) against plain joins",
    )
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="with --simulate: other seeds, and the spread of actual over replayed waits",
    )
    args = parser.parse_args(argv)
    factory, loop_name = loop_factory()
    started = time.perf_counter()
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(run(args, loop_name))
    print(f"the run took {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
