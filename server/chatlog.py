"""The call chat's history, written behind the conversation.

A chat message is relayed to the other party first; keeping it for a party who
reconnects (``call.started`` ``history``) is a write this process batches: every
message pending when the event loop gets round to it goes to Redis in one
pipeline. bench/signaling.py measured the write-then-relay order at about half
the server's CPU per chat message and 3× the latency of a bare relay. The cost
of batching: if the process dies in the same moment, the last messages may be
missing from the history (never from the conversation).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.keys import CALL_RECORD_TTL, Keys

log = logging.getLogger(__name__)

CHAT_HISTORY = 200


class ChatLog:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._pending: list[tuple[str, str]] = []
        self._flushing: asyncio.Task[None] | None = None

    def add(self, call_id: str, message: dict[str, Any]) -> None:
        """Keep a chat message (written on the next pass of the event loop)."""
        self._pending.append((call_id, json.dumps(message)))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for call_id in {call for call, _ in batch}:
                        key = self._keys.call_chat(call_id)
                        pipe.rpush(key, *(text for call, text in batch if call == call_id))
                        pipe.ltrim(key, -CHAT_HISTORY, -1)
                        pipe.expire(key, CALL_RECORD_TTL)
                    await pipe.execute()
            except RedisError as exc:
                log.warning("chat history of %d messages not kept: %s", len(batch),
                            type(exc).__name__)  # fmt: skip

    async def close(self) -> None:
        """Write what is pending (on shutdown)."""
        if self._flushing is not None:
            await self._flushing
