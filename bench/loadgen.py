"""A lean, open-loop load generator for the relay: several processes of raw WebSockets.

Each worker process (``python -m bench.loadgen``, one job as JSON on stdin, commands and
replies as JSON lines) holds a share of the pairs: a *patient* socket that sends chat texts
on a fixed schedule and an *agent* socket that echoes each one straight back. The server in
between is the floor (a bare relay) or the desk; the worker does not know which beyond how
its sockets authenticate and, for the desk, how a pair gets into a call (the agent goes
available, the patient joins, the agent accepts the offer: the real protocol).

Measuring, the way an outside client sees it:

* **open loop**: every patient sends at ``rate`` per second from a random phase, whatever
  comes back; a send that falls behind is not skipped, it goes late (and the lateness shows
  in ``send_lag``, which says whether the generator itself kept up);
* a round trip is counted from the time the text was *due*, not when it left, so a stalled
  generator or server cannot hide queueing;
* texts of the window still unanswered after the drain are counted as infinitely slow.

The controller side (:class:`LoadGen`) starts the workers, steps them through the phases
together and merges what they report.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from bench.rawws import RawSocket, connect
from bench.workers import WorkerPool, serve_worker

TEXT_BYTES = 150  # a chat text the size of an ICE candidate line (the frame is ~210 bytes)
KEY_BYTES = 24  # the start of each text: the worker's name and a counter
SETUP_CONCURRENCY = 20
SETUP_TIMEOUT = 40.0


class Incoming(msgspec.Struct):
    """What a worker reads of a server message (anything else is ignored)."""

    type: str = ""
    text: str = ""
    token: str = ""
    state: str = ""
    code: str = ""


_decode = msgspec.json.Decoder(Incoming).decode


@dataclass
class Pair:
    """One pair's two sockets and what the patient is waiting to hear back."""

    patient_token: str
    agent_token: str
    patient_source: str
    agent_source: str
    index: int
    patient: RawSocket | None = None
    agent: RawSocket | None = None
    agent_ready: asyncio.Event = field(default_factory=asyncio.Event)
    agent_in_call: asyncio.Event = field(default_factory=asyncio.Event)
    patient_in_call: asyncio.Event = field(default_factory=asyncio.Event)
    welcomed: asyncio.Event = field(default_factory=asyncio.Event)
    agent_welcomed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Window:
    """The measured window of one run: sends due inside it count."""

    start_ns: int = 0
    end_ns: int = 0
    pending: dict[bytes, int] = field(default_factory=dict)  # text id → due time
    rtt_us: list[int] = field(default_factory=list)
    lag_us: list[int] = field(default_factory=list)
    sent: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class Worker:
    """One load process's pairs (bench/workers.py runs it; its commands below)."""

    COMMANDS = frozenset({"agents", "patients", "run"})

    def __init__(self, job: dict[str, Any]) -> None:
        self.mode: str = job["mode"]  # "floor" or "desk"
        self.patient_url: str = job["patient_url"]
        self.agent_url: str = job["agent_url"]
        self.name: str = job["name"]
        self.pairs = [
            Pair(p["patient"], p["agent"], p["patient_source"], p["agent_source"], i)
            for i, p in enumerate(job["pairs"])
        ]
        self.window = Window()
        self.pad = b"x" * TEXT_BYTES

    # -- what the sockets hear -------------------------------------------------------------
    def _heard(self, data: bytes) -> Incoming | None:
        """A server message (None: not one this worker reads); error replies are counted."""
        try:
            message = _decode(data)
        except msgspec.DecodeError:
            return None
        if message.type == "error":
            self.window.errors[message.code] = self.window.errors.get(message.code, 0) + 1
        return message

    def on_patient(self, pair: Pair, data: bytes) -> None:
        message = self._heard(data)
        if message is None:
            return
        kind = message.type
        if kind == "call.chat":
            key = message.text[:KEY_BYTES].encode()
            due = self.window.pending.pop(key, None)
            if due is not None:
                self.window.rtt_us.append((time.perf_counter_ns() - due) // 1000)
        elif kind == "call.started":
            pair.patient_in_call.set()
        elif kind == "welcome":
            pair.welcomed.set()

    def on_agent(self, pair: Pair, data: bytes) -> None:
        message = self._heard(data)
        if message is None:
            return
        kind = message.type
        if kind == "call.chat":
            assert pair.agent is not None
            pair.agent.send_text(b'{"type":"call.chat","text":"' + message.text.encode() + b'"}')
        elif kind == "agent.offer":
            assert pair.agent is not None
            offer = json.dumps({"type": "agent.accept", "token": message.token})
            pair.agent.send_text(offer.encode())
        elif kind == "agent.state" and message.state == "available":
            pair.agent_ready.set()
        elif kind == "call.started":
            pair.agent_in_call.set()
        elif kind == "welcome":
            pair.agent_welcomed.set()

    def close(self) -> None:
        for pair in self.pairs:
            for sock in (pair.patient, pair.agent):
                if sock is not None:
                    sock.abort()

    # -- setting up --------------------------------------------------------------------------
    async def _open(self, url: str, token: str, role: str, source: str, pair: Pair,
                    patient: bool) -> RawSocket:  # fmt: skip
        handler = self.on_patient if patient else self.on_agent
        sock = await connect(url, lambda data: handler(pair, data), source=source)
        sock.send_text(json.dumps({"type": "auth", "token": token, "role": role}).encode())
        await asyncio.wait_for((pair.welcomed if patient else pair.agent_welcomed).wait(), 15)
        return sock

    async def _agent(self, pair: Pair) -> bool:
        pair.agent = await self._open(
            self.agent_url, pair.agent_token, "agent", pair.agent_source, pair, False
        )
        if self.mode == "desk":
            pair.agent.send_text(b'{"type":"agent.status","status":"available"}')
            await asyncio.wait_for(pair.agent_ready.wait(), 15)
        return True

    async def _patient(self, pair: Pair) -> bool:
        pair.patient = await self._open(
            self.patient_url, pair.patient_token, "patient", pair.patient_source, pair, True
        )
        if self.mode == "desk":
            join = {"type": "queue.join", "name": f"Load {pair.index}", "language": "en"}
            pair.patient.send_text(json.dumps(join).encode())
            await asyncio.wait_for(pair.patient_in_call.wait(), SETUP_TIMEOUT)
        return True

    async def agents(self) -> dict[str, Any]:
        """Every agent of this worker connected (and, at the desk, available)."""
        return await self._setup("agents")

    async def patients(self) -> dict[str, Any]:
        """Every patient connected (and, at the desk, in a call)."""
        return await self._setup("patients")

    async def _setup(self, side: str) -> dict[str, Any]:
        limit = asyncio.Semaphore(SETUP_CONCURRENCY)
        failures: dict[str, int] = {}

        async def one(pair: Pair) -> bool:
            async with limit:
                try:
                    return await (self._agent(pair) if side == "agents" else self._patient(pair))
                except Exception as exc:
                    name = type(exc).__name__
                    failures[name] = failures.get(name, 0) + 1
                    return False

        done = await asyncio.gather(*(one(p) for p in self.pairs))
        if side == "patients":
            # The agents of this worker are in calls too (with whichever patients: the desk
            # offers a patient to any available agent of the queue).
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(
                p.agent_in_call.is_set() for p in self.pairs if p.agent is not None
            ):
                await asyncio.sleep(0.1)
        return {"ok": sum(done), "failed": failures}

    # -- measuring ---------------------------------------------------------------------------
    async def run(self, start: float, rate: float, warmup: float, seconds: float,
                  drain: float, seed: int) -> dict[str, Any]:  # fmt: skip
        """Send on schedule from wall-clock ``start``; count what is due in the window."""
        # At the desk a patient in a call sends (to whichever agent took it); on the floor
        # a pair whose two sockets are open.
        senders = [
            p for p in self.pairs if p.patient is not None
            and (p.agent is not None if self.mode == "floor" else p.patient_in_call.is_set())
        ]  # fmt: skip
        rng = random.Random(seed)
        period_ns = int(1e9 / rate)
        origin = time.perf_counter_ns() + int((start - time.time()) * 1e9)
        schedule = sorted(((rng.randrange(period_ns), p) for p in senders), key=lambda s: s[0])
        window = self.window = Window(
            start_ns=origin + int(warmup * 1e9), end_ns=origin + int((warmup + seconds) * 1e9)
        )
        stop_ns = window.end_ns
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu0 = usage.ru_utime + usage.ru_stime
        counter = 0
        round_start = origin
        prefix = f"{self.name}-".encode()
        while round_start < stop_ns and schedule:
            for phase, pair in schedule:
                due = round_start + phase
                now = time.perf_counter_ns()
                while due > now:  # (a timer may fire up to a millisecond early)
                    await asyncio.sleep((due - now) / 1e9)
                    now = time.perf_counter_ns()
                if due >= stop_ns:
                    break
                counter += 1
                key = prefix + str(counter).encode().rjust(KEY_BYTES - len(prefix), b"0")
                if due >= window.start_ns:
                    window.pending[key] = due
                    window.sent += 1
                    window.lag_us.append((now - due) // 1000)
                assert pair.patient is not None
                pair.patient.send_text(
                    b'{"type":"call.chat","text":"' + key + self.pad[: TEXT_BYTES - len(key)]
                    + b'"}'
                )  # fmt: skip
            round_start += period_ns
        deadline = time.monotonic() + drain
        while window.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "rtt_us": window.rtt_us,
            "unanswered": len(window.pending),
            "sent": window.sent,
            "lag_us": sorted(window.lag_us)[-max(1, len(window.lag_us) // 100) :],
            "lag_count": len(window.lag_us),
            "errors": window.errors,
            "cpu_s": usage.ru_utime + usage.ru_stime - cpu0,
        }


# -- the controller's side -------------------------------------------------------------------
@dataclass
class Result:
    """One run merged over the workers."""

    rate: float
    pairs: int
    seconds: float
    rtt_us: list[int] = field(default_factory=list)
    sent: int = 0
    unanswered: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    worst_lag_us: list[int] = field(default_factory=list)
    lag_count: int = 0
    client_cpu_s: float = 0.0

    def quantile_ms(self, q: float) -> float:
        """The q-quantile of round trips, unanswered ones counted as infinitely slow."""
        total = len(self.rtt_us) + self.unanswered
        if not total:
            return math.nan
        rank = min(total - 1, max(0, math.ceil(q * total) - 1))
        ordered = sorted(self.rtt_us)
        return ordered[rank] / 1000 if rank < len(ordered) else math.inf

    def delivered_per_s(self) -> float:
        """Relayed messages per second: each answered round trip is two."""
        return 2 * len(self.rtt_us) / self.seconds if self.seconds else math.nan

    def lag_p99_ms(self) -> float:
        """How late the generator's sends left, p99 (its own bottleneck when large)."""
        if not self.lag_count:
            return math.nan
        rank = self.lag_count - math.ceil(0.99 * self.lag_count)
        ordered = sorted(self.worst_lag_us, reverse=True)
        return ordered[min(rank, len(ordered) - 1)] / 1000


class LoadGen:
    """Worker processes for one arrangement (floor or desk); pairs dealt round robin."""

    def __init__(self, mode: str, patient_url: str, agent_url: str,
                 pairs: Sequence[dict[str, str]], processes: int) -> None:  # fmt: skip
        self.pairs = len(pairs)
        self.pool = WorkerPool("bench.loadgen", [
            {"mode": mode, "name": f"w{i}", "patient_url": patient_url, "agent_url": agent_url,
             "pairs": list(pairs[i::processes])}
            for i in range(processes)
        ])  # fmt: skip

    @property
    def pids(self) -> list[int]:
        return self.pool.pids

    async def start(self) -> None:
        await self.pool.start()

    async def setup(self) -> tuple[int, dict[str, int]]:
        """Agents first (all of them available), then patients; pairs in calls, failures."""
        failed: dict[str, int] = {}
        ok = 0
        for side in ("agents", "patients"):
            replies = await self.pool.all({"do": side})
            ok = sum(r["ok"] for r in replies)
            for reply in replies:
                for name, count in reply["failed"].items():
                    failed[f"{side}: {name}"] = failed.get(f"{side}: {name}", 0) + count
        return ok, failed

    async def run(self, rate: float, seconds: float, warmup: float = 2.0,
                  drain: float = 3.0) -> Result:  # fmt: skip
        replies = await self.pool.all(
            {"do": "run", "start": time.time() + 0.5, "rate": rate, "warmup": warmup,
             "seconds": seconds, "drain": drain, "seed": int(rate * 1000)}
        )  # fmt: skip
        result = Result(rate=rate, pairs=self.pairs, seconds=seconds)
        for reply in replies:
            result.rtt_us.extend(reply["rtt_us"])
            result.sent += reply["sent"]
            result.unanswered += reply["unanswered"]
            result.worst_lag_us.extend(reply["lag_us"])
            result.lag_count += reply["lag_count"]
            result.client_cpu_s += reply["cpu_s"]
            for code, count in reply["errors"].items():
                result.errors[code] = result.errors.get(code, 0) + count
        return result

    async def stop(self) -> None:
        await self.pool.stop()


if __name__ == "__main__":
    serve_worker(Worker)
