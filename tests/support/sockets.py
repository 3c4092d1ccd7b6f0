"""Raw HTTP and WebSocket clients in tests: the ``http`` session fixture, the next
message of a type, the close code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp client session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


async def next_of(ws: aiohttp.ClientWebSocketResponse, kind: str, timeout: float = 5) -> Any:
    """The next message of type ``kind`` (others are skipped)."""
    while True:
        message = await ws.receive_json(timeout=timeout)
        if message["type"] == kind:
            return message


async def closed_with(ws: aiohttp.ClientWebSocketResponse, timeout: float = 10) -> int | None:
    """The code of the first Close frame the server sent (RFC 6455 §7.1.5)."""

    async def close_frame() -> int | None:
        while True:
            msg = await ws.receive()
            if msg.type == aiohttp.WSMsgType.CLOSE:
                code: int = msg.data
                return code
            if msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                return ws.close_code

    return await asyncio.wait_for(close_frame(), timeout)
