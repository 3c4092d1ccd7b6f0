"""What reports and the dashboard history read from the records, streamed: rows come from
a server-side cursor a page at a time, so a year of rows is never held in memory."""

from __future__ import annotations

import json
import statistics
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.records import tables
from server.records.visits import iso, session_row

PAGE = 1000


async def session_rows(
    engine: AsyncEngine, start_ms: int, end_ms: int
) -> AsyncIterator[dict[str, Any]]:
    """One row per visit that began in ``[start_ms, end_ms)``, in order of joining."""
    v = tables.visits
    query = (
        select(v)
        .where(v.c.joined_at >= start_ms, v.c.joined_at < end_ms)
        .order_by(v.c.joined_at, func.length(v.c.id), v.c.id)
    )
    async with engine.connect() as conn:
        result = await conn.stream(query.execution_options(yield_per=PAGE))
        async for row in result.mappings():
            yield session_row(dict(row))


async def event_rows(
    engine: AsyncEngine, start_ms: int, end_ms: int
) -> AsyncIterator[dict[str, Any]]:
    """Every event with ``start_ms <= at < end_ms``, in the order they happened."""
    e = tables.events
    query = (
        select(e.c.id, e.c.fields)
        .where(e.c.at >= start_ms, e.c.at < end_ms)
        .order_by(e.c.stream_ms, e.c.stream_seq)
    )
    async with engine.connect() as conn:
        result = await conn.stream(query.execution_options(yield_per=PAGE))
        async for event_id, raw in result:
            fields = json.loads(raw)
            yield {"id": event_id, **fields, "at": iso(fields.get("at"))}


async def answered_waits(
    engine: AsyncEngine, since_ms: int, until_ms: int
) -> list[tuple[str, int]]:
    """(queue, wait in ms) of every call answered in the range."""
    e = tables.events
    query = select(e.c.queue, e.c.fields).where(
        e.c.type == "accepted", e.c.at >= since_ms, e.c.at < until_ms
    )
    async with engine.connect() as conn:
        result = await conn.execute(query)
        return [(queue or "", int(json.loads(raw).get("wait_ms", 0))) for queue, raw in result]


@dataclass(frozen=True, slots=True)
class Accuracy:
    """How the wait estimates shown at join held up, for the calls of one queue."""

    answered: int  # calls answered whose patient was shown a range
    median_error_s: float  # median |estimate - actual wait|
    median_wait_s: float
    inside: float  # share of actual waits inside the range shown

    @property
    def relative_error(self) -> float:
        """The simulation's measure (docs/queue.md): median error over median wait."""
        return self.median_error_s / self.median_wait_s if self.median_wait_s else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "answered": self.answered,
            "median_error_s": round(self.median_error_s),
            "median_wait_s": round(self.median_wait_s),
            "relative_error": round(self.relative_error, 3),
            "inside_range": round(self.inside, 3),
        }


async def estimate_accuracy(
    engine: AsyncEngine, since_ms: int, until_ms: int
) -> dict[str, Accuracy]:
    """Per queue, over visits answered in the range that were shown a range at join."""
    v = tables.visits
    query = select(
        v.c.queue, v.c.wait_ms, v.c.estimate_s, v.c.estimate_low_min, v.c.estimate_high_min
    ).where(
        v.c.answered_at >= since_ms,
        v.c.answered_at < until_ms,
        v.c.estimate_s.is_not(None),
        v.c.wait_ms.is_not(None),
    )
    by_queue: dict[str, list[tuple[float, float, bool]]] = {}
    async with engine.connect() as conn:
        for queue, wait_ms, estimate_s, low, high in await conn.execute(query):
            wait_s = wait_ms / 1000
            inside = low * 60 <= wait_s <= high * 60
            by_queue.setdefault(queue, []).append((abs(estimate_s - wait_s), wait_s, inside))
    return {
        queue: Accuracy(
            answered=len(rows),
            median_error_s=statistics.median(error for error, _, _ in rows),
            median_wait_s=statistics.median(wait for _, wait, _ in rows),
            inside=sum(1 for *_, inside in rows if inside) / len(rows),
        )
        for queue, rows in by_queue.items()
    }
