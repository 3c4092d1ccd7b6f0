"""Signaling benchmark: the desk's relay against a minimal relay, Redis transports, call
set-up with real media, and memory per idle waiting patient.

    python -m bench.signaling [--quick]

Figures are printed beside the floor measured in the same run; nothing is asserted, and each
target is reported as MET or NOT MET. Everything runs on loopback: a throwaway
``redis-server``, real ``videodesk serve`` processes (``tests.support.processes``) and, for
the floor, a minimal aiohttp relay that this module also contains (``--floor-server``).
Every server is a subprocess; the clients (bench/loadgen.py's raw sockets for the relay,
the headless bots of ``signaling/client.py`` for media and memory) drive the floor and the
desk alike, in the same arrangement. Every process started here is stopped before the run ends.

(a) the Redis transports alone (pub/sub, a stream with XADD / XREAD BLOCK, and the desk's
    Relay) between this process and a reader subprocess, and what each loses while the
    reader's connection is down.
(b) the relay under load (bench/relaybench.py): ``call.chat`` round trips patient → server
    → agent, who echoes → server → patient, driven by bench/loadgen.py (worker processes of
    raw WebSockets, open loop), through the floor and the desk, on one process and across
    two. The floor is an aiohttp app (``--floor-server``) that forwards each text frame,
    unparsed, to the socket paired with it (pairing from the first ``auth`` message; it
    answers ``welcome`` and nothing else); across processes two of them are joined by Redis
    streams, batched per event-loop turn, the way the desk's relay crosses processes.
(c) agent accept → first remote video frame with real aiortc media (ICE on 127.0.0.1).
(d) server RSS per idle waiting patient, with thousands of raw WebSockets.
(e) fan-out (bench/fanout.py): new places and a staff message to thousands waiting.

``--quick`` runs everything smaller (about a minute); the full run takes about five.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from server.auth.keyring import Keyring
from server.auth.tokens import TokenRequest, TokenService
from server.core.redis_keys import Keys
from server.core.settings import Settings
from server.core.store import connect
from signaling.client import AgentBot, Bot, ClientError, GuestBot, PatientBot, Timings
from signaling.messages import MAX_MESSAGE_BYTES
from signaling.relay import INBOX_MAXLEN, Message, Relay, RelayKeys
from tests.support.processes import LOG_DIR, ServerProcess
from tests.support.redis_server import RedisServer

T = TypeVar("T")

SECRET = "bench-signaling-secret-only-" + "0123456789abcdef" * 2
DESK = "bench"
ISSUER = "videodesk"
QUEUES = tuple(f"q{i:02d}" for i in range(20))
CHAT_QUEUES = QUEUES[:4]
# Sockets per loopback source address. The desk admits 200 sockets per client address,
# but only 10 per address and process that have not signed in yet
# (VIDEODESK_MAX_UNAUTHENTICATED_PER_ADDRESS): the set-up opens 25 at once, so with more
# than 10 on one address the rest got HTTP 429 and most pairs were never made.
SOCKETS_PER_ADDRESS = 8
TARGET_FIRST_FRAME_MS = 300.0
TARGET_GUEST_FRAME_MS = 1500.0  # issue 15: a guest's first frame at every party, p50
TARGET_SOCKET_KIB = 40.0
TRANSPORT_CHANNEL = "bench:transport:channel"
TRANSPORT_STREAM = "bench:transport:stream"
TRANSPORT_DESK = "bench-transport"
TRANSPORT_PARTICIPANT = "p_bench_reader"
PARTS = ("transports", "relay", "media", "memory", "fanout")
IN_FLIGHT = 48  # transport sends in flight at most (the desk's pool has 64 connections)


@dataclass(frozen=True, slots=True)
class Budget:
    """How much of everything a run does."""

    transport_idle: int  # messages sent one at a time
    transport_rate: float
    transport_s: float
    gap_s: float  # loss demonstration: seconds of sending at 1000/s
    calls: int  # media calls through the floor and one desk process
    cross_calls: int  # media calls across two desk processes
    party_calls: int  # media calls that two guests join (three, then four parties)
    sockets: int
    sockets_s: float  # at most this long opening idle sockets
    settle_s: float  # after the last idle socket, wait this long (twice) for pushes


FULL = Budget(
    transport_idle=200,
    transport_rate=2500.0,
    transport_s=2.0,
    gap_s=1.0,
    calls=20,
    cross_calls=10,
    party_calls=10,
    sockets=5000,
    sockets_s=60.0,
    settle_s=2.5,
)
QUICK = Budget(
    transport_idle=100,
    transport_rate=2500.0,
    transport_s=1.0,
    gap_s=0.8,
    calls=3,
    cross_calls=2,
    party_calls=2,
    sockets=300,
    sockets_s=8.0,
    settle_s=1.0,
)


# -- small helpers -----------------------------------------------------------------------------
def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def ms(values_ns: Sequence[int], fraction: float) -> float:
    return percentile(values_ns, fraction) / 1e6


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pid_of(child: ServerProcess | RedisServer) -> int:
    if child.process is None:
        raise RuntimeError("the process is not running")
    return child.process.pid


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (every core, every process)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds of this process, of some others, and of everything else on the machine
    ("others": whatever else runs there, such as other people's tests) over a window."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._start = self._read()
        self._wall = time.perf_counter()

    def _read(self) -> dict[str, float]:
        used = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        used["client"] = time.process_time()
        used["others"] = machine_busy_seconds() - sum(used.values())
        return used

    def stop(self) -> tuple[float, dict[str, float]]:
        end = self._read()
        return time.perf_counter() - self._wall, {k: end[k] - self._start[k] for k in end}


async def bounded(work: Iterable[Awaitable[T]], limit: int) -> list[T | BaseException]:
    """Run awaitables with at most ``limit`` at a time; exceptions are returned, not raised."""
    gate = asyncio.Semaphore(limit)

    async def one(item: Awaitable[T]) -> T:
        async with gate:
            return await item

    return await asyncio.gather(*(one(item) for item in work), return_exceptions=True)


def loop_factory() -> tuple[Callable[[], asyncio.AbstractEventLoop] | None, str]:
    """uvloop's event loop when it is installed (as ``videodesk serve`` uses), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None, "asyncio event loop"
    return uvloop.new_event_loop, f"uvloop {metadata.version('uvloop')}"


