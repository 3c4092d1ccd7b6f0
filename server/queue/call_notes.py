"""What staff write on a call's record: the agent's private notes and the wrap-up note,
and the mark that a call-back became a video call. The queue's scripts create and end
call records; this is the only other writer, and it touches these fields only."""

from __future__ import annotations

from typing import Literal

from redis.asyncio import Redis

from server.core.redis_keys import CALL_RECORD_TTL, Keys

MAX_TEXT = 2000  # characters kept of a note (as many as the socket allows)

NoteField = Literal["notes", "wrapup_note"]


class CallNotes:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def save(self, call_id: str, field: NoteField, text: str) -> None:
        """Keep an agent's private notes or wrap-up note on the call record."""
        key = self._keys.call(call_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, field, text[:MAX_TEXT])
            pipe.expire(key, CALL_RECORD_TTL)
            await pipe.execute()

    async def mark_media(self, call_id: str) -> None:
        """A call-back became a video call (the patient answered the ring)."""
        await self._redis.hset(self._keys.call(call_id), "media", "1")
