"""Browser sessions: a token from the URL fragment becomes an HttpOnly cookie.

The page reads its token from ``location.hash``, POSTs it to
``/api/v1/session`` and removes it from the address bar; the server answers
with a random session id in an HttpOnly, SameSite=Strict cookie (Secure behind
TLS). The session lives in Redis until the token would expire (at most 12 h)
and ends at once when its token is revoked.

A patient session gets its own random patient id: two browsers opening the same
invite are two sessions, and the single-use invite lets only one of them join.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from server.auth.tokens import Claims, Role, end_sessions_of_token, new_id
from server.core.errors import Unauthorized
from server.core.redis_keys import SESSION_MAX_TTL, Keys

COOKIES = {"patient": "vd_patient", "agent": "vd_agent", "guest": "vd_guest"}


def cookie_name(role: str) -> str:
    """One cookie per role, so a patient link opened in an agent's browser (or the
    other way round) does not replace the other session."""
    return COOKIES[role]


@dataclass(frozen=True, slots=True)
class Session:
    """Who a cookie (or a first-message token) belongs to."""

    sid: str
    role: Role
    participant: str  # patient id (p_…), agent id (a_…) or admin subject
    jti: str  # the token this session came from (revocation ends the session)
    exp: int
    name: str = ""
    queues: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    reason: str = ""
    priority: str = "normal"
    single_use: bool = False
    typ: str = ""
    call: str = ""  # a guest's one call
    party: str = ""  # a guest's part in it (interpreter, carer, clinician)

    @property
    def queue(self) -> str:
        return self.queues[0] if self.queues else ""

    def public(self) -> dict[str, Any]:
        """What the page may know about its own session (no ids, no token)."""
        extra: dict[str, Any] = {"party": self.party} if self.role == "guest" else {}
        return {
            **extra,
            "role": self.role,
            "name": self.name,
            "queue": self.queue,
            "queues": list(self.queues),
            "languages": list(self.languages),
            "reason": self.reason,
            "expires_at": self.exp,
        }


def session_for(claims: Claims, sid: str | None = None) -> Session:
    """A session for verified claims (patients and guests get a fresh id: whoever else
    opens the same link is someone else, and a single-use link admits only the first)."""
    fresh = {"patient": "p_", "guest": "g_"}
    participant = new_id(fresh[claims.role]) if claims.role in fresh else claims.sub
    return Session(
        sid=sid or secrets.token_urlsafe(32),
        role=claims.role,
        participant=participant,
        jti=claims.jti,
        exp=min(claims.exp, int(time.time()) + SESSION_MAX_TTL),
        name=claims.name,
        queues=claims.queues,
        languages=claims.languages,
        reason=claims.reason,
        priority=claims.priority,
        single_use=claims.single_use,
        typ=claims.typ,
        call=claims.call,
        party=claims.party,
    )


class SessionStore:
    """Sessions in Redis, keyed by a random id; indexed by token for revocation."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def save(self, session: Session) -> None:
        ttl = max(1, session.exp - int(time.time()))
        record: dict[Any, Any] = {
            "role": session.role,
            "participant": session.participant,
            "jti": session.jti,
            "exp": session.exp,
            "name": session.name,
            "queues": ",".join(session.queues),
            "languages": ",".join(session.languages),
            "reason": session.reason,
            "priority": session.priority,
            "single_use": "1" if session.single_use else "0",
            "typ": session.typ,
            "call": session.call,
            "party": session.party,
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.session(session.sid), mapping=record)
            pipe.expire(self._keys.session(session.sid), ttl)
            pipe.sadd(self._keys.token_sessions(session.jti), session.sid)
            pipe.expire(self._keys.token_sessions(session.jti), ttl)
            await pipe.execute()

    async def load(self, sid: str) -> Session:
        if not sid or len(sid) > 100:
            raise Unauthorized("no session")
        record: dict[str, str] = await self._redis.hgetall(self._keys.session(sid))  # type: ignore[assignment]
        if not record:
            raise Unauthorized("your session has ended; open your link again", code="no_session")
        return Session(
            sid=sid,
            role=record["role"],  # type: ignore[arg-type]
            participant=record["participant"],
            jti=record["jti"],
            exp=int(record["exp"]),
            name=record.get("name", ""),
            queues=tuple(q for q in record.get("queues", "").split(",") if q),
            languages=tuple(q for q in record.get("languages", "").split(",") if q),
            reason=record.get("reason", ""),
            priority=record.get("priority", "normal"),
            single_use=record.get("single_use") == "1",
            typ=record.get("typ", ""),
            call=record.get("call", ""),
            party=record.get("party", ""),
        )

    async def delete(self, session: Session) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.session(session.sid))
            pipe.srem(self._keys.token_sessions(session.jti), session.sid)
            await pipe.execute()

    async def end_for_token(self, jti: str) -> int:
        """Delete every session made from a token (revocation does this too)."""
        return await end_sessions_of_token(self._redis, self._keys, jti)


# The app's key for this service (set at start-up by server/app.py).
SESSIONS = web.AppKey("sessions", SessionStore)
