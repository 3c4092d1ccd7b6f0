"""Session tokens (JWT): issue, verify, revoke, list.

The token rules of docs/security.md ("Tokens"):

* the algorithm comes from the local key table selected by ``kid``, never from
  the token; ``alg: none``, unknown kids, ``crit`` extensions and key-confusion
  attempts are all a plain 401;
* exp, iat, iss, aud, sub and jti are required; each role has its own audience
  and our own ``typ`` claim says which kind of token it is;
* a revoked token's jti sits in a Redis denylist until the token would expire;
* a single-use invite is consumed atomically (SET NX) by the first patient
  session that joins the queue with it, not when the link is opened.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jwt
from aiohttp import web
from redis.asyncio import Redis

from server.auth.keyring import Keyring
from server.core.audit import audit
from server.core.errors import BadRequest, NotFound, Unauthorized
from server.core.redis_keys import Keys
from signaling.text import text_problem

log = logging.getLogger(__name__)

Role = Literal["admin", "agent", "patient", "guest", "supervisor"]
ROLES: tuple[Role, ...] = ("admin", "agent", "patient", "guest", "supervisor")
LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]

# Which token types each role's audience admits.
TYPES_BY_ROLE: dict[Role, frozenset[str]] = {
    "admin": frozenset({"admin"}),
    "agent": frozenset({"agent"}),
    "patient": frozenset({"invite", "desk"}),
    "guest": frozenset({"guest"}),
    # Watches the live dashboard of its queues and monitors, whispers into or barges into
    # their calls (server/ws/supervisor.py); nothing of the admin API.
    "supervisor": frozenset({"supervisor"}),
}
# Who an agent may bring into a call with a guest link (docs/protocol.md, "Guests").
GUEST_PARTIES = ("interpreter", "carer", "clinician")
DEFAULT_TTL: dict[str, int] = {
    "admin": 12 * 3600,
    "agent": 12 * 3600,
    "supervisor": 12 * 3600,
    "invite": 24 * 3600,
    "desk": 90 * 24 * 3600,
    # A guest link is good for one call and only while it lasts (server/ws/guest.py
    # checks that at every join); the token itself lapses after this.
    "guest": 4 * 3600,
}
MAX_TOKEN_TTL = 366 * 24 * 3600
TOKEN_ENTRY_GRACE = 7 * 24 * 3600  # a token's list entry outlives it, so it can still be revoked
PRIORITIES = ("normal", "urgent")
SINGLE_USE = frozenset({"invite", "guest"})  # consumed by the first session that joins
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def audience(issuer: str, role: Role) -> str:
    return f"{issuer}:{role}"


def new_id(prefix: str) -> str:
    """A random opaque id (never derived from a name)."""
    return f"{prefix}{secrets.token_urlsafe(12)}"


@dataclass(frozen=True, slots=True)
class Claims:
    """The verified content of a token, typed."""

    role: Role
    typ: str
    sub: str
    jti: str
    iat: int
    exp: int
    name: str = ""
    queues: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    reason: str = ""
    priority: str = "normal"
    single_use: bool = False
    call: str = ""  # a guest token's one call
    party: str = ""  # a guest's part in it: interpreter, carer or clinician

    @property
    def queue(self) -> str:
        """The one queue of a patient token (invite or desk link)."""
        return self.queues[0] if self.queues else ""


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """What an admin asks for when issuing a token."""

    typ: Literal["admin", "agent", "invite", "desk", "guest", "supervisor"]
    name: str = ""
    queues: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    reason: str = ""
    priority: str = "normal"
    ttl: int | None = None
    not_before: int | None = None
    subject: str | None = None
    label: str = ""
    call: str = ""
    party: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def role(self) -> Role:
        roles = {"admin": "admin", "agent": "agent", "guest": "guest", "supervisor": "supervisor"}
        return roles.get(self.typ, "patient")  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    claims: Claims
    label: str


class TokenService:
    """Issues and verifies the desk's tokens; keeps the denylist and the token list in Redis."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        keyring: Keyring,
        issuer: str,
        *,
        revocation_file: Path | None = None,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._keyring = keyring
        self._issuer = issuer
        # Embedded mode only: the in-process store forgets on restart but the
        # signing secret does not, so revocations are also kept in this file.
        self._revocation_file = revocation_file

    # -- issuing --------------------------------------------------------------
    def mint(self, request: TokenRequest, *, now: int | None = None) -> IssuedToken:
        """Sign a token (no I/O). :meth:`issue` also records it in the token list."""
        now = int(time.time()) if now is None else now
        ttl = request.ttl if request.ttl is not None else DEFAULT_TTL[request.typ]
        if not 60 <= ttl <= MAX_TOKEN_TTL:
            raise BadRequest(f"ttl must be between 60 and {MAX_TOKEN_TTL} seconds")
        if request.priority not in PRIORITIES:
            raise BadRequest("priority must be normal or urgent")
        role = request.role
        if role == "guest" and (not request.call or request.party not in GUEST_PARTIES):
            raise BadRequest("a guest link names its call and the guest's part in it")
        prefix = {"admin": "u_", "agent": "a_", "patient": "i_", "guest": "g_", "supervisor": "s_"}[
            role
        ]
        claims = Claims(
            role=role,
            typ=request.typ,
            sub=request.subject or new_id(prefix),
            # Hex: a jti is typed on command lines, where one starting with "-" reads as
            # an option (a flaky CLI test found it: 1 token in 64 did).
            jti=secrets.token_hex(16),
            iat=now,
            exp=now + ttl,
            name=request.name,
            queues=request.queues,
            languages=request.languages,
            reason=request.reason,
            priority=request.priority,
            single_use=request.typ in SINGLE_USE,
            call=request.call if role == "guest" else "",
            party=request.party if role == "guest" else "",
        )
        payload: dict[str, Any] = {
            "iss": self._issuer,
            "aud": audience(self._issuer, role),
            "sub": claims.sub,
            "jti": claims.jti,
            "iat": claims.iat,
            "exp": claims.exp,
            "typ": claims.typ,
        }
        if request.not_before is not None:
            payload["nbf"] = request.not_before
        for claim, value in (
            ("name", claims.name),
            ("queues", list(claims.queues)),
            ("languages", list(claims.languages)),
            ("reason", claims.reason),
            ("call", claims.call),
            ("party", claims.party),
        ):
            if value:
                payload[claim] = value
        if claims.priority != "normal":
            payload["priority"] = claims.priority
        if claims.single_use:
            payload["single_use"] = True
        key = self._keyring.current
        token = jwt.encode(
            payload, key.secret, algorithm=key.algorithm, headers={"kid": key.kid, "typ": "JWT"}
        )
        return IssuedToken(token=token, claims=claims, label=request.label or request.name)

    async def issue(self, request: TokenRequest, *, by: str = "system") -> IssuedToken:
        """Mint a token and record it (without the token itself) in the token list;
        ``by``: who asked (an admin's subject, "command line"), for the audit trail."""
        issued = self.mint(request)
        await self.record(issued, by=by)
        return issued

    async def record(self, issued: IssuedToken, *, by: str = "system") -> None:
        claims = issued.claims
        ttl = max(1, claims.exp - int(time.time())) + TOKEN_ENTRY_GRACE
        entry: dict[Any, Any] = {
            "jti": claims.jti,
            "role": claims.role,
            "typ": claims.typ,
            "sub": claims.sub,
            "label": issued.label,
            "queues": ",".join(claims.queues),
            "iat": str(claims.iat),
            "exp": str(claims.exp),
            "revoked": "0",
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.token(claims.jti), mapping=entry)
            pipe.expire(self._keys.token(claims.jti), ttl)
            pipe.zadd(self._keys.tokens, {claims.jti: claims.exp})
            # Expired links stay listed (as expired) as long as their entries last.
            pipe.zremrangebyscore(self._keys.tokens, "-inf", int(time.time()) - TOKEN_ENTRY_GRACE)
            await pipe.execute()
        await audit(self._redis, self._keys, "token_issued", jti=claims.jti, typ=claims.typ, by=by)
        log.info("token issued jti=%s typ=%s", claims.jti, claims.typ)

    # -- verifying ------------------------------------------------------------
    def decode(self, token: str, role: Role) -> Claims:
        """Verify signature and claims of a token for ``role`` (no I/O; no denylist check)."""
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise Unauthorized("missing or malformed token")
        if not _COMPACT_JWS.fullmatch(token):
            # Three base64url parts, nothing else: a lone surrogate or any non-ASCII
            # character would make pyjwt raise UnicodeEncodeError, not a PyJWTError.
            raise Unauthorized("malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError):
            raise Unauthorized("malformed token") from None
        if "crit" in header:
            # We understand no JWS extensions: a critical one must be refused (RFC 7515 §4.1.11).
            raise Unauthorized("token uses an unsupported critical header")
        key = self._keyring.lookup(header.get("kid"))
        if key is None:
            raise Unauthorized("token was not signed by this desk")
        if header.get("alg") != key.algorithm:
            raise Unauthorized("token algorithm does not match its key")
        try:
            payload = jwt.decode(
                token,
                key.secret,
                algorithms=[key.algorithm],
                audience=audience(self._issuer, role),
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS, "strict_aud": True},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token has expired", code="token_expired") from None
        except (jwt.PyJWTError, ValueError):
            # PyJWTError covers InvalidKeyError too, which pyjwt raises (not
            # InvalidTokenError) in some key-confusion cases (docs/security.md, "Tokens").
            raise Unauthorized("token is not valid here") from None
        return _claims_from(payload, role)

    async def verify(self, token: str, role: Role) -> Claims:
        """Verify a token for ``role`` and check it has not been revoked."""
        claims = self.decode(token, role)
        if await self._redis.exists(self._keys.revoked(claims.jti)):
            raise Unauthorized("token has been revoked", code="token_revoked")
        return claims

    async def is_revoked(self, jti: str) -> bool:
        return bool(await self._redis.exists(self._keys.revoked(jti)))

    # -- revoking and listing -------------------------------------------------
    async def revoke(
        self, jti: str, *, exp: int | None = None, unknown_ok: bool = False, by: str = "system"
    ) -> bool:
        """Deny a token until it would have expired. Returns False if the jti is unknown.

        A jti the desk never issued is a :class:`NotFound` (nothing is written), unless
        ``unknown_ok``: the command line, which holds the signing secret, may deny a token
        minted offline, for ``exp`` or the longest token lifetime. A known token can be
        revoked after it expired (its entry is kept for a week past expiry).

        Every process closes the token's sockets and removes its patients from the
        queue (or ends their call) when it reads the broadcast.
        """
        if not jti or len(jti) > 64 or text_problem(jti) is not None:
            raise BadRequest("not a token id")
        entry_key = self._keys.token(jti)
        stored_exp = await self._redis.hget(entry_key, "exp")
        known = stored_exp is not None
        if not known and not unknown_ok:
            raise NotFound("This desk never issued a token with that id.", code="unknown_token")
        patients = await self._patients_of(jti)
        expiry = (
            int(stored_exp) if stored_exp is not None else (exp or int(time.time()) + MAX_TOKEN_TTL)
        )
        ttl = max(1, expiry - int(time.time()) + LEEWAY_SECONDS)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.revoked(jti), "1", ex=ttl)
            if known:
                pipe.hset(entry_key, mapping={"revoked": "1", "revoked_at": str(int(time.time()))})
            # Every process reads the broadcast stream (signaling/relay.py's format)
            # and closes this token's sockets.
            pipe.xadd(
                self._keys.broadcast,
                {"msg": json.dumps({"kind": "revoke", "jti": jti, "patients": patients})},
                maxlen=1000,
                approximate=True,
            )
            await pipe.execute()
        await end_sessions_of_token(self._redis, self._keys, jti)
        await audit(self._redis, self._keys, "token_revoked", jti=jti, by=by)
        if self._revocation_file is not None:
            with self._revocation_file.open("a", encoding="ascii") as handle:
                handle.write(f"{jti} {expiry + LEEWAY_SECONDS}\n")
        log.info("token revoked jti=%s known=%s", jti, known)
        return known

    async def _patients_of(self, jti: str) -> list[str]:
        """The patients who joined with a token: its browser sessions' patients and the
        patient a single-use invite was bound to on join."""
        sids: set[str] = await self._redis.smembers(self._keys.token_sessions(jti))  # type: ignore[assignment]
        async with self._redis.pipeline(transaction=False) as pipe:
            for sid in sorted(sids):
                pipe.hmget(self._keys.session(sid), ["role", "participant"])
            pipe.get(self._keys.invite_used(jti))
            *rows, owner = await pipe.execute()
        patients = {participant for role, participant in rows if role == "patient" and participant}
        if owner:
            patients.add(owner)
        return sorted(patients)

    async def load_revocations(self) -> int:
        """Embedded mode: put the revocations kept on disk back into the denylist."""
        path = self._revocation_file
        if path is None or not path.exists():
            return 0
        now = int(time.time())
        loaded = 0
        for line in path.read_text(encoding="ascii", errors="replace").splitlines():
            jti, _, until = line.partition(" ")
            if until.isdigit() and int(until) > now and 0 < len(jti) <= 64:
                await self._redis.set(self._keys.revoked(jti), "1", ex=int(until) - now)
                loaded += 1
        return loaded

    async def list(self) -> list[dict[str, Any]]:
        """Every issued token, newest first, without any secret: unexpired ones and those
        expired within the last week, each with its status."""
        now = int(time.time())
        jtis: list[str] = await self._redis.zrangebyscore(  # type: ignore[assignment]
            self._keys.tokens, now - TOKEN_ENTRY_GRACE, "+inf"
        )
        if not jtis:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for jti in jtis:
                pipe.hgetall(self._keys.token(jti))
            entries: list[dict[str, str]] = await pipe.execute()
        tokens = [_public_entry(entry) for entry in entries if entry]
        tokens.sort(key=lambda t: t["issued_at"], reverse=True)
        return tokens

    async def describe(self, jti: str) -> dict[str, Any]:
        entry: dict[str, str] = await self._redis.hgetall(self._keys.token(jti))  # type: ignore[assignment]
        if not entry:
            raise NotFound("no such token")
        return _public_entry(entry)

    # -- single-use invites ---------------------------------------------------
    async def invite_used(self, jti: str) -> bool:
        """Whether a single-use invite has been consumed (by any patient)."""
        return bool(await self._redis.exists(self._keys.invite_used(jti)))

    async def consume_invite(self, jti: str, exp: int, owner: str) -> bool:
        """Bind a single-use invite to ``owner`` (a patient id). True if ``owner`` holds it.

        SET NX makes two parallel joins with one invite race safely: exactly one
        owner is written, and the same owner may join again (a page refresh).
        """
        key = self._keys.invite_used(jti)
        ttl = max(1, exp - int(time.time()) + LEEWAY_SECONDS)
        if await self._redis.set(key, owner, nx=True, ex=ttl):
            entry = self._keys.token(jti)
            if await self._redis.exists(entry):  # for the admin's list: used, and when
                await self._redis.hset(entry, "used_at", str(int(time.time())))
            return True
        return bool(await self._redis.get(key) == owner)


