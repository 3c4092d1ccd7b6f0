"""The last hours of each queue, for the supervisor's charts: waiting count over time (a
sample a minute, in Redis), the distribution of waits, and how the last day's wait
estimates held up (both from the records database)."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from server.core.redis_keys import Keys
from server.records.queries import answered_waits, estimate_accuracy

SAMPLES_MAXLEN = 3000  # two days of minutes
WAIT_BUCKETS_S = (30, 60, 120, 300, 600, 900, 1800)
DAY_MS = 24 * 3600 * 1000


async def record_sample(redis: Redis, keys: Keys, queues: list[str], now_ms: int) -> bool:
    """Record this minute's waiting counts, once for the whole desk (whoever is first)."""
    minute = now_ms // 60_000
    if not await redis.set(keys.sample_lock(minute), "1", nx=True, ex=180):
        return False
    async with redis.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.zcard(keys.queue(queue))
        counts = await pipe.execute()
    fields: dict[Any, Any] = {"at": minute * 60_000}
    fields.update({f"q:{queue}": count for queue, count in zip(queues, counts, strict=True)})
    await redis.xadd(keys.samples, fields, maxlen=SAMPLES_MAXLEN, approximate=True)
    return True


async def history(
    redis: Redis, keys: Keys, records: AsyncEngine, queues: list[str], hours: float
) -> dict[str, Any]:
    until = await desk_time_ms(redis, keys)
    since = until - int(hours * 3600 * 1000)
    entries: list[tuple[str, dict[str, str]]] = await redis.xrevrange(  # type: ignore[assignment]
        keys.samples, count=int(hours * 60) + 5
    )
    series: dict[str, list[list[int]]] = {q: [] for q in queues}
    for _, fields in reversed(entries):
        at = int(fields.get("at", 0))
        if not since <= at <= until:
            continue
        for queue in queues:
            if f"q:{queue}" in fields:
                series[queue].append([at, int(fields[f"q:{queue}"])])
    waits: dict[str, list[int]] = {q: [0] * (len(WAIT_BUCKETS_S) + 1) for q in queues}
    for queue, wait_ms in await answered_waits(records, since, until + 1):
        if queue in waits:
            seconds = wait_ms / 1000
            index = next((i for i, b in enumerate(WAIT_BUCKETS_S) if seconds <= b), -1)
            waits[queue][index] += 1
    accuracy = await estimate_accuracy(records, until - DAY_MS, until + 1)
    return {
        "since": since,
        "waiting": series,
        "wait_buckets_s": list(WAIT_BUCKETS_S),
        "waits": waits,
        "accuracy": {q: accuracy[q].as_dict() for q in queues if q in accuracy},
    }


async def desk_time_ms(redis: Redis, keys: Keys) -> int:
    """Now by the desk's clock (the wall clock plus any drill skew), milliseconds."""
    return int(time.time() * 1000) + int(await redis.get(keys.clock_skew) or 0)
