"""Loading the queue's Lua scripts: ``_lib.lua`` is prepended to each one.

redis-py's registered scripts run by EVALSHA and load themselves again after
NOSCRIPT (a SCRIPT FLUSH or a Redis restart), so nothing here caches state
that a restart could make stale.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from server.core.errors import Unavailable
from server.core.outages import is_outage
from server.core.redis_keys import Keys
from server.queue.errors import error_for
from signaling import lua
from signaling.lua import SHEBANG

log = logging.getLogger(__name__)

OPERATIONS = (
    "join",
    "leave",
    "agent_signin",
    "agent_status",
    "offer_next",
    "dispatch",
    "accept",
    "decline",
    "expire_offers",
    "call_started",
    "finish",
    "wrapup_done",
    "hold",
    "transfer",
    "callback",
    "release_callbacks",
    "renew_leases",
    "reap_leases",
    "positions",
    "places",
    "desk_now",
    "estimate_shown",
    "survey",
    "emergency",
    "guest_join",
    "supervisor_join",
    "party_mode",
    "guest_leave",
    "party_rejoined",
)


def source(name: str) -> str:
    """The full source of one operation: its ``#!lua`` line (flags), the shared
    library, then the rest of the script."""
    folder = files("server.queue").joinpath("scripts")
    library = folder.joinpath("_lib.lua").read_text(encoding="utf-8")
    shebang, _, script = folder.joinpath(f"{name}.lua").read_text(encoding="utf-8").partition("\n")
    if not shebang.startswith(SHEBANG):
        raise ValueError(f"{name}.lua must start with its #!lua line")
    return f"{shebang}\n{library}\n{script}"


def declared_keys(keys: Keys) -> list[str]:
    """The desk's fixed keys, declared to Redis in KEYS (the order _lib.lua reads)."""
    return [
        keys.seq,
        keys.offers,
        keys.leases,
        keys.events,
        keys.agents,
        keys.callbacks_scheduled,
        keys.clock_skew,
    ]


class QueueScripts:
    """The registered scripts of one desk; call :meth:`run` with an operation name."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._keys = keys
        self._declared = declared_keys(keys)
        self._redis = redis
        self._scripts: dict[str, AsyncScript] = {
            name: lua.register(redis, source(name)) for name in OPERATIONS
        }

    async def run(self, name: str, *args: str | int | float) -> Any:
        """Run one operation; a refusal from the script becomes a typed error."""
        try:
            return await self._scripts[name](keys=self._declared, args=[self._keys.prefix, *args])
        except ResponseError as exc:
            if is_outage(exc):
                raise  # READONLY, NOREPLICAS…: `unavailable`, not a bug
            raise error_for(str(exc)) from None

    async def run_many(self, name: str, rows: Sequence[Sequence[str | int | float]]) -> list[Any]:
        """Run one operation once per row of arguments, pipelined (one round trip)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for args in rows:
                await self._scripts[name](
                    keys=self._declared, args=[self._keys.prefix, *args], client=pipe
                )
            try:
                return list(await pipe.execute())
            except ResponseError as exc:
                if is_outage(exc):
                    raise
                raise error_for(str(exc)) from None

    async def run_durable(
        self, name: str, *args: str | int | float, replicas: int, wait_ms: int
    ) -> Any:
        """Run an operation whose result a person is told (a place in the queue, a
        call-back booked), and make sure ``replicas`` replicas have it first.

        Redis replication is asynchronous: a failover can lose a write the primary has
        acknowledged. WAIT on the same connection as the script (one pipeline) blocks
        until the replicas have it, or ``wait_ms`` passes; then the person hears
        ``unavailable`` and their retry finds the same result (these operations are
        idempotent), now on a replica too.
        """
        if replicas <= 0:
            return await self.run(name, *args)
        async with self._redis.pipeline(transaction=False) as pipe:
            await self._scripts[name](
                keys=self._declared, args=[self._keys.prefix, *args], client=pipe
            )
            pipe.wait(replicas, wait_ms)
            try:
                result, acknowledged = await pipe.execute()
            except ResponseError as exc:
                if is_outage(exc):
                    raise
                raise error_for(str(exc)) from None
        if int(acknowledged) < replicas:
            log.warning(
                "%s: %s of %s replicas confirmed it within %s ms; the person hears unavailable",
                name, acknowledged, replicas, wait_ms,
            )  # fmt: skip
            raise Unavailable(
                "The desk could not confirm that just now. Please try again.", retry_after=2
            )
        return result
