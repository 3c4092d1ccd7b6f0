"""Leaving the old Redis primary the moment the sentinels name a new one.

redis-py asks the sentinels for the primary only when it opens a connection, and drops
a pooled connection only when the old primary refuses a write (READONLY). After a
SENTINEL FAILOVER the old primary keeps taking writes until the sentinels re-point it,
at their next INFO round (about 10 s): the desk would go on writing where no replica
confirms anything (every join `unavailable`) and where it will all be discarded.

Each sentinel publishes ``+switch-master <service> <old-ip> <old-port> <new-ip>
<new-port>`` once the failover is done; on that message every pooled connection of the
desk's clients is closed, and the next command asks the sentinels again. (The sentinel
that led the failover reports the new primary about a second after the others; its own
message comes then, and the clients reconnect once more.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.core.settings import SentinelTarget
from signaling.tasks import stop_task

log = logging.getLogger(__name__)

CHANNEL = "+switch-master"


class PrimaryWatch:
    def __init__(self, target: SentinelTarget) -> None:
        self._target = target
        self._clients: list[Redis] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.switches = 0

    def add(self, client: Redis) -> None:
        self._clients.append(client)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(host, port), name=f"sentinel-watch-{port}")
            for host, port in self._target.sentinels
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            await stop_task(task)
        self._tasks = []

    async def switched(self, data: str) -> None:
        service, *addresses = data.split()
        if service != self._target.service:
            return
        self.switches += 1
        log.warning(
            "the sentinels named a new Redis primary (%s:%s); reconnecting",
            *addresses[2:4] or ("?", "?"),
        )
        for client in self._clients:
            pool = client.connection_pool
            with contextlib.suppress(RedisError, OSError):
                # Idle connections close now; busy ones (a command waiting on the old
                # primary) close when they come back to the pool.
                await pool.update_active_connections_for_reconnect()  # type: ignore[no-untyped-call]
                await pool.disconnect(inuse_connections=False)

    async def _listen(self, host: str, port: int) -> None:
        delay = 0.2
        while True:
            sentinel = Redis(
                host=host,
                port=port,
                socket_connect_timeout=1,
                socket_keepalive=True,
                decode_responses=True,
            )
            try:
                async with sentinel.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    delay = 0.2
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await self.switched(str(message.get("data", "")))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.debug("sentinel %s:%s: %s; listening again", host, port, type(exc).__name__)
            finally:
                await sentinel.aclose()
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)
