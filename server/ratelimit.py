"""Rate limits kept in Redis, so they hold across every server process (SECURITY.md item 15)."""

from __future__ import annotations

from redis.asyncio import Redis

from server.errors import TooManyRequests
from server.keys import RATE_WINDOW, Keys

# One atomic step: count this request in the current window and give the window's
# remaining time. A read-then-write from Python would let parallel requests through.
_FIXED_WINDOW = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


class RateLimiter:
    """Fixed-window counters: at most ``limit`` hits per ``RATE_WINDOW`` seconds per bucket."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._keys = keys
        self._script = redis.register_script(_FIXED_WINDOW)

    async def hit(self, bucket: str, limit: int, *, window: int = RATE_WINDOW) -> None:
        """Count one hit; raise :class:`TooManyRequests` with Retry-After past the limit."""
        count, ttl = await self._script(keys=[self._keys.rate(bucket)], args=[window])
        if int(count) > limit:
            raise TooManyRequests(
                "Too many requests. Please wait a moment and try again.",
                retry_after=max(1, int(ttl)),
            )
