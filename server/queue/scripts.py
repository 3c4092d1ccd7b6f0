"""Loading the queue's Lua scripts: ``_lib.lua`` is prepended to each one.

redis-py's registered scripts run by EVALSHA and load themselves again after
NOSCRIPT (a SCRIPT FLUSH or a Redis restart), so nothing here caches state
that a restart could make stale.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from server.keys import Keys
from server.queue.errors import error_for

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
    "survey",
    "emergency",
)


def source(name: str) -> str:
    """The full source of one operation: the shared library, then the script."""
    folder = files("server.queue").joinpath("scripts")
    library = folder.joinpath("_lib.lua").read_text(encoding="utf-8")
    return library + "\n" + folder.joinpath(f"{name}.lua").read_text(encoding="utf-8")


class QueueScripts:
    """The registered scripts of one desk; call :meth:`run` with an operation name."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._keys = keys
        self._scripts: dict[str, AsyncScript] = {
            name: redis.register_script(source(name)) for name in OPERATIONS
        }

    async def run(self, name: str, *args: str | int | float) -> Any:
        """Run one operation; a refusal from the script becomes a typed error."""
        try:
            return await self._scripts[name](keys=[self._keys.seq], args=[self._keys.prefix, *args])
        except ResponseError as exc:
            raise error_for(str(exc)) from None
