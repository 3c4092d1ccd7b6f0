"""Registering Lua scripts that declare themselves with a ``#!lua`` shebang.

Redis 7 reads a script's flags from its first line (``#!lua`` or ``#!lua
flags=no-writes``). With a shebang, Redis refuses keys outside one hash slot (no
``allow-cross-slot-keys`` flag), refuses a writing script on a replica or while
``min-replicas-to-write`` is unmet before it runs anything, and lets a ``no-writes``
script (read only) run even then. The embedded store (fakeredis) cannot parse the
line, so there it becomes a comment; the script is otherwise the same.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

SHEBANG = "#!lua"


def is_embedded(redis: Redis) -> bool:
    """Whether the client is the embedded in-process store (fakeredis)."""
    return type(redis).__module__.startswith("fakeredis")


def for_store(redis: Redis, source: str) -> str:
    """The script as this store takes it (the shebang line kept, or made a comment)."""
    if not source.startswith(SHEBANG):
        raise ValueError("a script must start with its #!lua line (its flags)")
    return "--" + source if is_embedded(redis) else source


def register(redis: Redis, source: str) -> AsyncScript:
    return redis.register_script(for_store(redis, source))
