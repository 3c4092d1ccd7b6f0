"""Audit events that are not queue transitions (docs/security.md, "Privacy"): tokens issued and
revoked, and failed authentication. They go to the same events stream as the queue's
transitions, so one stream tells the whole story, and the recorder files them in the
``audit`` table (docs/records.md); never a token, name or address."""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.core.redis_keys import Keys

log = logging.getLogger(__name__)


async def audit(redis: Redis, keys: Keys, kind: str, **fields: str) -> None:
    """Append an audit event; an audit failure is logged and never blocks the caller."""
    entry: dict[str | bytes, str | int] = {"type": kind, "at": int(time.time() * 1000)}
    entry.update(fields)
    try:
        await redis.xadd(keys.events, entry)  # type: ignore[arg-type]
    except RedisError as exc:
        log.warning("audit event %s not written: %s", kind, type(exc).__name__)
