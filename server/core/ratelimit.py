"""Rate limits kept in Redis, so they hold across every server process (docs/security.md).

Buckets that belong to a client address are named by a keyed hash of the
address (:meth:`RateLimiter.address_bucket`), never the address itself: Redis
key names are visible to anyone with ``SCAN`` and end up in dumps.
"""

from __future__ import annotations

import hashlib
import hmac

from redis.asyncio import Redis

from server.core.audit import audit
from server.core.errors import TooManyRequests
from server.core.redis_keys import RATE_WINDOW, Keys
from signaling import lua

# One atomic step: count this request in the current window and give the window's
# remaining time. A read-then-write from Python would let parallel requests through.
_FIXED_WINDOW = """#!lua
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

    def __init__(self, redis: Redis, keys: Keys, address_key: bytes) -> None:
        self._redis = redis
        self._keys = keys
        self._address_key = address_key
        self._script = lua.register(redis, _FIXED_WINDOW)

    def address_bucket(self, kind: str, address: str) -> str:
        """The bucket of one client address for ``kind``: a keyed hash, not the address."""
        tag = hmac.new(self._address_key, address.encode(), hashlib.sha256).hexdigest()[:24]
        return f"{kind}:{tag}"

    async def hit(self, bucket: str, limit: int, *, window: int = RATE_WINDOW) -> None:
        """Count one hit; raise :class:`TooManyRequests` with Retry-After past the limit."""
        count, ttl = await self._script(keys=[self._keys.rate(bucket)], args=[window])
        if int(count) > limit:
            raise TooManyRequests(
                "Too many requests. Please wait a moment and try again.",
                retry_after=max(1, int(ttl)),
            )

    async def check(self, bucket: str, limit: int) -> None:
        """Raise :class:`TooManyRequests` if the bucket is already at ``limit`` (counts nothing)."""
        key = self._keys.rate(bucket)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.ttl(key)
            count, ttl = await pipe.execute()
        if count is not None and int(count) >= limit:
            raise TooManyRequests(
                "Too many failed sign-ins. Please wait a moment and try again.",
                retry_after=max(1, int(ttl)),
            )


class LoginFailures:
    """One budget of failed sign-ins per client address, shared by the REST API's bearer
    tokens, the session exchange and the WebSocket's ``auth`` message, on every process.

    :meth:`check` runs before a token is verified, so a client over the budget learns
    nothing more about any token until the window ends.
    """

    PER_MINUTE = 30

    def __init__(self, limiter: RateLimiter, redis: Redis, keys: Keys) -> None:
        self._limiter = limiter
        self._redis = redis
        self._keys = keys

    async def check(self, address: str) -> None:
        await self._limiter.check(
            self._limiter.address_bucket("authfail", address), self.PER_MINUTE
        )

    async def record(self, address: str, *, where: str, reason: str) -> None:
        """A failed sign-in: an ``auth_failed`` audit event, and one spent from the budget
        (raises :class:`TooManyRequests` past it)."""
        await audit(self._redis, self._keys, "auth_failed", where=where, reason=reason)
        await self._limiter.hit(self._limiter.address_bucket("authfail", address), self.PER_MINUTE)
