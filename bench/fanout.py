"""The fan-out part of ``python -m bench.signaling``: one desk process, thousands waiting.

Patients join one queue through the protocol from worker processes of raw sockets (as
bench/loadgen.py's), then:

* **positions**: the patient at the head leaves ``rate`` times a second (each leave moves
  everyone behind up one place, as being served does); for every patient and every leave
  ahead of them, the time from the leave to the first ``queue.state`` that shows a place at
  least that far forward (never: infinitely late). With the desk's CPU over the window.
* **broadcast**: an agent sends one ``staff.message`` to the queue; the time until each
  waiting patient has its ``queue.notice``, and the desk's CPU for it.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import math
import os
import subprocess
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import msgspec

from bench.rawws import RawSocket, connect
from bench.workers import WorkerPool, serve_worker

QUEUE = "q00"
BUCKET_MS = 5  # latency histogram resolution
BUCKETS = 2000  # up to 10 s; later (or never) is the overflow bucket
SETUP_CONCURRENCY = 40
COMMANDS = frozenset({"setup", "places", "leaves", "latencies", "notice", "notices"})


class Incoming(msgspec.Struct):
    type: str = ""
    position: int = 0
    state: str = ""
    code: str = ""


_decode = msgspec.json.Decoder(Incoming).decode


@dataclass
class Waiting:
    token: str
    source: str
    sock: RawSocket | None = None
    first: int = 0  # place when everyone had joined
    arrivals: list[tuple[float, int]] = field(default_factory=list)  # (wall time, position)
    notice_at: float = 0.0
    placed: asyncio.Event = field(default_factory=asyncio.Event)


class FanoutWorker:
    """One load process's waiting patients (bench/workers.py runs it; its commands below)."""

    COMMANDS = COMMANDS

    def __init__(self, job: dict[str, Any]) -> None:
        self.url: str = job["url"]
        self.patients = [Waiting(p["token"], p["source"]) for p in job["patients"]]
        self.agent_token: str = job.get("agent", "")
        self.agent: RawSocket | None = None
        self.errors: dict[str, int] = {}
        self.left = 0  # the first places, which left during the positions run

    def on_text(self, who: Waiting, data: bytes) -> None:
        try:
            message = _decode(data)
        except msgspec.DecodeError:
            return
        if message.type == "queue.state":
            who.arrivals.append((time.time(), message.position))
            if message.state == "waiting" and message.position > 0:
                who.placed.set()
        elif message.type == "queue.notice" and not who.notice_at:
            who.notice_at = time.time()
        elif message.type == "error":
            self.errors[message.code] = self.errors.get(message.code, 0) + 1

    async def _join(self, who: Waiting) -> None:
        who.sock = await connect(self.url, lambda data: self.on_text(who, data), source=who.source)
        who.sock.send_text(json.dumps({"type": "auth", "token": who.token, "role": "patient"})
                           .encode())  # fmt: skip
        join = {"type": "queue.join", "name": "Fan", "language": "en"}
        await asyncio.sleep(0.05)
        who.sock.send_text(json.dumps(join).encode())
        await asyncio.wait_for(who.placed.wait(), 120)

    async def setup(self) -> dict[str, Any]:
        limit = asyncio.Semaphore(SETUP_CONCURRENCY)
        failed = 0

        async def one(who: Waiting) -> None:
            nonlocal failed
            async with limit:
                try:
                    await self._join(who)
                except Exception:
                    failed += 1

        await asyncio.gather(*(one(p) for p in self.patients))
        if self.agent_token:
            self.agent = await connect(self.url, lambda data: None, source="127.0.0.1")
            auth = {"type": "auth", "token": self.agent_token, "role": "agent"}
            self.agent.send_text(json.dumps(auth).encode())
        return {"ok": len(self.patients) - failed, "failed": failed}

    async def places(self) -> dict[str, Any]:
        """Each patient's place now (the last queue.state), keyed by index."""
        for who in self.patients:
            who.first = who.arrivals[-1][1] if who.arrivals else 0
        return {"places": [who.first for who in self.patients]}

    async def leaves(self, start: float, rate: float, count: int) -> dict[str, Any]:
        """The patients of this worker whose first place is 1..count leave on schedule: the
        one first in line at ``start``, the next 1/rate later, and so on."""
        self.left = count
        mine = sorted(
            ((who.first, who) for who in self.patients if 1 <= who.first <= count),
            key=lambda item: item[0],
        )
        for place, who in mine:
            due = start + (place - 1) / rate
            while (wait := due - time.time()) > 0:
                await asyncio.sleep(wait)
            if who.sock is not None:
                who.sock.send_text(b'{"type":"queue.leave"}')
        return {"left": len(mine)}

    async def latencies(self, start: float, rate: float, count: int) -> dict[str, Any]:
        """A histogram of leave → new place seen, over every (patient, leave ahead) pair."""
        histogram = [0] * (BUCKETS + 1)
        for who in self.patients:
            if who.first <= count:
                continue  # left during the run
            times = [at for at, _ in who.arrivals]
            for k in range(1, count + 1):
                left_at = start + (k - 1) / rate
                wanted = who.first - k
                i = bisect.bisect_left(times, left_at)
                seen = next((at for at, pos in who.arrivals[i:] if 0 < pos <= wanted), None)
                bucket = BUCKETS if seen is None else min(BUCKETS, int((seen - left_at) * 1000
                                                                       // BUCKET_MS))  # fmt: skip
                histogram[max(0, bucket)] += 1
        return {"histogram": histogram, "errors": self.errors}

    async def notice(self) -> dict[str, Any]:
        assert self.agent is not None
        sent = time.time()
        message = {"type": "staff.message", "queue": QUEUE, "text": "We are running late."}
        self.agent.send_text(json.dumps(message).encode())
        return {"sent": sent}

    async def notices(self) -> dict[str, Any]:
        return {"at": [who.notice_at for who in self.patients if who.first > self.left]}

    def close(self) -> None:
        for sock in [self.agent, *(who.sock for who in self.patients)]:
            if sock is not None:
                sock.abort()


# -- the controller --------------------------------------------------------------------------
@dataclass
class FanoutRun:
    waiting: int = 0
    failed: int = 0
    setup_s: float = 0.0
    rate: float = 0.0
    leaves: int = 0
    histogram: list[int] = field(default_factory=lambda: [0] * (BUCKETS + 1))
    cpu_share: float = 0.0
    redis_share: float = 0.0
    gen_share: float = 0.0
    notice_ms: list[float] = field(default_factory=list)
    notice_missing: int = 0
    notice_cpu_ms: float = 0.0
    rss_kib: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def quantile_ms(self, q: float) -> float:
        total = sum(self.histogram)
        if not total:
            return math.nan
        rank, seen = math.ceil(q * total), 0
        for i, count in enumerate(self.histogram):
            seen += count
            if seen >= rank:
                return math.inf if i == BUCKETS else (i + 1) * BUCKET_MS
        return math.inf


async def fanout(waiting: int, rate: float, seconds: float, redis_url: str, redis_pid: int,
                 processes: int = 3) -> FanoutRun:  # fmt: skip
    from bench.signaling import (
        Minter,
        SourceAddresses,
        cpu_seconds,
        desk_env,
        kill_all,
        pid_of,
        rss_kib,
        start_all,
    )
    from tests.support.processes import ServerProcess

    run = FanoutRun(rate=rate)
    minter = Minter(redis_url)
    sources = SourceAddresses()
    patients = [{"token": minter.invite(f"Fan {i}", QUEUE), "source": sources.next()}
                for i in range(waiting)]  # fmt: skip
    jobs: list[dict[str, Any]] = [
        {"url": "", "patients": patients[i::processes]} for i in range(processes)
    ]
    jobs[0]["agent"] = minter.agent("Notice agent", queues=(QUEUE,))
    with ExitStack() as stack:
        desk = ServerProcess("bench-fanout-desk", desk_env(redis_url))
        await start_all(stack, desk)
        for job in jobs:
            job["url"] = f"ws://127.0.0.1:{desk.port}/ws"
        workers = WorkerPool("bench.fanout", jobs)
        try:
            await workers.start()
            began = time.monotonic()
            for reply in await workers.all({"do": "setup"}):
                run.waiting += reply["ok"]
                run.failed += reply["failed"]
            run.setup_s = time.monotonic() - began
            await asyncio.sleep(6.0)  # the next full refresh settles every place
            await workers.all({"do": "places"})
            run.leaves = int(rate * seconds)
            start = time.time() + 1.0
            pids = [pid_of(desk), redis_pid, *workers.pids]
            await asyncio.sleep(1.0)
            spy = _profile(pid_of(desk), seconds)
            before = [cpu_seconds(p) for p in pids]
            wall = time.perf_counter()
            command = {"start": start, "rate": rate, "count": run.leaves}
            await workers.all({"do": "leaves", **command})
            await asyncio.sleep(1.5)  # the last leave's pushes arrive
            after = [cpu_seconds(p) for p in pids]
            wall = time.perf_counter() - wall
            if spy is not None:
                spy.wait()
            run.cpu_share = (after[0] - before[0]) / wall
            run.redis_share = (after[1] - before[1]) / wall
            run.gen_share = sum(a - b for a, b in zip(after[2:], before[2:], strict=True)) / wall
            for reply in await workers.all({"do": "latencies", **command}):
                run.histogram = [a + b for a, b in zip(run.histogram, reply["histogram"],
                                                       strict=True)]  # fmt: skip
                for code, count in reply["errors"].items():
                    run.errors[code] = run.errors.get(code, 0) + count
            await asyncio.sleep(6.0)  # quiet again (a full refresh passes)
            cpu = cpu_seconds(pid_of(desk))
            sent = (await workers.all({"do": "notice"}, only=0))[0]["sent"]
            await asyncio.sleep(3.0)
            run.notice_cpu_ms = (cpu_seconds(pid_of(desk)) - cpu) * 1000
            for reply in await workers.all({"do": "notices"}):
                for at in reply["at"]:
                    if at:
                        run.notice_ms.append((at - sent) * 1000)
                    else:
                        run.notice_missing += 1
            run.rss_kib = rss_kib(pid_of(desk))
        finally:
            await workers.stop()
            kill_all([desk])
            await minter.close()
    return run


def _profile(pid: int, seconds: float) -> subprocess.Popen[bytes] | None:
    """With BENCH_PROFILE=file: py-spy (if installed) samples the desk over the window."""
    target = os.environ.get("BENCH_PROFILE")
    if not target:
        return None
    command = ["py-spy", "record", "--pid", str(pid), "--duration", str(int(seconds) + 1),
               "--gil", "--format", "raw", "-o", target]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def print_fanout(run: FanoutRun) -> list[str]:
    from bench.signaling import percentile

    print(
        f"\n(e) fan-out from one desk process: {run.waiting} patients waiting in one queue (set up"
        f" through the protocol in {run.setup_s:.0f} s, {run.failed} failed);\n    the head"
        f" leaves {run.rate:.0f} times a second for {run.leaves / run.rate:.0f} s; latency = a"
        " leave → the first queue.state showing a place at least that far forward, over every"
        "\n    (patient, leave ahead of them) pair; CPU in % of one core over the window"
    )
    print(
        f"positions: p50 {run.quantile_ms(0.5):.0f} ms, p99 {run.quantile_ms(0.99):.0f} ms"
        f" ({sum(run.histogram):,} pairs); desk CPU {run.cpu_share:.0%}, redis-server"
        f" {run.redis_share:.0%}, load processes {run.gen_share:.0%}; desk RSS"
        f" {run.rss_kib / 1024:.0f} MiB"
    )
    print(
        f"broadcast (one staff.message to the queue): {len(run.notice_ms)} got it, p50"
        f" {percentile(run.notice_ms, 0.5):.0f} ms, p99 {percentile(run.notice_ms, 0.99):.0f}"
        f" ms, last {max(run.notice_ms, default=math.nan):.0f} ms; {run.notice_missing} never;"
        f" desk CPU {run.notice_cpu_ms:.0f} ms over the 3 s after it (the presence loops too)"
    )
    if run.errors:
        print(f"error replies: {run.errors}")
    return [
        f"target: positions to {run.waiting} waiting, head served {run.rate:.0f}/s: desk CPU ≤"
        f" 25% of a core: {'MET' if run.cpu_share <= 0.25 else 'NOT MET'} ({run.cpu_share:.0%});"
        f" new place within 1 s p99: {'MET' if run.quantile_ms(0.99) <= 1000 else 'NOT MET'}"
        f" ({run.quantile_ms(0.99):.0f} ms)"
    ]


async def fanout_part(quick: bool, redis_url: str, redis_pid: int) -> list[str]:
    waiting = 1000 if quick else 10_000
    return print_fanout(await fanout(waiting, 10.0, 5.0 if quick else 10.0, redis_url,
                                     redis_pid))  # fmt: skip


if __name__ == "__main__":
    serve_worker(FanoutWorker)
