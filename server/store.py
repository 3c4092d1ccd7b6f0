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
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.settings import Settings

log = logging.getLogger(__name__)

EMBEDDED_NOTICE = (
    "no REDIS_URL: using the embedded in-process store. It is single-process and "
    "non-durable: run one server process only, and every queue, token list and "
    "session is lost when it stops. Set REDIS_URL for production."
)


def connect(settings: Settings, *, max_connections: int = 64) -> Redis:
    """Create the client (no I/O yet: connections open on first use)."""
    if settings.redis_url is None:
        return embedded()
    pool: BlockingConnectionPool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=max_connections,
        timeout=5,  # wait at most 5 s for a free connection from the pool
        socket_timeout=5,
        socket_connect_timeout=2,
        socket_keepalive=True,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        decode_responses=True,
    )
    return Redis(connection_pool=pool)


def embedded() -> Redis:
    """A fresh in-process Redis-compatible store with Lua support."""
    import fakeredis  # imported here: only the embedded mode needs it

    server: Any = fakeredis.FakeServer(version=(7,))
    client: Redis = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    return client


async def ping(redis: Redis) -> bool:
    """True when Redis answers a PING."""
    try:
        return bool(await redis.ping())
    except Exception:  # any failure to answer is "not ready", never a crash
        return False
