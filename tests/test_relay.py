"""The relay between processes, with batching: order, no loss, no duplicates, moving routes.

Three relays stand for three server processes on one real redis-server (append-only, fsync
always, so a restart keeps what was acknowledged). Each one's "sockets" are a set of
participants it holds; what it delivers is recorded per participant, in arrival order.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from signaling.relay import Message, Relay, RelayKeys
from tests.support.redis_server import RedisServer, durable_redis_server

KEYS = RelayKeys(
    routes="vd:{relay-test}:routes",
    inbox_prefix="vd:{relay-test}:inbox:",
    process_prefix="vd:{relay-test}:process:",
    broadcast="vd:{relay-test}:broadcast",
)


@pytest.fixture(scope="module")
def durable() -> Iterator[RedisServer]:
    """A private Redis with append-only persistence (fsync always), for restart tests."""
    with durable_redis_server() as server:
        yield server


@dataclass
class Process:
    """One relay and the participants whose sockets it holds."""

    name: str
    relay: Relay
    clients: list[Redis]
    holds: set[str] = field(default_factory=set)
    got: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    frames: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))

    async def deliver(self, participant: str, message: Message) -> bool:
        if participant not in self.holds:
            return False
        if isinstance(message, bytes):
            self.frames[participant].append(message)
        else:
            self.got[participant].append(message)
        return True

    async def hold(self, participant: str) -> None:
        """The participant's socket opened here."""
        self.holds.add(participant)
        await self.relay.attach(participant)

    def drop(self, participant: str) -> None:
        """The participant's socket closed here (the route is left to whoever attaches)."""
        self.holds.discard(participant)


async def _ignore(message: dict[str, Any]) -> None:
    return None


@pytest.fixture
async def processes(durable: RedisServer) -> AsyncIterator[list[Process]]:
    flush = Redis.from_url(durable.url)
    await flush.flushall()
    await flush.aclose()
    made: list[Process] = []
    for name in ("p1", "p2", "p3"):
        sender = Redis.from_url(durable.url, decode_responses=True)
        reader = Redis.from_url(durable.url, decode_responses=True, socket_timeout=None)
        process = Process(name, None, [sender, reader])  # type: ignore[arg-type]
        process.relay = Relay(sender, reader, KEYS, name, process.deliver)
        await process.relay.start(_ignore)
        made.append(process)
    try:
        yield made
    finally:
        for process in made:
            await process.relay.stop()
            for client in process.clients:
                await client.aclose()