async def end_sessions_of_token(redis: Redis, keys: Keys, jti: str) -> int:
    """Delete every browser session made from a token (its sockets close on the broadcast)."""
    sids: set[str] = await redis.smembers(keys.token_sessions(jti))  # type: ignore[assignment]
    async with redis.pipeline(transaction=True) as pipe:
        for sid in sids:
            pipe.delete(keys.session(sid))
        pipe.delete(keys.token_sessions(jti))
        await pipe.execute()
    return len(sids)


def _status(entry: dict[str, str], now: int) -> str:
    if entry.get("revoked") == "1":
        return "revoked"
    if entry.get("used_at"):
        return "used"
    return "expired" if int(entry.get("exp", "0")) <= now else "active"


def _stamp(entry: dict[str, str], name: str) -> int | None:
    value = entry.get(name, "")
    return int(value) if value.isdigit() else None


def _public_entry(entry: dict[str, str]) -> dict[str, Any]:
    return {
        "status": _status(entry, int(time.time())),
        "used_at": _stamp(entry, "used_at"),
        "revoked_at": _stamp(entry, "revoked_at"),
        "jti": entry.get("jti", ""),
        "role": entry.get("role", ""),
        "type": entry.get("typ", ""),
        "subject": entry.get("sub", ""),
        "label": entry.get("label", ""),
        "queues": [q for q in entry.get("queues", "").split(",") if q],
        "issued_at": int(entry.get("iat", "0")),
        "expires_at": int(entry.get("exp", "0")),
        "revoked": entry.get("revoked") == "1",
    }