def raise_file_limit() -> int:
    """As many open files as allowed (child processes inherit it): thousands of sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for wanted in (max(hard, 65536), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            continue
    return soft


def desk_settings(redis_url: str) -> Settings:
    return Settings.from_env(
        {
            "REDIS_URL": redis_url,
            "VIDEODESK_SECRET": SECRET,
            "VIDEODESK_SECRET_FILE": str(Path(tempfile.gettempdir()) / "bench-signaling-secret"),
        }
    )


def desk_env(redis_url: str) -> dict[str, str]:
    return {
        "REDIS_URL": redis_url,
        "VIDEODESK_SECRET": SECRET,
        "VIDEODESK_SECRET_FILE": str(Path(tempfile.gettempdir()) / "bench-signaling-secret"),
        "VIDEODESK_DESK": DESK,
        "VIDEODESK_QUEUES": ",".join(f"{q}:en:120" for q in QUEUES),
        "VIDEODESK_LOG_LEVEL": "INFO",
    }


# -- processes ---------------------------------------------------------------------------------
class FloorProcess(ServerProcess):
    """The floor relay (``--floor-server``) in a subprocess, started and stopped like a desk."""

    def __init__(self, name: str, extra: Sequence[str] = ()) -> None:
        super().__init__(name, {})
        self.extra = list(extra)

    def start(self, timeout: float = 20.0) -> None:
        command = [
            sys.executable,
            "-m",
            "bench.signaling",
            "--floor-server",
            "--port",
            str(self.port),
            *self.extra,
        ]
        with self.log_path.open("ab") as log, self.stdout_path.open("ab") as out:
            self.process = subprocess.Popen(command, env=self.env, stdout=out, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.output()}")
            if self.get("/healthz")[0] == 200:
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"{self.name} did not answer /healthz:\n{self.output()}")


def started(stack: ExitStack, child: ServerProcess) -> ServerProcess:
    child.start()
    stack.callback(child.terminate)
    return child


async def start_all(stack: ExitStack, *children: ServerProcess) -> None:
    """Start several servers at once (each start waits for /healthz in a thread)."""
    for child in children:
        stack.callback(child.terminate)
    await asyncio.gather(*(asyncio.to_thread(child.start) for child in children))


def kill_all(children: Iterable[ServerProcess]) -> None:
    """SIGKILL: tearing down a server that holds thousands of sockets gracefully takes long,
    and nothing it would clean up is needed (Redis is flushed after each part)."""
    for child in children:
        child.kill()


# -- (a) the floor relay (runs in its own process) --------------------------------------------
class FloorRelay:
    """Forward every text frame to the paired socket, unparsed; across processes by a Redis
    stream per process, as the desk crosses processes (server/ws: signaling/relay.py).

    The only message it reads is the first (``auth``: the token names the pair, the role
    the side); it answers ``welcome`` so the desk's clients connect to it unchanged. Frames
    for the other process are batched per event-loop turn (one pipelined round of XADDs) and
    read back many at a time (XREAD BLOCK COUNT): the least work a stream relay can do, with
    no routes, ids or checks.
    """

    def __init__(self, redis_url: str | None, channel: str, peer_channel: str) -> None:
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self.redis_url = redis_url
        self.channel = channel
        self.peer_channel = peer_channel
        self.publisher = Redis.from_url(redis_url) if redis_url else None
        self.outgoing: list[bytes] = []
        self.flushing: asyncio.Task[None] | None = None

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def relay(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=MAX_MESSAGE_BYTES, compress=False)
        await ws.prepare(request)
        first = await ws.receive()
        if first.type != aiohttp.WSMsgType.TEXT:
            return ws
        auth = json.loads(first.data)
        role, pair = str(auth.get("role")), str(auth.get("token"))
        me = f"{role}:{pair}"
        peer = f"{'agent' if role == 'patient' else 'patient'}:{pair}"
        self.sockets[me] = ws
        await ws.send_str('{"type":"welcome"}')
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    await self.forward(peer, msg.data)
        finally:
            if self.sockets.get(me) is ws:
                del self.sockets[me]
        return ws

    async def forward(self, peer: str, data: str) -> None:
        target = self.sockets.get(peer)
        if target is not None:
            await target.send_str(data)
        elif self.publisher is not None:
            self.outgoing.append(f"{peer} {data}".encode())
            if self.flushing is None or self.flushing.done():
                self.flushing = asyncio.create_task(self.flush())

    async def flush(self) -> None:
        assert self.publisher is not None
        await asyncio.sleep(0)  # whatever else this turn of the loop forwards joins the batch
        while self.outgoing:
            batch, self.outgoing = self.outgoing, []
            async with self.publisher.pipeline(transaction=False) as pipe:
                for item in batch:
                    pipe.xadd(self.peer_channel, {"m": item}, maxlen=INBOX_MAXLEN, approximate=True)
                await pipe.execute()

    async def subscribe(self) -> None:
        if self.redis_url is None:
            return
        client = Redis.from_url(self.redis_url, socket_timeout=None)  # XREAD BLOCK holds it
        cursor: str | bytes = "$"
        while True:
            # RESP2 reply: [[stream, [(id, fields), ...]], ...] (bytes: no decoding)
            replies: list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]] = (
                await client.xread({self.channel: cursor}, count=1000, block=2000)  # type: ignore[assignment]
            )
            for _, entries in replies or []:
                for entry_id, fields in entries:
                    cursor = entry_id
                    key, _, data = fields[b"m"].partition(b" ")
                    target = self.sockets.get(key.decode())
                    if target is not None and not target.closed:
                        await target.send_frame(data, aiohttp.WSMsgType.TEXT)

    async def close_all(self, app: web.Application) -> None:
        for ws in list(self.sockets.values()):
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY)


async def floor_serve(port: int, redis_url: str | None, channel: str, peer_channel: str) -> None:
    """Serve the floor relay until SIGTERM."""
    floor = FloorRelay(redis_url, channel, peer_channel)
    app = web.Application()
    app.router.add_get("/healthz", floor.health)
    app.router.add_get("/ws", floor.relay)
    app.on_shutdown.append(floor.close_all)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, reuse_address=True).start()
    reading = asyncio.create_task(floor.subscribe())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    reading.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await reading
    await runner.cleanup()
    if floor.publisher is not None:
        await floor.publisher.aclose()


# -- bots ------------------------------------------------------------------------------------------
class SourceAddresses:
    """Loopback source addresses for client sockets, SOCKETS_PER_ADDRESS on each."""

    def __init__(self, per_address: int = SOCKETS_PER_ADDRESS) -> None:
        self.per_address = per_address
        self.count = 0

    def next(self) -> str:
        n = self.count // self.per_address
        self.count += 1
        return f"127.0.{n // 250}.{2 + n % 250}"


def bound_session(source: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(source, 0), limit=0))


class BoundBot(Bot):
    """A bot whose sockets leave from a given loopback address."""

    def __init__(self, *args: Any, source: str = "127.0.0.1", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.source = source

    async def connect(self) -> dict[str, Any]:
        if self._http is None:
            self._http = bound_session(self.source)
        return await super().connect()

    def reading(self) -> asyncio.Task[None] | None:
        return self._reader

    async def abort(self) -> None:
        """Drop the connection without a close handshake (tearing down many bots)."""
        await self.end_media()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self._http is not None:
            await self._http.close()
        self._reader, self._ws, self._http = None, None, None


class BoundPatient(BoundBot, PatientBot):
    pass


class BoundAgent(BoundBot, AgentBot):
    pass


async def close_quietly(bot: Bot) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(bot.close(), 10)
    if isinstance(bot, BoundBot):
        await bot.abort()  # whatever close() left open


async def abort_all(bots: Sequence[Bot]) -> None:
    """After the servers are gone: let each reader see the end of its stream, then abort."""
    readers = [t for b in bots if isinstance(b, BoundBot) and (t := b.reading()) is not None]
    if readers:
        await asyncio.wait(readers, timeout=5)
    for bot in bots:
        if isinstance(bot, BoundBot):
            with contextlib.suppress(Exception):
                await bot.abort()


class Minter:
    """Tokens signed with the desk's secret (minting does no I/O)."""

    def __init__(self, redis_url: str) -> None:
        self._client = Redis.from_url(redis_url)
        self.service = TokenService(self._client, Keys(DESK), Keyring.from_secrets(SECRET), ISSUER)

    def agent(self, name: str, queues: Sequence[str] = CHAT_QUEUES) -> str:
        request = TokenRequest(typ="agent", name=name, queues=tuple(queues))
        return self.service.mint(request).token

    def invite(self, name: str, queue: str) -> str:
        return self.service.mint(TokenRequest(typ="invite", name=name, queues=(queue,))).token

    async def close(self) -> None:
        await self._client.aclose()


