"""Never lose a patient: dropped sockets, dropped calls, killed and draining server processes,
and Redis restarts and outages — with real server processes sharing one Redis and aiortc bots.

Time past a grace period moves with the desk's clock skew in Redis (every process reads it),
so no test sleeps for a minute. Every process and Redis started here is stopped at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from signaling.client import AgentBot, ClientError, PatientBot
from tests.support import canary
from tests.support.desk_group import DeskGroup
from tests.support.invariants import check_invariants
from tests.support.redis_server import RedisServer, durable_redis_server

QUEUES = ["appointments", "pharmacy", "billing", "technical"]


@pytest.fixture
def durable_redis() -> Iterator[RedisServer]:
    """A private Redis with append-only persistence (fsync always), for restart tests."""
    with durable_redis_server() as server:
        yield server


@pytest.fixture
async def trio(durable_redis: RedisServer) -> AsyncIterator[DeskGroup]:
    """Three server processes on one durable Redis."""
    group = DeskGroup(durable_redis.url, size=3)
    group.start()
    try:
        yield group
    finally:
        group.stop()


@pytest.fixture
async def desk_redis(durable_redis: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(durable_redis.url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


def patient_bot(group: DeskGroup, index: int, **kwargs: object) -> PatientBot:
    others = tuple(group.url(i) for i in range(group.size) if i != index)
    token = group.mint("invite", name=canary.PATIENT_NAME, queues=("appointments",))
    return PatientBot(
        group.url(index),
        token,
        origin=group.url(0),
        alternates=others,
        **kwargs,  # type: ignore[arg-type]
    )


def agent_bot(group: DeskGroup, index: int, name: str = "Sam", **kwargs: object) -> AgentBot:
    others = tuple(group.url(i) for i in range(group.size) if i != index)
    token = group.mint("agent", name=name, queues=("appointments",))
    return AgentBot(
        group.url(index),
        token,
        origin=group.url(0),
        alternates=others,
        **kwargs,  # type: ignore[arg-type]
    )


async def skew(redis: Redis, group: DeskGroup, seconds: float) -> None:
    """Move the desk's clock forward for every process."""
    await redis.incrby(group.keys.clock_skew, int(seconds * 1000))


async def past_the_grace_period(redis: Redis, group: DeskGroup, departed: int = 1) -> None:
    """Move the clock past the 60 s grace period of whoever left (``departed`` people),
    while everyone still connected renews their lease on the way: 55 s, then, once every
    other lease has been renewed by its process and outlasts the next step, 10 s more."""
    await skew(redis, group, 55)
    await wait_until(lambda: _renewed_for(redis, group, departed, ahead_ms=10_000))
    await skew(redis, group, 10)


async def _renewed_for(redis: Redis, group: DeskGroup, departed: int, ahead_ms: int) -> bool:
    """Every lease but ``departed`` ones ends more than ``ahead_ms`` after the desk's now."""
    seconds, micros = await redis.time()
    now = seconds * 1000 + micros // 1000 + int(await redis.get(group.keys.clock_skew) or 0)
    leases: list[tuple[str, float]] = await redis.zrange(  # type: ignore[assignment]
        group.keys.leases, 0, -1, withscores=True
    )
    fresh = [member for member, deadline in leases if deadline > now + ahead_ms]
    return len(fresh) >= len(leases) - departed


async def events_of(redis: Redis, group: DeskGroup, kind: str) -> list[dict[str, str]]:
    entries: list[tuple[str, dict[str, str]]] = await redis.xrange(group.keys.events)  # type: ignore[assignment]
    return [fields for _, fields in entries if fields["type"] == kind]


async def wait_until(check: object, timeout: float = 15.0) -> None:
    async def poll() -> None:
        while not await check():  # type: ignore[operator]
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), timeout)


async def in_call(patient: PatientBot, agent: AgentBot) -> None:
    await agent.available()
    offer = await agent.next("agent.offer")
    await agent.accept(offer)
    await patient.next("call.started")
    await media_flows(patient, agent)


async def media_flows(patient: PatientBot, agent: AgentBot, frames: int = 10) -> None:
    for bot in (patient, agent):
        start = bot.frames_received()[0]
        await bot.wait_for(lambda b=bot, s=start: b.frames_received()[0] >= s + frames, 25, "video")  # type: ignore[misc]