def _str_claim(payload: dict[str, Any], name: str, limit: int, default: str = "") -> str:
    value = payload.get(name, default)
    if not isinstance(value, str) or len(value) > limit:
        raise Unauthorized(f"token claim {name} is not valid")
    return value


def _list_claim(payload: dict[str, Any], name: str) -> tuple[str, ...]:
    value = payload.get(name, [])
    if not isinstance(value, list) or len(value) > 32:
        raise Unauthorized(f"token claim {name} is not valid")
    if not all(isinstance(item, str) and 0 < len(item) <= 32 for item in value):
        raise Unauthorized(f"token claim {name} is not valid")
    return tuple(value)


def _claims_from(payload: dict[str, Any], role: Role) -> Claims:
    typ = payload.get("typ")
    if not isinstance(typ, str) or typ not in TYPES_BY_ROLE[role]:
        raise Unauthorized("token is not valid here")
    for name in ("iat", "exp"):
        if not isinstance(payload[name], int):
            raise Unauthorized(f"token claim {name} is not valid")
    single_use = payload.get("single_use", False)
    if not isinstance(single_use, bool) or (typ in SINGLE_USE) != single_use:
        raise Unauthorized("token claim single_use is not valid")
    claims = Claims(
        role=role,
        typ=typ,
        sub=_str_claim(payload, "sub", 64),
        jti=_str_claim(payload, "jti", 64),
        iat=payload["iat"],
        exp=payload["exp"],
        name=_str_claim(payload, "name", 80),
        queues=_list_claim(payload, "queues"),
        languages=_list_claim(payload, "languages"),
        reason=_str_claim(payload, "reason", 500),
        priority=_str_claim(payload, "priority", 10, "normal"),
        single_use=single_use,
        call=_str_claim(payload, "call", 64),
        party=_str_claim(payload, "party", 16),
    )
    if role == "guest" and (not claims.call or claims.party not in GUEST_PARTIES):
        raise Unauthorized("token is not valid here")
    if not claims.sub or not claims.jti or claims.priority not in PRIORITIES:
        raise Unauthorized("token is not valid here")
    if role == "patient" and len(claims.queues) != 1:
        raise Unauthorized("patient token must name exactly one queue")
    return claims


# The app's key for this service (set at start-up by server/app.py).
TOKENS = web.AppKey("tokens", TokenService)