async def flush(redis: RedisServer) -> None:
    client = Redis.from_url(redis.url)
    try:
        await client.flushall()
    finally:
        await client.aclose()


def ratio(value: float, floor: float) -> float:
    """value / floor, or NaN when the floor measured nothing (too little to count)."""
    return value / floor if floor > 0 else math.nan


def times(value: float, digits: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}x"


# -- (a) Redis transports between two processes ---------------------------------------------
TRANSPORTS = {
    "pubsub": "pub/sub: PUBLISH → SUBSCRIBE",
    "stream": "stream: XADD MAXLEN~ → XREAD BLOCK",
    "relay": "videodesk Relay: Lua route+XADD → XREAD",
}
GAP_KINDS = {
    "pubsub": "pub/sub, reader reconnects after 250 ms",
    "pubsub-auto": "pub/sub, the desk's client (retries at once)",
    "stream": "stream, reader reconnects after 250 ms",
    "relay": "videodesk Relay (the desk's client, its own loop)",
}


def relay_keys() -> RelayKeys:
    keys = Keys(TRANSPORT_DESK)
    return RelayKeys(
        routes=keys.routes,
        inbox_prefix=keys.inbox(""),
        process_prefix=keys.process(""),
        broadcast=keys.broadcast,
    )


async def no_local(participant: str, message: Message) -> bool:
    return False


async def ignore(message: dict[str, Any]) -> None:
    return None


class Received:
    """What a transport reader got: latencies by phase, until the ``stop`` message."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[int]] = {}
        self.done = asyncio.Event()
        self.reconnects = 0

    def take(self, message: dict[str, Any]) -> None:
        if message.get("stop"):
            self.done.set()
            return
        self.latencies.setdefault(str(message["phase"]), []).append(
            time.monotonic_ns() - int(message["t"])
        )


def ready() -> None:
    print("ready", flush=True)


async def read_relay(got: Received, settings: Settings) -> None:
    """The desk's Relay, set up as server/app.py sets it up."""
    redis = connect(settings)
    reader = connect(settings, max_connections=2, socket_timeout=None)

    async def deliver(participant: str, message: Message) -> bool:
        got.take(message if isinstance(message, dict) else json.loads(message))
        return True

    relay = Relay(redis, reader, relay_keys(), "bench-reader", deliver)
    await relay.start(ignore)
    await relay.attach(TRANSPORT_PARTICIPANT)
    await asyncio.sleep(0.2)
    ready()
    await got.done.wait()
    got.reconnects = relay.retries
    await relay.stop()
    await reader.aclose()
    await redis.aclose()


async def read_pubsub(got: Received, client: Redis, outage: float) -> None:
    announced = False
    while not got.done.is_set():
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(TRANSPORT_CHANNEL)
            if not announced:
                announced = True
                ready()
            while not got.done.is_set():
                item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if item is not None:
                    got.take(json.loads(item["data"]))
        except (RedisError, OSError):
            got.reconnects += 1
            with contextlib.suppress(Exception):
                await pubsub.reset()  # no subscriber at all during the outage
            await asyncio.sleep(outage)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.reset()
    await client.aclose()


async def read_stream(got: Received, client: Redis, outage: float) -> None:
    last = "0-0"
    ready()
    while not got.done.is_set():
        try:
            replies: Any = await client.xread({TRANSPORT_STREAM: last}, count=200, block=1000)
            for _stream, entries in replies or []:
                for entry_id, fields in entries:
                    last = entry_id
                    got.take(json.loads(fields["msg"]))
        except (RedisError, OSError):
            got.reconnects += 1
            await asyncio.sleep(outage)
    await client.aclose()


