"""Queue-engine fixtures shared by the queue tests: the same contract on real Redis and the
embedded store."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from server.core.redis_keys import Keys
from server.core.settings import parse_queues
from server.core.store import embedded
from server.queue.engine import QueueEngine, Timing
from server.queue.models import PatientDetails
from tests.support.invariants import check_invariants
from tests.support.redis_cluster import RedisClusterTopology, desk_client

QUEUES = parse_queues("appointments:en/es:120,pharmacy:en:60,billing:en:300")
QUEUE_NAMES = [q.name for q in QUEUES]
TIMING = Timing(
    offer_timeout_ms=20_000,
    patient_grace_ms=60_000,
    agent_idle_grace_ms=15_000,
    agent_call_grace_ms=60_000,
)


def details(name: str = "Pat", language: str = "en", priority: str = "normal") -> PatientDetails:
    return PatientDetails(name=name, reason="a question", language=language, priority=priority)  # type: ignore[arg-type]


@pytest.fixture(params=["redis", "embedded", "cluster"])
async def engine(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[QueueEngine]:
    """A queue engine on a fresh desk: on real Redis, on the embedded store, and on a real
    Redis Cluster (3 primaries, 3 replicas) through the desk's own cluster client.

    After the test, the desk must be consistent (tests/support/invariants.py).
    """
    keys = Keys("t" + secrets.token_hex(3))
    if request.param == "redis":
        client = Redis.from_url(redis_url, decode_responses=True)
        await client.flushdb()
    elif request.param == "cluster":
        topology: RedisClusterTopology = request.getfixturevalue("redis_cluster")
        client = desk_client(topology.url, keys.desk)
    else:
        client = embedded()
    engine = QueueEngine(client, keys, QUEUES, TIMING)
    try:
        yield engine
        problems = await check_invariants(client, keys, QUEUE_NAMES)
        assert problems == [], problems
    finally:
        await client.aclose()
