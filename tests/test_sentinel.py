"""The desk on Redis Sentinel (issue 10, item 1, Sentinel part): a primary, a replica and
three sentinels on loopback; the desk finds the primary through the sentinels and rides
out a SENTINEL FAILOVER without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from pytest_aiohttp import AiohttpServer

from server.core.settings import parse_sentinel_url
from signaling.client import ClientError, PatientBot
from tests.support.desks import LiveDesk, start_desk
from tests.support.sentinel import SentinelTopology


def test_sentinel_urls() -> None:
    target = parse_sentinel_url("redis+sentinel://u:p%40ss@10.0.0.1:26379,[::1]:26380/desk/2")
    assert target.sentinels == (("10.0.0.1", 26379), ("::1", 26380))
    assert (target.service, target.db, target.username, target.password) == (
        "desk",
        2,
        "u",
        "p@ss",
    )
    for bad in (
        "redis+sentinel://h:1",
        "redis+sentinel://h/desk",
        "redis+sentinel://h:x/desk",
        "redis+sentinel://h:1/desk/zero",
    ):
        with pytest.raises(ValueError):
            parse_sentinel_url(bad)


@pytest.fixture(scope="module")
def topology() -> Iterator[SentinelTopology]:
    servers = SentinelTopology()
    servers.start()
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture
async def sentinel_desk(
    aiohttp_server: AiohttpServer, topology: SentinelTopology, tmp_path: Path
) -> AsyncIterator[LiveDesk]:
    desk = await start_desk(
        aiohttp_server, topology.url, tmp_path, VIDEODESK_REDIS_WAIT_REPLICAS="1"
    )
    yield desk
    await desk.server.close()


async def join_until_served(desk: LiveDesk, name: str, within: float = 30.0) -> PatientBot:
    """Join, retrying while the desk says ``unavailable`` (a failover in progress)."""
    async with asyncio.timeout(within):
        while True:
            bot = PatientBot(desk.url, desk.invite(), media=False)
            try:
                await bot.connect()
                await bot.join(name=name)
                return bot
            except (ClientError, TimeoutError):
                await bot.close()
                await asyncio.sleep(0.5)


async def test_a_join_no_replica_confirmed_is_unavailable_then_kept(
    sentinel_desk: LiveDesk, topology: SentinelTopology
) -> None:
    """Issue 10 item 3: with VIDEODESK_REDIS_WAIT_REPLICAS=1 the patient is told of their
    place only once a replica has it; otherwise `unavailable`, and the retry finds the
    same place (joins are idempotent)."""
    assert topology.replica is not None
    patient = PatientBot(sentinel_desk.url, sentinel_desk.invite(), media=False)
    await patient.connect()
    topology.replica.stop()
    try:
        with pytest.raises(ClientError) as refused:
            await patient.join(name="Ana")
        assert refused.value.code == "unavailable"
    finally:
        topology.replica.start()
        topology.wait_in_sync()
    # The same socket, the same patient: the same place (not a second ticket).
    joined = await patient.request("queue.join", "queue.joined", name="Ana")
    assert joined["created"] is False
    last = patient.last("queue.state")
    assert last is not None and last["state"] == "waiting"
    engine = sentinel_desk.desk.engine
    leases = await engine.redis.zrange(sentinel_desk.desk.keys.leases, 0, -1)
    pids = [str(m)[2:] for m in leases if str(m).startswith("p:")]
    assert len(pids) == 1, "one place, not two"
    assert (await engine.position(pids[0])).state == "waiting"
    await patient.request("queue.leave", "queue.state")
    await patient.close()


async def test_the_desk_rides_out_a_sentinel_failover(
    sentinel_desk: LiveDesk, topology: SentinelTopology
) -> None:
    desk = sentinel_desk.desk
    before = [await join_until_served(sentinel_desk, f"P{i}") for i in range(5)]
    tickets = {
        p: (await desk.engine.position(p)).ticket
        for p in [str(m)[2:] for m in await desk.engine.redis.zrange(desk.keys.leases, 0, -1)]
    }
    assert len(tickets) == 5  # each acknowledged only once the replica had it (WAIT 1)

    new_port = topology.failover()
    assert new_port != topology.primary.port

    # No restart: a new patient gets in (perhaps after `unavailable`), and everyone who
    # was waiting still is, with the same ticket.
    after = await join_until_served(sentinel_desk, "Late")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sentinel_desk.url}/readyz") as response:
            assert response.status == 200, await response.text()
    for pid, ticket in tickets.items():
        position = await desk.engine.position(pid)
        assert (position.state, position.ticket) == ("waiting", ticket)
    for bot in (*before, after):
        await bot.close()
