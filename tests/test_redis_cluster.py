"""The desk's Redis Cluster client (issue 10, items 1 and 2) on a real 3+3 cluster, and
outage replies that must reach people as `unavailable`, never `internal` (item 4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from pytest_aiohttp import AiohttpServer
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from server.core.outages import is_outage
from server.core.redis_cluster import desk_slot, parse_cluster_url
from server.core.redis_keys import Keys
from signaling import lua
from signaling.client import ClientError, PatientBot
from tests.support.desks import start_desk
from tests.support.redis_cluster import RedisClusterTopology, desk_client
from tests.support.redis_server import RedisServer


def test_cluster_urls() -> None:
    target = parse_cluster_url("redis+cluster://u:p%40ss@10.0.0.1:7000,[::1]:7001")
    assert target.nodes == (("10.0.0.1", 7000), ("::1", 7001))
    assert (target.username, target.password) == ("u", "p@ss")
    for bad in ("redis+cluster://h", "redis+cluster://h:x", "redis+cluster://h:1/3"):
        with pytest.raises(ValueError):
            parse_cluster_url(bad)


async def test_any_node_is_an_entry_point(redis_cluster: RedisClusterTopology) -> None:
    """Entry through a node that does not own the desk's slot (a replica, even): the
    client finds the owner instead of failing with MOVED."""
    desk = "entry"
    owner = redis_cluster.owner(desk)
    for node in redis_cluster.nodes:
        if node is owner:
            continue
        client = desk_client(f"redis+cluster://127.0.0.1:{node.port}", desk)
        try:
            await client.set(Keys(desk).ready_probe, "1", px=1000)
            assert (await client.info("server"))["tcp_port"] == owner.port
        finally:
            await client.aclose()


async def test_a_shebang_script_may_not_leave_its_slot(redis_cluster: RedisClusterTopology) -> None:
    """Why the contract suite on the cluster shows that every key a queue script touches
    is in the desk's slot: with a `#!lua` line Redis refuses a key of another slot (and
    without one it would not: the compatibility mode allows it)."""
    desk = "slots"
    keys = Keys(desk)
    client = desk_client(redis_cluster.url, desk)
    # A key of another slot that the same node owns, so only the slot rule can refuse it.
    owner_slots = {
        s
        for start, end, primary, *_ in redis_cluster.ask(
            redis_cluster.owner(desk).port, "CLUSTER", "SLOTS"
        )
        if int(primary[1]) == redis_cluster.owner(desk).port
        for s in range(int(start), int(end) + 1)
    }
    other = next(
        f"vd:{{x{n}}}:k"
        for n in range(10_000)
        if _slot(f"x{n}") in owner_slots and _slot(f"x{n}") != desk_slot(keys.prefix)
    )
    touch = "redis.call('SET', KEYS[1], '1') redis.call('SET', ARGV[1], '1') return 1"
    try:
        strict = lua.register(client, "#!lua\n" + touch)
        with pytest.raises(ResponseError, match="same slot"):
            await strict(keys=[keys.ready_probe], args=[other])
        lenient = client.register_script(touch)
        assert await lenient(keys=[keys.ready_probe], args=[other]) == 1
    finally:
        await client.aclose()


def _slot(tag: str) -> int:
    return desk_slot("{" + tag + "}")


@pytest.fixture
async def lone_primary() -> AsyncIterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.mark.parametrize("wait_replicas", ["0", "1"])
async def test_too_few_replicas_is_unavailable_not_internal(
    aiohttp_server: AiohttpServer, lone_primary: RedisServer, tmp_path: Path, wait_replicas: str
) -> None:
    """The primary is told to refuse writes without a replica (min-replicas-to-write) while
    a patient is on the page: Redis answers NOREPLICAS, a plain ResponseError in redis-py
    (inside a pipeline, wrapped in another message). The join says `unavailable`, the
    session exchange 503 `unavailable`, /readyz 503; once writes are allowed again the same
    socket joins. With wait_replicas=1 the join goes through the WAIT pipeline."""
    desk = await start_desk(
        aiohttp_server, lone_primary.url, tmp_path, VIDEODESK_REDIS_WAIT_REPLICAS=wait_replicas
    )
    admin = Redis(port=lone_primary.port)
    bot = PatientBot(desk.url, desk.invite(), media=False)
    try:
        await bot.connect()
        await admin.config_set("min-replicas-to-write", 1)
        with pytest.raises(ClientError) as refused:
            await bot.join(name="Ana")
        assert refused.value.code == "unavailable"
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{desk.url}/api/v1/session",
                json={"token": desk.invite()},
                headers={"Origin": desk.url},
            ) as response:
                assert response.status == 503
                assert (await response.json())["error"] == "unavailable"
            async with http.get(f"{desk.url}/readyz") as response:
                assert response.status == 503
        await admin.config_set("min-replicas-to-write", 0)
        if wait_replicas == "0":
            placed = await bot.join(name="Ana")
            assert placed["state"] == "waiting"
        else:  # no replica at all: still refused, honestly
            with pytest.raises(ClientError) as again:
                await bot.join(name="Ana")
            assert again.value.code == "unavailable"
    finally:
        await bot.close()
        await admin.aclose()
        await desk.server.close()


@pytest.mark.parametrize(
    ("reply", "outage"),
    [
        ("NOREPLICAS Not enough good replicas to write.", True),
        ("Command # 1 (SET k 1) of pipeline caused error: ('NOREPLICAS Not enough',)", True),
        ("Command # 2 (EVALSHA x 7) of pipeline caused error: READONLY You can't write", True),
        ("UNBLOCKED force unblock from blocking operation", True),
        ("ERR user_script:3: attempt to compare nil with number", False),
        ("Command # 1 (EVALSHA x 7) of pipeline caused error: ERR user_script:3: oops", False),
        ("VD wrong_state", False),
    ],
)
def test_which_replies_are_outages(reply: str, outage: bool) -> None:
    assert is_outage(ResponseError(reply)) is outage
