"""What reports and the dashboard history read from the records, streamed: rows come from
a server-side cursor a page at a time, so a year of rows is never held in memory."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
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