async def test_waiting_patient_keeps_the_place_through_a_drop(
    trio: DeskGroup, desk_redis: Redis
) -> None:
    first = patient_bot(trio, 0)
    second = patient_bot(trio, 1)
    try:
        await first.connect()
        await first.join(name=canary.PATIENT_NAME)
        await second.connect()
        assert (await second.join(name="Ben"))["position"] == 2
        # The second patient's network drops; they come back (to another process) in time.
        await second.reconnect()
        state = await second.next("queue.state", after=len(second.received) - 1, state="waiting")
        assert state["position"] == 2
        assert len(await events_of(desk_redis, trio, "joined")) == 2
        # The first patient drops for good: after the grace period their place is freed.
        await first.close()
        await past_the_grace_period(desk_redis, trio)
        await wait_until(lambda: _abandoned(desk_redis, trio))
        await second.next("queue.state", position=1)
        assert await check_invariants(desk_redis, trio.keys, QUEUES) == []
    finally:
        await first.close()
        await second.close()


async def _chat_saved(redis: Redis, group: DeskGroup, call_id: str) -> bool:
    return bool(await redis.llen(group.keys.call_chat(call_id)))


async def _abandoned(redis: Redis, group: DeskGroup) -> bool:
    return bool(await events_of(redis, group, "abandoned"))


async def test_agent_drop_mid_call_resumes_within_grace(
    trio: DeskGroup, desk_redis: Redis, loopback_ice: None
) -> None:
    patient = patient_bot(trio, 0)
    agent = agent_bot(trio, 1)
    try:
        await patient.connect()
        await patient.join(name=canary.PATIENT_NAME)
        await agent.connect()
        await in_call(patient, agent)
        call_id = agent.call_id
        await patient.send("call.chat", text=canary.CHAT_TEXT)
        await agent.wait_for(lambda: len(agent.chats) == 1, 5, "chat")
        # The history is written behind the conversation: wait until it is in Redis.
        await wait_until(lambda: _chat_saved(desk_redis, trio, call_id))
        mark = len(patient.received)
        await agent.reconnect()  # a dropped connection, back within the grace period
        # The patient is told the agent is back. (Told "reconnecting" first, unless the new
        # socket opened before the old one's close was handled: then the agent never left.)
        await patient.next("call.peer", after=mark, status="connected")
        resumed = await agent.next("call.started", resumed=True)
        assert resumed["call"] == call_id
        assert [c["text"] for c in resumed["history"]] == [canary.CHAT_TEXT]
        await media_flows(patient, agent)
        told = [m["status"] for m in patient.received[mark:] if m["type"] == "call.peer"]
        assert told[-1] == "connected", told  # never left showing the agent as away
        assert not await events_of(desk_redis, trio, "call_ended")
    finally:
        await patient.close()
        await agent.close()


async def test_agent_gone_past_grace_returns_the_patient_to_the_front(
    trio: DeskGroup, desk_redis: Redis, loopback_ice: None
) -> None:
    patient = patient_bot(trio, 0)
    agent = agent_bot(trio, 1)
    later = patient_bot(trio, 2, media=False)
    second_agent = agent_bot(trio, 2, name="Kim")
    try:
        await patient.connect()
        await patient.join(name=canary.PATIENT_NAME)
        await agent.connect()
        await in_call(patient, agent)
        await later.connect()
        await later.join(name="Later")
        await agent.close()
        await past_the_grace_period(desk_redis, trio)
        ended = await patient.next("call.ended", timeout=15)
        assert ended["reason"] == "agent_lost"
        state = await patient.next(
            "queue.state", after=patient.received.index(ended), state="waiting"
        )
        assert state["returning"] is True and state["position"] == 1
        await second_agent.connect()
        await second_agent.available()
        offer = await second_agent.next("agent.offer")
        assert "returning" in offer["patient"]["flags"]
        assert offer["patient"]["name"] == canary.PATIENT_NAME.split()[0]
    finally:
        for bot in (patient, agent, later, second_agent):
            await bot.close()


@pytest.mark.parametrize("phase", ["waiting", "offered", "in_call"])
async def test_sigkill_of_a_server_process_loses_nobody(
    trio: DeskGroup, desk_redis: Redis, loopback_ice: None, phase: str
) -> None:
    """The process holding the patient (waiting), the agent (offered) or both parties'
    signaling (in a call) dies; the clients reconnect elsewhere and nothing is lost."""
    patient = patient_bot(trio, 0, auto_reconnect=True)
    agent = agent_bot(trio, 0 if phase == "in_call" else 1, auto_reconnect=True)
    try:
        await patient.connect()
        await patient.join(name=canary.PATIENT_NAME)
        await agent.connect()
        if phase == "waiting":
            trio.processes[0].kill()
            await patient.wait_for(lambda: patient.reconnects == 1, 15, "a reconnect")
            state = await patient.next("queue.state", after=_last(patient), state="waiting")
            assert state["position"] == 1
            await agent.available()
            await agent.next("agent.offer")
        elif phase == "offered":
            await agent.available()
            first = await agent.next("agent.offer")
            trio.processes[1].kill()
            await agent.wait_for(lambda: agent.reconnects == 1, 15, "a reconnect")
            again = await agent.next("agent.offer", after=_last(agent), token=first["token"])
            await agent.accept(again)
            await patient.next("call.started")
        else:
            await in_call(patient, agent)
            trio.processes[0].kill()
            await patient.wait_for(lambda: patient.reconnects == 1, 15, "a reconnect")
            await agent.wait_for(lambda: agent.reconnects == 1, 15, "a reconnect")
            await media_flows(patient, agent)
            await patient.send("call.chat", text=canary.CHAT_TEXT)
            await agent.wait_for(lambda: any(c["text"] == canary.CHAT_TEXT for c in agent.chats))
        assert await check_invariants(desk_redis, trio.keys, QUEUES) == []
        assert len(await events_of(desk_redis, trio, "joined")) == 1
    finally:
        await patient.close()
        await agent.close()


