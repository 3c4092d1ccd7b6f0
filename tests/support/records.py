"""Waiting for the recorder: reports read the database, which trails the events stream by
a batch (a fraction of a second)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from server.records.service import RECORDS


async def recorded(app: web.Application, timeout: float = 20.0) -> None:
    """Return once every event in the stream is in the database."""
    recorder = app[RECORDS].recorder
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await recorder.oldest_unrecorded() is not None:
        assert loop.time() < deadline, "the recorder did not catch up"
        await asyncio.sleep(0.05)