async def transport_reader(kind: str, redis_url: str, outage: float) -> None:
    """The reading end (a subprocess): prints ``ready`` once reading, then, after the
    ``stop`` message, one JSON line with each message's latency by phase."""
    got = Received()
    settings = desk_settings(redis_url)
    plain = Redis.from_url(redis_url, decode_responses=True, retry=Retry(NoBackoff(), 0))
    if kind == "relay":
        await read_relay(got, settings)
    elif kind == "pubsub-auto":
        await read_pubsub(got, connect(settings, max_connections=2, socket_timeout=None), outage)
    elif kind == "pubsub":
        await read_pubsub(got, plain, outage)
    else:
        await read_stream(got, plain, outage)
    await plain.aclose()
    print(json.dumps({"latencies": got.latencies, "reconnects": got.reconnects}), flush=True)


class TransportSender:
    """The sending end, in this process, on a client set up like the desk's."""

    def __init__(self, kind: str, redis_url: str) -> None:
        self.kind = kind
        self.redis = connect(desk_settings(redis_url))
        self.relay = Relay(self.redis, self.redis, relay_keys(), "bench-sender", no_local)
        self.unheard = 0  # PUBLISH answered 0 receivers
        self.failed = 0  # the send raised

    async def send(self, message: dict[str, Any]) -> None:
        payload = json.dumps(message, separators=(",", ":"))
        if self.kind.startswith("pubsub"):
            if int(await self.redis.publish(TRANSPORT_CHANNEL, payload)) == 0:
                self.unheard += 1
        elif self.kind == "stream":
            await self.redis.xadd(
                TRANSPORT_STREAM, {"msg": payload}, maxlen=INBOX_MAXLEN, approximate=True
            )
        elif not await self.relay.send(TRANSPORT_PARTICIPANT, message):
            self.unheard += 1

    async def close(self) -> None:
        await self.redis.aclose()


def message(phase: str, seq: int) -> dict[str, Any]:
    return {"phase": phase, "seq": seq, "t": time.monotonic_ns(), "text": "x" * 104}


async def paced(sender: TransportSender, phase: str, rate: float, seconds: float) -> int:
    """Open loop: every millisecond, start the sends that are due, each in a task of its
    own so a slow reply does not hold back the next message, with at most ``IN_FLIGHT`` at
    once (the pool's size: beyond it the sender itself is the bottleneck and the rate
    printed falls short). Returns how many were sent."""
    start = time.monotonic()
    sent = 0
    pending: set[asyncio.Task[None]] = set()

    async def send(item: dict[str, Any]) -> None:
        try:
            await sender.send(item)
        except (RedisError, OSError):
            sender.failed += 1

    while (now := time.monotonic()) < start + seconds:
        due = int((now - start) * rate) + 1
        while sent < due and len(pending) < IN_FLIGHT:
            task = asyncio.create_task(send(message(phase, sent)))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
        await asyncio.sleep(0.001)
    await asyncio.gather(*pending)
    return sent


@dataclass
class TransportRun:
    kind: str
    latencies: dict[str, list[int]] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    wall: dict[str, float] = field(default_factory=dict)
    unheard: int = 0
    failed: int = 0
    reconnects: int = 0


async def run_reader(
    kind: str, redis_url: str, work: Callable[[TransportSender], Awaitable[None]]
) -> TransportRun:
    """Start a reader subprocess, run ``work`` against it, stop it and collect its figures."""
    result = TransportRun(kind)
    cleanup = Redis.from_url(redis_url, decode_responses=True)
    stale = [key async for key in cleanup.scan_iter(match=f"{Keys(TRANSPORT_DESK).prefix}*")]
    await cleanup.delete(TRANSPORT_STREAM, *stale)  # a reader must not find old messages
    await cleanup.aclose()
    LOG_DIR.mkdir(exist_ok=True)
    log = (LOG_DIR / f"bench-reader-{kind}.log").open("ab")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.signaling",
        "--transport-reader",
        kind,
        "--redis-url",
        redis_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=log,
    )
    sender = TransportSender(kind.removesuffix("-auto"), redis_url)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if line.strip() != b"ready":
            raise RuntimeError(f"transport reader {kind} did not start: {line!r}")
        await work(sender)
        result.unheard = sender.unheard
        output = asyncio.create_task(proc.stdout.readline())
        for _ in range(50):  # pub/sub may lose the stop message too
            await sender.send({"stop": True})
            done, _ = await asyncio.wait({output}, timeout=0.2)
            if done:
                break
        data = json.loads(await asyncio.wait_for(output, 10))
        result.latencies = {k: list(v) for k, v in data["latencies"].items()}
        result.reconnects = int(data["reconnects"])
        await asyncio.wait_for(proc.wait(), 10)
    finally:
        await sender.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        log.close()
    return result


async def kill_readers(redis_url: str) -> int:
    """CLIENT KILL every connection that is subscribed or blocked in XREAD."""
    client = Redis.from_url(redis_url, decode_responses=True)
    killed = 0
    try:
        for entry in await client.client_list():
            if entry.get("cmd") in ("xread", "subscribe", "ssubscribe") or int(
                entry.get("sub", "0") or 0
            ):
                with contextlib.suppress(RedisError):
                    killed += int(await client.client_kill_filter(_id=entry["id"]))
    finally:
        await client.aclose()
    return killed


