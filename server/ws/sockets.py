"""How many sockets each session, token and client address has open, counted on every
process.

A per-process count would let one token open its limit on each process (and
the ``auth`` message makes a new session per socket, so a per-session limit alone
does not bound a token; behind a load balancer an address's sockets spread over every
process). Each open socket is a member of a sorted set per session, per client address
(named by a keyed hash) and per token, scored by a lease deadline that its process renews every
few seconds; a process that dies stops renewing, and its sockets stop counting
within :data:`~server.core.redis_keys.SOCKET_LEASE_MS`.

Desk links are one token shared by every patient who opens the clinic's link, so
they are limited per session only.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from server.auth.sessions import Session
from server.core.redis_keys import SOCKET_LEASE_MS, Keys
from signaling import lua

# KEYS: the counted sets (session, address, then token). ARGV: member, lease_ms, limit per key.
# Returns 0 when admitted, else the 1-based index of the key that is full.
# Race closed: two sockets of one token opening on two processes at once; the
# count and the add are one step, so the limit cannot be overshot.
_ADMIT = """#!lua
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then return i end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + lease, ARGV[1])
  redis.call('PEXPIRE', key, lease * 2)
end
return 0
"""

# KEYS: counted sets; ARGV[1]: lease_ms, ARGV[i + 1]: the member in KEYS[i].
# Renews only members still present (XX): a socket released meanwhile stays released.
_RENEW = """#!lua
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + lease, ARGV[i + 1])
  redis.call('PEXPIRE', key, lease * 2)
end
return 0
"""

RENEW_BATCH = 500


@dataclass(frozen=True, slots=True)
class SocketCount:
    """One open socket's entries: the member name and the sets it is counted in."""

    member: str
    keys: tuple[str, ...]


class OpenSockets:
    """Admit, renew and release sockets against the per-session and per-token limits."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        process_id: str,
        *,
        per_session: int,
        per_token: int,
        per_address: int,
        address_bucket: Callable[[str], str],
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._process = process_id
        self._per_session = per_session
        self._per_token = per_token
        self._per_address = per_address
        self._address_bucket = address_bucket
        self._numbers = itertools.count(1)
        self._admit = lua.register(redis, _ADMIT)
        self._renew = lua.register(redis, _RENEW)

    async def admit(self, session: Session, address: str) -> tuple[SocketCount | None, str]:
        """Count a new socket of ``session`` from the client ``address``; (None, why) when
        a limit is reached."""
        keys = [
            self._keys.session_sockets(session.sid),
            self._keys.address_sockets(self._address_bucket(address)),
        ]
        limits = [self._per_session, self._per_address]
        reasons = ["too many open pages for this session", "too many connections from this address"]
        if session.typ != "desk":
            keys.append(self._keys.token_sockets(session.jti))
            limits.append(self._per_token)
            reasons.append("too many connections with this link")
        member = f"{self._process}:{next(self._numbers)}"
        full = int(await self._admit(keys=keys, args=[member, SOCKET_LEASE_MS, *limits]))
        if full:
            return None, reasons[full - 1]
        return SocketCount(member=member, keys=tuple(keys)), ""

    async def renew(self, counts: Sequence[SocketCount]) -> None:
        """Extend the leases of this process's open sockets (called every few seconds)."""
        pairs = [(key, count.member) for count in counts for key in count.keys]
        for start in range(0, len(pairs), RENEW_BATCH):
            batch = pairs[start : start + RENEW_BATCH]
            await self._renew(
                keys=[key for key, _ in batch],
                args=[SOCKET_LEASE_MS, *(member for _, member in batch)],
            )

    async def release(self, count: SocketCount) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in count.keys:
                pipe.zrem(key, count.member)
            await pipe.execute()