def _last(bot: PatientBot | AgentBot) -> int:
    """Index just before the latest welcome: messages since the last reconnect."""
    for index in range(len(bot.received) - 1, -1, -1):
        if bot.received[index]["type"] == "welcome":
            return index
    return 0


async def test_sigterm_drains_to_the_other_processes(trio: DeskGroup, desk_redis: Redis) -> None:
    patient = patient_bot(trio, 0, auto_reconnect=True, media=False)
    try:
        await patient.connect()
        await patient.join(name=canary.PATIENT_NAME)
        draining = trio.processes[0]
        draining.signal_term()

        async def not_ready() -> bool:
            return await _status(draining) == 503

        await wait_until(not_ready, 5)
        late = PatientBot(draining.url, trio.mint("invite", queues=("billing",)),
                          origin=trio.url(0), media=False)  # fmt: skip
        with pytest.raises(Exception):  # noqa: B017 - refused at the handshake (503)
            await late.connect()
        await late.close()
        await patient.wait_for(lambda: patient.close_code == 1001, 10, "close code 1001")
        await patient.wait_for(lambda: patient.reconnects == 1, 15, "a reconnect")
        state = await patient.next("queue.state", after=_last(patient), state="waiting")
        assert state["position"] == 1
        assert draining.wait(30) == 0
    finally:
        await patient.close()


async def _status(process: object) -> int:
    return await asyncio.to_thread(lambda: process.get("/readyz")[0])  # type: ignore[attr-defined]


async def test_redis_restart_keeps_the_queue(
    trio: DeskGroup, durable_redis: RedisServer, loopback_ice: None
) -> None:
    patient = patient_bot(trio, 0, auto_reconnect=True, media=False)
    try:
        await patient.connect()
        await patient.join(name=canary.PATIENT_NAME)
        durable_redis.kill()
        await asyncio.sleep(1)
        durable_redis.start()
        # The queue survived (append-only file), and every process's relay listener
        # came back: an agent on another process is offered the patient.
        agent = agent_bot(trio, 2, media=False)
        try:
            await _connect_when_ready(agent)
            await agent.available()
            offer = await agent.next("agent.offer", timeout=15)
            await agent.accept(offer)
            await patient.next("call.started", timeout=15)
        finally:
            await agent.close()
    finally:
        await patient.close()


async def _connect_when_ready(bot: PatientBot | AgentBot, timeout: float = 15.0) -> None:
    async def attempt() -> None:
        while True:
            try:
                await bot.connect()
                return
            except Exception:
                await asyncio.sleep(0.3)

    await asyncio.wait_for(attempt(), timeout)


async def test_redis_outage_keeps_calls_and_refuses_joins_clearly(
    trio: DeskGroup, durable_redis: RedisServer, loopback_ice: None
) -> None:
    patient = patient_bot(trio, 0)
    agent = agent_bot(trio, 1)
    newcomer = patient_bot(trio, 2, media=False)
    try:
        await patient.connect()
        await patient.join(name=canary.PATIENT_NAME)
        await agent.connect()
        await in_call(patient, agent)
        await newcomer.connect()
        durable_redis.stop()
        try:
            with pytest.raises(ClientError) as refused:
                await newcomer.request("queue.join", "queue.joined", timeout=15, name="New")
            assert refused.value.code == "unavailable"
            # Peer to peer: the call goes on, for several seconds of video (not one blip).
            await media_flows(patient, agent, frames=30)
            await media_flows(patient, agent, frames=150)
        finally:
            durable_redis.start()
        # Everything recovers without a restart of the desk.
        state = await _retry_join(newcomer)
        assert state["position"] == 1
        await patient.send("call.chat", text="still here")
        await agent.wait_for(lambda: any(c["text"] == "still here" for c in agent.chats), 15)
    finally:
        for bot in (patient, agent, newcomer):
            await bot.close()


async def _retry_join(bot: PatientBot) -> dict[str, object]:
    for _ in range(30):
        try:
            return await bot.join(name="New")
        except ClientError:
            await asyncio.sleep(0.5)
    raise AssertionError("join never succeeded after Redis came back")