async def transports(budget: Budget, redis_url: str) -> list[TransportRun]:
    """One reader subprocess per kind: latency one at a time and at load (the kinds of
    TRANSPORTS), then the loss demonstration (every kind of GAP_KINDS)."""
    runs: list[TransportRun] = []
    for kind in GAP_KINDS:
        run = TransportRun(kind)

        async def work(sender: TransportSender, run: TransportRun = run) -> None:
            await paced(sender, "warmup", 500, 0.1)  # connections open, script loaded
            if run.kind in TRANSPORTS:
                begin = time.perf_counter()
                for i in range(budget.transport_idle):
                    try:
                        await sender.send(message("idle", i))
                    except (RedisError, OSError):
                        sender.failed += 1
                    await asyncio.sleep(0.004)
                run.wall["idle"] = time.perf_counter() - begin
                run.sent["idle"] = budget.transport_idle
                begin = time.perf_counter()
                run.sent["load"] = await paced(
                    sender, "load", budget.transport_rate, budget.transport_s
                )
                run.wall["load"] = time.perf_counter() - begin
                run.failed = sender.failed
                await asyncio.sleep(0.2)
            sender.unheard = 0

            async def kill_later() -> None:
                await asyncio.sleep(budget.gap_s / 3)
                await kill_readers(redis_url)

            killer = asyncio.create_task(kill_later())
            run.sent["gap"] = await paced(sender, "gap", 1000.0, budget.gap_s)
            await killer
            await asyncio.sleep(0.4)  # the reader is back before the stop message

        measured = await run_reader(kind, redis_url, work)
        run.latencies, run.unheard, run.reconnects = (
            measured.latencies,
            measured.unheard,
            measured.reconnects,
        )
        runs.append(run)
    return runs


def print_transports(runs: Sequence[TransportRun]) -> None:
    print(
        "\n(a) Redis transports alone, this process → a reader subprocess (JSON of about 170"
        " bytes;\n    latency = just before the send call → the reader has decoded it, on the"
        " shared monotonic clock)"
    )
    print(
        f"{'transport':<42}{'load':<18}{'msgs':>7}{'p50_us':>9}{'p99_us':>9}{'max_us':>9}"
        f"{'failed':>7}"
    )
    for run in runs:
        if run.kind not in TRANSPORTS:
            continue
        for phase in ("idle", "load"):
            values = run.latencies.get(phase, [])
            rate = run.sent.get(phase, 0) / run.wall.get(phase, 1.0)
            load = "1 at a time" if phase == "idle" else f"{rate:,.0f}/s sent"
            name = TRANSPORTS[run.kind] if phase == "idle" else ""
            print(
                f"{name:<42}{load:<18}{len(values):>7}{percentile(values, 0.5) / 1e3:>9.0f}"
                f"{percentile(values, 0.99) / 1e3:>9.0f}{percentile(values, 1.0) / 1e3:>9.0f}"
                f"{run.failed if phase == 'load' else '':>7}"
            )
    print(
        "\n    safety: 1000 messages/s; a third of the way in, CLIENT KILL the reader's"
        " subscribed or XREAD connection"
    )
    print(f"{'reader':<52}{'sent':>6}{'received':>10}{'lost':>6}{'to nobody':>11}{'reconn':>8}")
    for run in runs:
        sent = run.sent.get("gap", 0)
        got = len(run.latencies.get("gap", []))
        print(
            f"{GAP_KINDS[run.kind]:<52}{sent:>6}{got:>10}{sent - got:>6}{run.unheard:>11}"
            f"{run.reconnects:>8}"
        )
    print(
        "    ('to nobody' = PUBLISH answered 0 subscribers; 'reconn' = reconnections the"
        " reader counted)"
    )


# -- (c) accept → first remote video frame ------------------------------------------------------
@dataclass
class MediaRun:
    label: str
    agent_ms: list[float] = field(default_factory=list)
    patient_ms: list[float] = field(default_factory=list)
    failed: int = 0
    wall_s: float = 0.0


def both_see_video(agent: Bot, patient: Bot) -> Callable[[], bool]:
    return lambda: (
        agent.timings.first_video_at is not None and patient.timings.first_video_at is not None
    )


def record_call(run: MediaRun, agent: Bot, patient: Bot) -> None:
    accepted = agent.timings.accepted_at
    agent_first, patient_first = agent.timings.first_video_at, patient.timings.first_video_at
    if accepted is None or agent_first is None or patient_first is None:
        run.failed += 1
        return
    run.agent_ms.append((agent_first - accepted) * 1000)
    run.patient_ms.append((patient_first - accepted) * 1000)


async def floor_media(run: MediaRun, calls: int, url: str) -> None:
    """The same bots through the floor relay: media starts where the desk's call.started
    would start it, and the offer and answer go through the relay."""
    patient = BoundPatient(url, "media", source="127.0.0.1", use_cookie=False)
    agent = BoundAgent(url, "media", source="127.0.0.1", use_cookie=False)
    try:
        await patient.connect()
        await agent.connect()
        for _ in range(calls):
            patient.timings = Timings()
            agent.timings = Timings(accepted_at=time.monotonic())
            try:
                await patient.start_media(initiator=False)
                await agent.start_media(initiator=True)
                await agent.wait_for(both_see_video(agent, patient), 15, "first frames")
            except TimeoutError:
                pass
            record_call(run, agent, patient)
            await agent.end_media()
            await patient.end_media()
    finally:
        await close_quietly(patient)
        await close_quietly(agent)


async def end_and_wrap_up(agent: Bot) -> None:
    """The agent hangs up and wraps up (resolved, next available): ready for the next."""
    mark = len(agent.received)
    with contextlib.suppress(ClientError, TimeoutError):
        await agent.send("call.bye")
        await agent.next("agent.state", after=mark, state="wrap_up")
        mark = len(agent.received)
        await agent.send("agent.wrapup", outcome="resolved", next="available")
        await agent.next("agent.state", after=mark, state="available")


async def sign_off(agent: Bot) -> None:
    """Offline, or the desk would keep offering patients to this agent after it leaves."""
    mark = len(agent.received)
    await agent.send("agent.status", status="offline")
    await agent.next("agent.state", after=mark, state="offline")


async def desk_media(
    run: MediaRun, calls: int, patient_url: str, agent_url: str, minter: Minter
) -> None:
    """Sequential calls: patient joins, agent accepts, both see video, agent hangs up and
    wraps up (resolved, next available)."""
    agent = BoundAgent(agent_url, minter.agent("Media agent"), source="127.0.0.1", use_cookie=False)
    try:
        await agent.connect()
        mark = len(agent.received)
        await agent.available()
        await agent.next("agent.state", after=mark, state="available")
        for n in range(calls):
            patient = BoundPatient(
                patient_url,
                minter.invite(f"Media {n}", CHAT_QUEUES[0]),
                source="127.0.0.1",
                use_cookie=False,
            )
            try:
                await patient.connect()
                mark = len(agent.received)
                await patient.join(name=f"Media {n}")
                offer = await agent.next("agent.offer", after=mark)
                await agent.accept(offer)
                await agent.wait_for(both_see_video(agent, patient), 15, "first frames")
            except (TimeoutError, ClientError):
                pass
            record_call(run, agent, patient)
            await end_and_wrap_up(agent)
            await close_quietly(patient)
        await sign_off(agent)
    finally:
        await close_quietly(agent)


