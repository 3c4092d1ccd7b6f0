"""The Redis client: a real server when REDIS_URL is set, else the embedded store.

Both give a ``redis.asyncio.Redis``-compatible client and run the same code,
Lua scripts included. The embedded store (fakeredis with Lua) lives in this
process only: it cannot be shared by several processes and loses everything
on restart, and the desk says so at start.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.core.redis_cluster import SlotOwner, SlotOwnerConnection, desk_slot, parse_cluster_url
from server.core.redis_keys import Keys
from server.core.settings import SentinelTarget, Settings, parse_sentinel_url

log = logging.getLogger(__name__)

EMBEDDED_NOTICE = (
    "no REDIS_URL: using the embedded in-process store. It is single-process and "
    "non-durable: run one server process only; every queue, call, session and the "
    "list of issued links is lost when it stops (revocations are kept in a file "
    "beside the signing secret, so a withdrawn link stays withdrawn). "
    "Set REDIS_URL for production."
)


def connect(
    settings: Settings, *, max_connections: int = 64, socket_timeout: float | None = 5.0
) -> Redis:
    """Create the client (no I/O yet: connections open on first use).

    ``socket_timeout=None`` is for a client whose commands block on purpose
    (XREAD BLOCK); it relies on the health check and keepalive instead.
    """
    if settings.redis_url is None:
        return embedded()
    options: dict[str, Any] = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": 1,
        "socket_keepalive": True,
        "health_check_interval": 15,
        # A few quick retries ride out a blip; a longer outage fails fast so the
        # patient hears "try again shortly" instead of waiting on a spinner.
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "decode_responses": True,
    }
    if settings.redis_url.startswith("redis+sentinel://"):
        return sentinel_primary(parse_sentinel_url(settings.redis_url), options)
    if settings.redis_url.startswith("redis+cluster://"):
        return slot_owner(settings, options, max_connections)
    pool: BlockingConnectionPool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=max_connections,
        timeout=5,  # wait at most 5 s for a free connection from the pool
        **options,
    )
    # from_pool: the client owns the pool and disconnects it on aclose().
    client: Redis = Redis.from_pool(pool)
    return client


def sentinel_primary(target: SentinelTarget, options: dict[str, Any]) -> Redis:
    """A client of the primary the sentinels name, found again after a failover.

    redis-py's sentinel pool asks the sentinels for the primary on every new connection
    and drops a connection that finds a replica there (the old primary after a
    failover: READONLY), so the retry on ConnectionError reaches the new primary.
    """
    sentinel = Sentinel(  # type: ignore[no-untyped-call, unused-ignore]
        list(target.sentinels),
        sentinel_kwargs={"socket_timeout": 1, "socket_connect_timeout": 1},
        **options,
    )
    client: Redis = sentinel.master_for(
        target.service,
        redis_class=Redis,
        db=target.db,
        username=target.username,
        password=target.password,
        check_connection=True,
    )
    return client


def slot_owner(settings: Settings, options: dict[str, Any], max_connections: int) -> Redis:
    """A client of the Redis Cluster primary that owns the desk's slot (every key of a
    desk is in one slot: server/core/redis_cluster.py), found again after a failover."""
    assert settings.redis_url is not None
    target = parse_cluster_url(settings.redis_url)
    owner = SlotOwner(target, desk_slot(Keys(settings.desk).prefix))
    pool: BlockingConnectionPool = BlockingConnectionPool(
        connection_class=SlotOwnerConnection,
        max_connections=max_connections,
        timeout=5,
        slot_owner=owner,
        username=target.username,
        password=target.password,
        **options,
    )
    client: Redis = Redis.from_pool(pool)
    return client


def embedded() -> Redis:
    """A fresh in-process Redis-compatible store with Lua support."""
    import fakeredis  # imported here: only the embedded mode needs it

    server: Any = fakeredis.FakeServer(version=(7,))
    client: Redis = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    return client


def embedded_reader(redis: Redis) -> Redis:
    """A second client on the same in-process store (for blocking reads)."""
    import fakeredis

    server = redis.connection_pool.connection_kwargs["server"]
    client: Redis = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    return client


async def close(redis: Redis) -> None:
    """Close a client made by :func:`connect`, with the sentinel connections it asked."""
    pool = redis.connection_pool
    await redis.aclose()
    if isinstance(pool, SentinelConnectionPool):
        for sentinel in pool.sentinel_manager.sentinels:
            await sentinel.aclose()


async def ping(redis: Redis) -> bool:
    """True when Redis answers a PING."""
    try:
        return bool(await redis.ping())
    except Exception:  # any failure to answer is "not ready", never a crash
        return False


async def writable(redis: Redis, probe_key: str) -> str | None:
    """None when Redis takes a write; otherwise why not: ``redis_read_only`` (a replica,
    e.g. the old primary after a failover) or ``redis_unavailable``."""
    try:
        await redis.set(probe_key, "1", px=5000)
    except ReadOnlyError:
        return "redis_read_only"
    except Exception:  # any other failure to write is "not ready", never a crash
        return "redis_unavailable"
    return None
