"""The desk's events stream as tests read it: the most recent events, oldest first."""

from __future__ import annotations

from typing import Any

from server.queue.engine import QueueEngine


async def recorded_events(engine: QueueEngine, count: int = 1000) -> list[dict[str, Any]]:
    entries: list[tuple[str, dict[str, str]]] = await engine.redis.xrevrange(  # type: ignore[assignment]
        engine.keys.events, count=count
    )
    return [{"id": eid, **fields} for eid, fields in reversed(entries)]