async def _until(check: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


def _seqs(messages: list[dict[str, Any]], sender: str) -> list[int]:
    return [m["n"] for m in messages if m["from"] == sender]


async def test_many_senders_keep_their_order_in_few_batches(processes: list[Process]) -> None:
    p1, p2, _ = processes
    await p2.hold("agent")
    count = 500
    # Four patients on p1 message the agent on p2 at once: their sends share batches.
    sends = [
        p1.relay.send("agent", {"type": "call.chat", "from": sender, "n": n})
        for n in range(count)
        for sender in ("a", "b", "c", "d")
    ]
    assert all(await asyncio.gather(*sends))
    await _until(lambda: len(p2.got["agent"]) == 4 * count)
    for sender in ("a", "b", "c", "d"):
        assert _seqs(p2.got["agent"], sender) == list(range(count))
    assert p1.relay.batches <= 4 * count // 10, "the sends went one script call each"


async def test_a_killed_reader_connection_loses_nothing(
    processes: list[Process], durable: RedisServer
) -> None:
    p1, p2, _ = processes
    await p2.hold("agent")
    admin = Redis.from_url(durable.url, decode_responses=True)
    acknowledged: list[int] = []
    try:
        for n in range(600):
            if await p1.relay.send("agent", {"from": "a", "n": n}):
                acknowledged.append(n)
            if n % 150 == 75:  # the reader's XREAD BLOCK connection dies mid-stream
                killed = 0
                for client in await admin.client_list():
                    if client.get("cmd") in ("xread", "xread|block"):
                        killed += await admin.client_kill_filter(_id=client["id"])
                assert killed >= 1
            if n % 20 == 0:
                await asyncio.sleep(0.01)
    finally:
        await admin.aclose()
    await _until(lambda: len(p2.got["agent"]) >= len(acknowledged))
    await asyncio.sleep(0.3)  # nothing more arrives: no duplicates either
    assert _seqs(p2.got["agent"], "a") == acknowledged
    assert len(acknowledged) == 600
    assert p2.relay.retries >= 1


async def test_a_redis_restart_loses_no_acknowledged_message(
    processes: list[Process], durable: RedisServer
) -> None:
    p1, p2, _ = processes
    await p2.hold("agent")
    acknowledged: list[int] = []
    refused = 0
    for n in range(400):
        if n == 200:
            durable.kill()  # SIGKILL: append-only, fsync always, keeps what was written
            durable.start()
        try:
            if await p1.relay.send("agent", {"from": "a", "n": n}):
                acknowledged.append(n)
        except RedisError:
            refused += 1  # the sender is told; the message was not acknowledged
        if n % 20 == 0:
            await asyncio.sleep(0.01)
    await _until(lambda: len(p2.got["agent"]) >= len(acknowledged), timeout=20)
    await asyncio.sleep(0.3)
    assert _seqs(p2.got["agent"], "a") == acknowledged
    assert len(acknowledged) + refused == 400
    assert len(acknowledged) >= 300


async def test_a_retried_batch_is_delivered_once(processes: list[Process]) -> None:
    """A client that retries a script call whose reply was lost makes it land twice."""
    p1, p2, _ = processes
    await p2.hold("agent")
    real = p1.relay._send
    calls = 0

    async def twice(**kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        await real(**kwargs)  # this reply is "lost"…
        return await real(**kwargs)  # …and the retry lands the same batch again

    p1.relay._send = twice  # type: ignore[assignment]
    try:
        results = await asyncio.gather(
            *(p1.relay.send("agent", {"from": "a", "n": n}) for n in range(50))
        )
    finally:
        p1.relay._send = real
    assert all(results) and calls >= 1
    await _until(lambda: len(p2.got["agent"]) >= 50)
    await asyncio.sleep(0.3)
    assert _seqs(p2.got["agent"], "a") == list(range(50))


async def _move_before_the_batch(sender: Process, move: Any) -> Any:
    """Make the next batch from ``sender`` wait for ``move`` (a reconnect) before it goes."""
    real = sender.relay._send

    async def moved_first(**kwargs: Any) -> Any:
        sender.relay._send = real
        await move()
        return await real(**kwargs)

    sender.relay._send = moved_first  # type: ignore[assignment]


async def test_a_route_that_moves_mid_batch_delivers_exactly_once(
    processes: list[Process],
) -> None:
    p1, p2, p3 = processes
    await p2.hold("patient")

    async def to_p3() -> None:  # the patient's socket on p2 is gone; one opened on p3
        p2.drop("patient")
        await p3.hold("patient")

    # The batch is made while the route says p2, and goes out after it says p3.
    await _move_before_the_batch(p1, to_p3)
    sends = [p1.relay.send("patient", {"from": "agent", "n": n}) for n in range(100)]
    assert all(await asyncio.gather(*sends))
    await _until(lambda: len(p3.got["patient"]) == 100)

    async def to_p1() -> None:  # then to the sender's own process
        p3.drop("patient")
        await p1.hold("patient")

    await _move_before_the_batch(p1, to_p1)
    sends = [p1.relay.send("patient", {"from": "agent", "n": n}) for n in range(100, 200)]
    assert all(await asyncio.gather(*sends))
    await _until(lambda: len(p1.got["patient"]) == 100)
    await asyncio.sleep(0.3)
    assert _seqs(p3.got["patient"], "agent") == list(range(100))
    assert _seqs(p1.got["patient"], "agent") == list(range(100, 200))
    assert p2.got["patient"] == []


async def test_a_participant_connected_nowhere_is_reported(processes: list[Process]) -> None:
    p1, _, _ = processes
    assert await p1.relay.send("nobody", {"n": 1}) is False


async def test_a_frame_crosses_processes_as_it_was_encoded(processes: list[Process]) -> None:
    """Relayed call messages are encoded once: the other process passes the bytes on."""
    p1, p2, _ = processes
    await p2.hold("agent")
    frames = [
        b'{"type":"call.chat","from":"patient","text":"hola, \xc2\xbfqu\xc3\xa9 tal?","at":1}',
        b'{"type":"call.ice","candidate":null}',
    ]
    assert all([await p1.relay.send("agent", frame) for frame in frames])
    await _until(lambda: len(p2.frames["agent"]) == 2)
    assert p2.frames["agent"] == frames
    assert p2.got["agent"] == []