@dataclass
class PartiesRun:
    """Calls that a guest joins, then a second: from the guest opening its link to the
    first video frame at every other party (and the guest's from each of them)."""

    three_ms: list[float] = field(default_factory=list)
    four_ms: list[float] = field(default_factory=list)
    failed: int = 0
    desk_cpu_s: list[float] = field(default_factory=list)  # the desk's CPU per call


def everyone_sees(guest: GuestBot, others: Sequence[tuple[Bot, str]]) -> Callable[[], bool]:
    """The guest has video from each other party, and each of them from the guest."""
    return lambda: all(
        bot.party_first_video(guest.handle) is not None
        and guest.party_first_video(handle) is not None
        for bot, handle in others
    )


async def guest_joins(
    url: str, agent: Bot, party: str, others: Sequence[tuple[Bot, str]]
) -> tuple[GuestBot, float | None]:
    """A guest link made by the agent, opened: (the guest, ms to every first frame)."""
    link = await agent.request("call.invite", "call.invite_link", party=party)
    guest = GuestBot(url, link["link"].split("#token=")[1], media=True, use_cookie=False)
    began = time.monotonic()
    try:
        await guest.connect()
        await guest.join_call(party)
        await guest.wait_for(everyone_sees(guest, others), 15, "first frames of the mesh")
    except (TimeoutError, ClientError):
        return guest, None
    last = max(
        max(bot.party_first_video(guest.handle) or 0, guest.party_first_video(handle) or 0)
        for bot, handle in others
    )
    return guest, (last - began) * 1000


async def desk_parties(run: PartiesRun, calls: int, desk: ServerProcess, minter: Minter) -> None:
    """Sequential calls of four: patient and agent, an interpreter joins (three), a
    carer joins (four); the agent hangs up and wraps up."""
    url = desk.url
    agent = BoundAgent(url, minter.agent("Parties agent"), source="127.0.0.1", use_cookie=False)
    try:
        await agent.connect()
        mark = len(agent.received)
        await agent.available()
        await agent.next("agent.state", after=mark, state="available")
        for n in range(calls):
            cpu_before = cpu_seconds(pid_of(desk))
            patient = BoundPatient(
                url, minter.invite(f"Parties {n}", CHAT_QUEUES[0]), source="127.0.0.1",
                use_cookie=False,
            )  # fmt: skip
            guests: list[GuestBot] = []
            try:
                await patient.connect()
                mark = len(agent.received)
                await patient.join(name=f"Parties {n}")
                await agent.accept(await agent.next("agent.offer", after=mark))
                await agent.wait_for(both_see_video(agent, patient), 15, "first frames")
                first, three = await guest_joins(
                    url, agent, "interpreter", [(patient, "patient"), (agent, "agent")]
                )
                guests.append(first)
                second, four = await guest_joins(
                    url, agent, "carer", [(patient, "patient"), (agent, "agent"), (first, "g1")]
                )
                guests.append(second)
                if three is None or four is None:
                    run.failed += 1
                else:
                    run.three_ms.append(three)
                    run.four_ms.append(four)
            except (TimeoutError, ClientError):
                run.failed += 1
            await end_and_wrap_up(agent)
            for bot in (*guests, patient):
                await close_quietly(bot)
            run.desk_cpu_s.append(cpu_seconds(pid_of(desk)) - cpu_before)
        await sign_off(agent)
    finally:
        await close_quietly(agent)


async def media(
    budget: Budget, redis: RedisServer, minter: Minter
) -> tuple[list[MediaRun], PartiesRun]:
    from tests.support.loopback import loopback_host_addresses

    runs = [
        MediaRun("floor (1 process, no desk logic)"),
        MediaRun("videodesk same process"),
        MediaRun("videodesk across processes"),
    ]
    with ExitStack() as stack:
        stack.enter_context(loopback_host_addresses())
        floor = FloorProcess("bench-floor-media")
        env = desk_env(redis.url)
        d1 = ServerProcess("bench-desk-media1", env)
        d2 = ServerProcess("bench-desk-media2", env)
        await start_all(stack, floor, d1, d2)
        for run, work in (
            (runs[0], floor_media(runs[0], budget.calls, floor.url)),
            (runs[1], desk_media(runs[1], budget.calls, d1.url, d1.url, minter)),
            (runs[2], desk_media(runs[2], budget.cross_calls, d1.url, d2.url, minter)),
        ):
            began = time.perf_counter()
            await work
            run.wall_s = time.perf_counter() - began
        parties = PartiesRun()
        await desk_parties(parties, budget.party_calls, d1, minter)
    await flush(redis)
    return runs, parties


def print_media(runs: Sequence[MediaRun], parties: PartiesRun) -> list[str]:
    print(
        "\n(c) agent accept → first remote video frame, real aiortc media (VP8 320x240, ICE on"
        " 127.0.0.1),\n    sequential calls; 'agent' = the agent's first frame from the"
        " patient, 'patient' = the patient's first frame"
    )
    print(
        f"{'arrangement':<36}{'calls':>6}{'failed':>7}{'agent p50':>11}{'p95':>7}"
        f"{'patient p50':>13}{'p95':>7}{'s/call':>8}  (ms)"
    )
    for run in runs:
        print(
            f"{run.label:<36}{len(run.agent_ms):>6}{run.failed:>7}"
            f"{percentile(run.agent_ms, 0.5):>11.0f}{percentile(run.agent_ms, 0.95):>7.0f}"
            f"{percentile(run.patient_ms, 0.5):>13.0f}{percentile(run.patient_ms, 0.95):>7.0f}"
            f"{run.wall_s / max(1, len(run.agent_ms) + run.failed):>8.2f}"
        )
    verdicts = []
    for run in runs[1:]:
        p50 = percentile(run.agent_ms, 0.5)
        met = "MET" if p50 < TARGET_FIRST_FRAME_MS else "NOT MET"
        verdicts.append(
            f"target: accept → first frame p50 < {TARGET_FIRST_FRAME_MS:.0f} ms, {run.label}: "
            f"{met} (agent {p50:.0f} ms, patient {percentile(run.patient_ms, 0.5):.0f} ms, "
            f"floor {percentile(runs[0].agent_ms, 0.5):.0f} ms)"
        )
    return verdicts + print_parties(parties, runs)


