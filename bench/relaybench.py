"""The relay part of ``python -m bench.signaling``: floor and desk under the same lean load.

Two arrangements, each with its floor beside it in the same run: one process (a bare
aiohttp relay; one ``videodesk serve``), and two processes (patients on the first, agents
on the second: two bare relays joined by Redis streams, the way the desk crosses
processes; two ``videodesk serve`` on one Redis). The load is bench/loadgen.py's worker
processes (raw sockets, open loop). Pairs are set up first for the floor and the desk
alike and stay open; the runs then alternate between them: the issue's load (500 pairs ×
5 round trips/s), then a ramp of rates to find where each saturates (the highest rate
whose p99 stays within SATURATED_MS).
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

from bench.loadgen import LoadGen, Result
from bench.signaling import (
    CHAT_QUEUES,
    FloorProcess,
    Minter,
    SourceAddresses,
    cpu_seconds,
    desk_env,
    kill_all,
    machine_busy_seconds,
    pid_of,
    ratio,
    rss_kib,
    start_all,
    times,
)
from tests.support.processes import ServerProcess
from tests.support.redis_server import RedisServer

SATURATED_MS = 50.0
WORKERS = 3  # load processes (the machine has 2 cores: more would only take turns)
TARGETS = {  # (p99 ratio, CPU per message ratio, saturation msgs/s)
    False: (1.5, 1.3, 12_000.0),
    True: (2.0, 2.0, 20_000.0),
}


@dataclass(frozen=True, slots=True)
class Plan:
    pairs: int
    rate: float  # round trips per second per pair, the load
    seconds: float
    ramp: tuple[float, ...]  # rates per pair tried for saturation
    ramp_seconds: float


FULL_PLAN = Plan(pairs=500, rate=5.0, seconds=10.0, ramp=(8.0, 11.0, 14.0, 17.0),
                 ramp_seconds=5.0)  # fmt: skip
QUICK_PLAN = Plan(pairs=100, rate=5.0, seconds=4.0, ramp=(10.0,), ramp_seconds=3.0)


@dataclass
class Measured:
    """One run of one relay, with what it cost the machine."""

    label: str
    result: Result
    server_cpu_s: float = 0.0
    redis_cpu_s: float = 0.0
    gen_cpu_s: float = 0.0
    others_cpu_s: float = 0.0
    wall_s: float = 0.0
    rss_kib: int = 0
    load: float = 0.0

    def share(self, seconds: float) -> float:
        return seconds / self.wall_s if self.wall_s else math.nan

    def us_per_message(self) -> float:
        relayed = self.result.sent + len(self.result.rtt_us)
        return self.server_cpu_s * 1e6 / relayed if relayed else math.nan


@dataclass
class Arrangement:
    name: str
    cross: bool
    floor_pairs: int = 0
    desk_pairs: int = 0
    setup_s: float = 0.0
    setup_failed: dict[str, int] = field(default_factory=dict)
    load: dict[str, Measured] = field(default_factory=dict)  # "floor"/"desk" at the load
    ramp: dict[str, list[Measured]] = field(default_factory=dict)

    def _runs(self, label: str) -> list[Measured]:
        return [self.load[label], *self.ramp.get(label, [])] if label in self.load else []

    def held_every_rate(self, label: str) -> bool:
        runs = self._runs(label)
        return bool(runs) and all(m.result.quantile_ms(0.99) <= SATURATED_MS for m in runs)

    def saturation(self, label: str) -> float:
        """The highest delivered rate whose p99 stayed within SATURATED_MS."""
        good = [m.result.delivered_per_s() for m in self._runs(label)
                if m.result.quantile_ms(0.99) <= SATURATED_MS]  # fmt: skip
        return max(good) if good else 0.0


async def measure(label: str, gen: LoadGen, servers: Sequence[int], redis: int, rate: float,
                  seconds: float, warmup: float = 2.0) -> Measured:  # fmt: skip
    """One run, with the CPU every party used over its window (from /proc)."""
    running = asyncio.create_task(gen.run(rate, seconds, warmup=warmup))
    await asyncio.sleep(0.5 + warmup)
    pids = [*servers, redis, *gen.pids]
    before = [cpu_seconds(p) for p in pids]
    busy, wall = machine_busy_seconds(), time.perf_counter()
    await asyncio.sleep(seconds)
    after = [cpu_seconds(p) for p in pids]
    busy, wall = machine_busy_seconds() - busy, time.perf_counter() - wall
    used = [a - b for a, b in zip(after, before, strict=True)]
    result = await running
    n = len(servers)
    return Measured(
        label=label,
        result=result,
        server_cpu_s=sum(used[:n]),
        redis_cpu_s=used[n],
        gen_cpu_s=sum(used[n + 1 :]),
        others_cpu_s=max(0.0, busy - sum(used)),
        wall_s=wall,
        rss_kib=sum(rss_kib(p) for p in servers),
        load=os.getloadavg()[0],
    )


def ws_url(child: ServerProcess) -> str:
    return f"ws://127.0.0.1:{child.port}/ws"


def desk_pair_specs(count: int, minter: Minter, sources: SourceAddresses) -> list[dict[str, str]]:
    return [
        {
            "patient": minter.invite(f"Load {i}", CHAT_QUEUES[i % len(CHAT_QUEUES)]),
            "agent": minter.agent(f"Agent {i}"),
            "patient_source": sources.next(),
            "agent_source": sources.next(),
        }
        for i in range(count)
    ]


def floor_pair_specs(count: int, sources: SourceAddresses) -> list[dict[str, str]]:
    return [
        {
            "patient": f"pair{i}",
            "agent": f"pair{i}",
            "patient_source": sources.next(),
            "agent_source": sources.next(),
        }  # fmt: skip
        for i in range(count)
    ]


async def arrangement(cross: bool, plan: Plan, redis: RedisServer, minter: Minter) -> Arrangement:
    result = Arrangement("two processes" if cross else "one process", cross)
    sources = SourceAddresses()
    with ExitStack() as stack:
        env = desk_env(redis.url)
        d1 = ServerProcess("bench-relay-desk1", env)
        d2 = ServerProcess("bench-relay-desk2", env) if cross else d1
        if cross:
            link = ["--redis-url", redis.url]
            f1: ServerProcess = FloorProcess(
                "bench-relay-floor1", [*link, "--channel", "floor:1", "--peer-channel", "floor:2"]
            )
            f2: ServerProcess = FloorProcess(
                "bench-relay-floor2", [*link, "--channel", "floor:2", "--peer-channel", "floor:1"]
            )
        else:
            f1 = f2 = FloorProcess("bench-relay-floor")
        await start_all(stack, *{d1: None, d2: None, f1: None, f2: None})
        desk_servers = sorted({pid_of(d1), pid_of(d2)})
        floor_servers = sorted({pid_of(f1), pid_of(f2)})
        gens = {
            "floor": LoadGen(
                "floor", ws_url(f1), ws_url(f2), floor_pair_specs(plan.pairs, sources), WORKERS
            ),  # fmt: skip
            "desk": LoadGen(
                "desk",
                ws_url(d1),
                ws_url(d2),
                desk_pair_specs(plan.pairs, minter, sources),
                WORKERS,
            ),  # fmt: skip
        }
        try:
            for label, gen in gens.items():
                await gen.start()
                began = time.monotonic()
                ok, failed = await gen.setup()
                if label == "desk":
                    result.desk_pairs, result.setup_failed = ok, failed
                    result.setup_s = time.monotonic() - began
                else:
                    result.floor_pairs = ok
            await asyncio.sleep(1.0)  # whatever the set-up set off (pushes, panels) settles
            servers = {"floor": floor_servers, "desk": desk_servers}
            for label, gen in gens.items():
                result.load[label] = await measure(
                    label, gen, servers[label], pid_of(redis), plan.rate, plan.seconds
                )
            for rate in plan.ramp:
                for label, gen in gens.items():
                    if (
                        result.ramp.get(label)
                        and result.ramp[label][-1].result.quantile_ms(0.99) > SATURATED_MS
                    ):
                        continue  # already past saturation
                    run = await measure(label, gen, servers[label], pid_of(redis), rate,
                                        plan.ramp_seconds, warmup=1.0)  # fmt: skip
                    result.ramp.setdefault(label, []).append(run)
        finally:
            for gen in gens.values():
                await gen.stop()
            kill_all((d1, d2, f1, f2))
    return result


def _row(arr: Arrangement, m: Measured) -> str:
    r = m.result
    return (
        f"{arr.name:<14}{m.label:<6}{r.pairs:>6}{r.rate:>5.0f}{r.delivered_per_s():>8.0f}"
        f"{r.unanswered:>6}{sum(r.errors.values()):>5}{r.quantile_ms(0.5):>8.2f}"
        f"{r.quantile_ms(0.99):>9.2f}{m.share(m.server_cpu_s):>7.0%}{m.us_per_message():>7.0f}"
        f"{m.share(m.redis_cpu_s):>6.0%}{m.share(m.gen_cpu_s):>6.0%}"
        f"{m.share(m.others_cpu_s):>7.0%}{r.lag_p99_ms():>7.1f}{m.rss_kib / 1024:>6.0f}"
        f"{m.load:>6.2f}"
    )


def print_relay(arrangements: Sequence[Arrangement]) -> list[str]:
    print(
        "\n(b) relay under load: patient → server → agent, who echoes → server → patient;"
        " bench/loadgen.py,\n    "
        f"{WORKERS} processes of raw sockets, open loop (each pair at `rate` round trips/s from a"
        " random phase),\n    a round trip timed from when its text was due; unanswered ="
        " no echo 3 s after the window (counted as infinitely slow);\n    msgs/s = relayed"
        " messages delivered per second (two per round trip); CPU in % of one core: the"
        " server(s),\n    redis-server, the load processes, everything else; us/msg = server"
        " CPU per relayed message;\n    lag = p99 of how late the generator's sends left;"
        " RSS of the server(s) in MiB; load = 1-min load average"
    )
    print(
        f"{'arrangement':<14}{'relay':<6}{'pairs':>6}{'rate':>5}{'msgs/s':>8}{'unans':>6}"
        f"{'err':>5}{'p50_ms':>8}{'p99_ms':>9}{'server':>7}{'us/msg':>7}{'redis':>6}{'gen':>6}"
        f"{'others':>7}{'lag_ms':>7}{'RSS':>6}{'load':>6}"
    )
    verdicts: list[str] = []
    for arr in arrangements:
        for label in ("floor", "desk"):
            if label in arr.load:
                print(_row(arr, arr.load[label]))
        if "floor" in arr.load and "desk" in arr.load:
            floor, desk = arr.load["floor"], arr.load["desk"]
            p50 = ratio(desk.result.quantile_ms(0.5), floor.result.quantile_ms(0.5))
            p99 = ratio(desk.result.quantile_ms(0.99), floor.result.quantile_ms(0.99))
            cost = ratio(desk.us_per_message(), floor.us_per_message())
            print(f"{'':<14}{'ratio':<6}{'':>30}{times(p50, 2):>8}{times(p99, 2):>9}{'':>7}"
                  f"{times(cost, 2):>7}")  # fmt: skip
            want_p99, want_cost, want_rate = TARGETS[arr.cross]
            unanswered = desk.result.unanswered
            verdicts.append(
                f"target: {arr.name}, {desk.result.pairs} pairs × {desk.result.rate:.0f}/s: p99"
                f" ≤ {want_p99}× floor: {_met(p99 <= want_p99)} ({p99:.2f}×:"
                f" {desk.result.quantile_ms(0.99):.2f} vs {floor.result.quantile_ms(0.99):.2f}"
                f" ms); unanswered {unanswered} ({_met(unanswered == 0)})"
            )
            verdicts.append(
                f"target: {arr.name}: server CPU per message ≤ {want_cost}× floor:"
                f" {_met(cost <= want_cost)} ({cost:.2f}×: {desk.us_per_message():.0f} vs"
                f" {floor.us_per_message():.0f} us)"
            )
            sat_desk, sat_floor = arr.saturation("desk"), arr.saturation("floor")
            verdict = _met(sat_desk >= want_rate)
            if sat_desk < want_rate and arr.held_every_rate("desk"):
                verdict = "NOT MEASURED (it held every rate tried)"
            verdicts.append(
                f"target: {arr.name}: saturation (p99 ≤ {SATURATED_MS:.0f} ms) ≥"
                f" {want_rate:,.0f} msgs/s: {verdict} (desk {sat_desk:,.0f}, floor"
                f" {sat_floor:,.0f}: the highest rate tried that held)"
            )
    print("\nramp (rates per pair tried until p99 passes the saturation line):")
    for arr in arrangements:
        for label in ("floor", "desk"):
            for m in arr.ramp.get(label, []):
                print(_row(arr, m))
    for arr in arrangements:
        codes: dict[str, int] = {}
        for m in [*arr.load.values(), *(x for runs in arr.ramp.values() for x in runs)]:
            for code, count in m.result.errors.items():
                codes[f"{m.label} {code}"] = codes.get(f"{m.label} {code}", 0) + count
        print(
            f"{arr.name}: {arr.desk_pairs} desk pairs set up through the protocol in"
            f" {arr.setup_s:.1f} s (failed: {arr.setup_failed or 'none'}), {arr.floor_pairs}"
            f" floor pairs; error replies: {codes or 'none'}"
        )
    return verdicts


def _met(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


async def relay_part(quick: bool, redis: RedisServer, minter: Minter) -> list[str]:
    plan = QUICK_PLAN if quick else FULL_PLAN
    found = [await arrangement(cross, plan, redis, minter) for cross in (False, True)]
    return print_relay(found)
