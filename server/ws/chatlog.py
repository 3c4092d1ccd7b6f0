"""The call chat's history, written behind the conversation.

A chat message is relayed to the other party first; keeping it for a party who
reconnects (``call.started`` ``history``) is a write this process batches: what
arrives within FLUSH_DELAY goes to Redis in one pipeline. bench/signaling.py
measured the write-then-relay order at about half the server's CPU per chat
message and 3× the latency of a bare relay, and a flush per message still at a
quarter of the CPU. The cost of batching: if the process dies in that moment,
the last messages may be missing from the history (never from the conversation).
"""

from __future__ import annotations

import asyncio
import logging

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.core.redis_keys import CALL_RECORD_TTL, Keys
from signaling import lua
from signaling.server_messages import CallChat

log = logging.getLogger(__name__)

CHAT_HISTORY = 200
_chat = msgspec.json.Decoder(CallChat)
FLUSH_DELAY = 0.2  # seconds

# One command for a whole batch: for each chat list (KEYS), append its messages,
# keep the last ARGV[1] and refresh the TTL ARGV[2]. ARGV[3..2+#KEYS] are how many
# messages each list gets; the messages follow, in the same order.
_APPEND = """#!lua
local history, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local next_text = 3 + #KEYS
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[2 + i])
  for j = next_text, next_text + count - 1 do
    redis.call('RPUSH', key, ARGV[j])
  end
  next_text = next_text + count
  redis.call('LTRIM', key, -history, -1)
  redis.call('EXPIRE', key, ttl)
end
return #KEYS
"""


class ChatLog:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._pending: list[tuple[str, bytes]] = []
        self._append = lua.register(redis, _APPEND)
        self._flushing: asyncio.Task[None] | None = None

    async def history(self, call_id: str) -> list[CallChat]:
        """The call's chat so far (what a reconnecting party is shown)."""
        raw: list[str] = await self._redis.lrange(self._keys.call_chat(call_id), 0, -1)  # type: ignore[assignment]
        history = []
        for item in raw:
            try:
                history.append(_chat.decode(item))
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
        return history

    def add(self, call_id: str, message: bytes) -> None:
        """Keep a chat message, as it was relayed (``call.chat`` JSON), within FLUSH_DELAY."""
        self._pending.append((call_id, message))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        await asyncio.sleep(FLUSH_DELAY)
        while self._pending:
            batch, self._pending = self._pending, []
            by_call: dict[str, list[bytes]] = {}
            for call_id, text in batch:
                by_call.setdefault(call_id, []).append(text)
            keys = [self._keys.call_chat(call_id) for call_id in by_call]
            counts = [len(texts) for texts in by_call.values()]
            texts = [text for chunk in by_call.values() for text in chunk]
            try:
                await self._append(keys=keys, args=[CHAT_HISTORY, CALL_RECORD_TTL, *counts, *texts])
            except RedisError as exc:
                log.warning("chat history of %d messages not kept: %s", len(batch),
                            type(exc).__name__)  # fmt: skip

    async def close(self) -> None:
        """Write what is pending (on shutdown)."""
        if self._flushing is not None:
            await self._flushing