def print_parties(parties: PartiesRun, runs: Sequence[MediaRun]) -> list[str]:
    """Calls with guests: beside the call of two through the same desk process."""
    print(
        "\n(c2) a guest opens its link → the first video frame at every other party and the"
        " guest's from each\n     (a mesh: one aiortc connection per pair, same desk process);"
        " desk CPU per call of four"
    )
    print(f"{'parties':<36}{'calls':>6}{'failed':>7}{'p50':>8}{'p95':>8}  (ms)")
    two = runs[1].agent_ms if len(runs) > 1 else []
    for label, values in (
        ("2 (accept → first frame, above)", two),
        ("3 (patient, agent, interpreter)", parties.three_ms),
        ("4 (… and a carer)", parties.four_ms),
    ):
        print(
            f"{label:<36}{len(values):>6}{parties.failed if values is not two else 0:>7}"
            f"{percentile(values, 0.5):>8.0f}{percentile(values, 0.95):>8.0f}"
        )
    cpu = percentile(parties.desk_cpu_s, 0.5) * 1000
    print(f"desk process CPU per call of four (p50): {cpu:.0f} ms")
    verdicts = []
    for label, values in (("3 parties", parties.three_ms), ("4 parties", parties.four_ms)):
        p50 = percentile(values, 0.5)
        met = "MET" if p50 <= TARGET_GUEST_FRAME_MS else "NOT MET"
        verdicts.append(
            f"target: guest link → first frame at every party p50 ≤ {TARGET_GUEST_FRAME_MS:.0f}"
            f" ms, {label}: {met} ({p50:.0f} ms; a call of two {percentile(two, 0.5):.0f} ms)"
        )
    return verdicts


# -- (d) memory per idle waiting patient -----------------------------------------------------------
@dataclass
class MemoryRun:
    label: str
    wanted: int = 0
    opened: int = 0
    failed: int = 0
    fresh_kib: int = 0
    before_kib: int = 0
    after_kib: int = 0
    open_s: float = 0.0
    pushes: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core while opening

    @property
    def per_socket_kib(self) -> float:
        return (self.after_kib - self.before_kib) / self.opened if self.opened else math.nan


class IdleSockets:
    """Raw WebSockets that authenticate (and join a queue), then only read."""

    def __init__(self, url: str) -> None:
        self.ws_url = url.replace("http", "ws", 1) + "/ws"
        self.origin = url
        self.sources = SourceAddresses()
        self.sessions: dict[str, aiohttp.ClientSession] = {}
        self.readers: list[asyncio.Task[None]] = []
        self.received = 0

    async def open(self, token: str, join: bool) -> None:
        source = self.sources.next()
        session = self.sessions.get(source)
        if session is None:
            session = self.sessions[source] = bound_session(source)
        ws = await session.ws_connect(self.ws_url, headers={"Origin": self.origin})
        try:
            await ws.send_str(json.dumps({"type": "auth", "token": token, "role": "patient"}))
            await self._until(ws, "welcome")
            if join:
                await ws.send_str(json.dumps({"type": "queue.join", "id": "j", "name": "Idle"}))
                await self._until(ws, "queue.joined")
        except BaseException:
            await ws.close()
            raise
        self.readers.append(asyncio.create_task(self._read(ws)))

    async def _until(self, ws: aiohttp.ClientWebSocketResponse, kind: str) -> None:
        while True:
            msg = await ws.receive(timeout=30)
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"socket closed before {kind}")
            data = json.loads(msg.data)
            if data.get("type") == kind:
                return
            if data.get("type") == "error":
                raise ClientError(str(data.get("code")), str(data.get("message")))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for _msg in ws:
            self.received += 1

    async def close(self) -> None:
        """After the server is gone: each reader sees the end of its stream (so aiohttp
        releases the connection), then the sessions close."""
        if self.readers:
            await asyncio.wait(self.readers, timeout=5)
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        await asyncio.gather(*(s.close() for s in self.sessions.values()), return_exceptions=True)


async def fill(
    run: MemoryRun, server: ServerProcess, tokens: Sequence[str], join: bool, budget: Budget
) -> IdleSockets:
    pid = pid_of(server)
    sockets = IdleSockets(server.url)
    run.wanted = len(tokens) - 100
    run.fresh_kib = rss_kib(pid)
    warm = await bounded((sockets.open(t, join) for t in tokens[:100]), 50)  # warm-up
    run.failed += sum(1 for r in warm if isinstance(r, BaseException))
    await asyncio.sleep(1.0)
    run.before_kib = rss_kib(pid)
    began = time.monotonic()
    deadline = began + budget.sockets_s

    async def one(token: str) -> None:
        if time.monotonic() > deadline:
            raise TimeoutError("time budget")
        await sockets.open(token, join)

    meter = CpuMeter({"server": pid})
    results = await bounded((one(t) for t in tokens[100:]), 50)
    wall, used = meter.stop()
    run.cpu = {name: value / wall for name, value in used.items()}
    run.open_s = time.monotonic() - began
    run.opened = sum(1 for r in results if not isinstance(r, BaseException))
    run.failed += sum(
        1 for r in results if isinstance(r, BaseException) and str(r) != "time budget"
    )
    await asyncio.sleep(budget.settle_s)  # pushes settle
    received = sockets.received
    await asyncio.sleep(budget.settle_s)
    run.pushes = sockets.received - received
    run.after_kib = rss_kib(pid)
    return sockets


async def memory(budget: Budget, redis: RedisServer, minter: Minter) -> list[MemoryRun]:
    total = budget.sockets + 100
    per_queue = math.ceil(total / len(QUEUES))
    floor_run = MemoryRun("floor (aiohttp socket, auth only)")
    desk_run = MemoryRun("videodesk (auth + queue.join)")
    with ExitStack() as stack:
        floor = started(stack, FloorProcess("bench-floor-memory"))
        sockets = await fill(floor_run, floor, [f"idle{i}" for i in range(total)], False, budget)
        kill_all([floor])
        await sockets.close()
    with ExitStack() as stack:
        desk = started(stack, ServerProcess("bench-desk-memory", desk_env(redis.url)))
        # Queue by queue, so position pushes go to one queue's patients at a time.
        tokens = [minter.invite(f"Idle {i}", QUEUES[i // per_queue]) for i in range(total)]
        sockets = await fill(desk_run, desk, tokens, True, budget)
        kill_all([desk])
        await sockets.close()
    await flush(redis)
    return [floor_run, desk_run]


def print_memory(runs: Sequence[MemoryRun], budget: Budget) -> list[str]:
    per_queue = math.ceil((budget.sockets + 100) / len(QUEUES))
    print(
        f"\n(d) server RSS per idle socket (VmRSS from /proc); videodesk patients authenticate"
        f" with an invite\n    and join one of {len(QUEUES)} queues (about {per_queue} each,"
        f" filled queue by queue, 50 at a time);\n    before = after 100 warm-up sockets,"
        f" after = {2 * budget.settle_s:.0f} s after the last socket;\n    pushes = messages"
        f" to those sockets in its last {budget.settle_s:.1f} s (queue.state pushes only when"
        " something changed)"
    )
    print(
        f"{'server':<36}{'sockets':>8}{'failed':>7}{'open_s':>8}{'fresh_MiB':>10}"
        f"{'before':>8}{'after':>8}{'KiB/socket':>11}{'pushes':>8}   CPU while opening"
    )
    for run in runs:
        print(
            f"{run.label:<36}{run.opened:>8}{run.failed:>7}{run.open_s:>8.1f}"
            f"{run.fresh_kib / 1024:>10.1f}{run.before_kib / 1024:>8.1f}"
            f"{run.after_kib / 1024:>8.1f}{run.per_socket_kib:>11.1f}{run.pushes:>8}   "
            + ", ".join(f"{name} {share:.0%}" for name, share in run.cpu.items())
        )
    desk = runs[-1]
    note = "" if desk.opened >= desk.wanted else f", wanted {desk.wanted}: time budget"
    met = "MET" if desk.per_socket_kib < TARGET_SOCKET_KIB else "NOT MET"
    return [
        f"target: < {TARGET_SOCKET_KIB:.0f} KB per idle waiting patient: {met} "
        f"({desk.per_socket_kib:.1f} KiB at {desk.opened} sockets{note}; floor "
        f"{runs[0].per_socket_kib:.1f} KiB)"
    ]


# -- entry point ------------------------------------------------------------------------------
def versions() -> str:
    names = ("aiohttp", "redis", "aiortc", "hiredis")
    found = []
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    return ", ".join(found)


async def run(budget: Budget, loop_name: str, file_limit: int, parts: set[str]) -> None:
    redis = RedisServer()
    redis.start()
    minter = Minter(redis.url)
    try:
        client = Redis.from_url(redis.url, decode_responses=True)
        info: dict[str, Any] = await client.info("server")
        await client.aclose()
        print(
            f"videodesk signaling benchmark ({'quick' if budget is QUICK else 'full'}): "
            f"{os.cpu_count()} CPUs, load average "
            f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}; Python "
            f"{platform.python_version()}, {loop_name}; {versions()}; redis-server "
            f"{info['redis_version']} (throwaway, no persistence); open files limit {file_limit}",
            flush=True,
        )
        print(
            "every server is a subprocess (videodesk serve with REDIS_URL, or the floor relay of"
            " this module);\nthe floor and the desk are driven by the same clients:"
            " bench/loadgen.py's worker processes for the relay, this process's bots for media"
            " and memory",
            flush=True,
        )
        verdicts: list[str] = []

        async def transport_part() -> list[str]:
            print_transports(await transports(budget, redis.url))
            return []

        async def relay_part() -> list[str]:
            from bench.relaybench import relay_part  # it builds on this module's helpers

            return await relay_part(budget is QUICK, redis, minter)

        async def fanout_part() -> list[str]:
            from bench.fanout import fanout_part

            return await fanout_part(budget is QUICK, redis.url, pid_of(redis))

        async def media_part() -> list[str]:
            return print_media(*await media(budget, redis, minter))

        async def memory_part() -> list[str]:
            return print_memory(await memory(budget, redis, minter), budget)

        for name, part in (
            ("transports", transport_part),
            ("relay", relay_part),
            ("media", media_part),
            ("memory", memory_part),
            ("fanout", fanout_part),
        ):
            if name not in parts:
                continue
            clock = time.perf_counter()
            try:
                verdicts += await part()
            except Exception as exc:  # one broken part must not hide the others' figures
                print(f"\n{name}: FAILED ({type(exc).__name__}: {exc})", flush=True)
                verdicts.append(f"{name}: no figures (the part failed)")
                await flush(redis)
            print(f"    [{name}: {time.perf_counter() - clock:.0f} s]", flush=True)
        print()
        for line in verdicts:
            print(line)
        print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        await minter.close()
        redis.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.signaling", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller run of about a minute")
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"comma-separated parts to run (default all: {','.join(PARTS)})",
    )
    parser.add_argument("--floor-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--transport-reader", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    parser.add_argument("--channel", default="floor:1", help=argparse.SUPPRESS)
    parser.add_argument("--peer-channel", default="floor:2", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    factory, loop_name = loop_factory()
    if args.floor_server:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(floor_serve(args.port, args.redis_url, args.channel, args.peer_channel))
        return
    if args.transport_reader:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(transport_reader(args.transport_reader, args.redis_url, 0.25))
        return
    file_limit = raise_file_limit()
    started_at = time.perf_counter()
    with asyncio.Runner(loop_factory=factory) as runner:
        parts = {p.strip() for p in args.parts.split(",") if p.strip()}
        if not parts <= set(PARTS):
            parser.error(f"--parts: choose from {', '.join(PARTS)}")
        runner.run(run(QUICK if args.quick else FULL, loop_name, file_limit, parts))
    print(f"the run took {time.perf_counter() - started_at:.1f} s")


if __name__ == "__main__":
    main()
