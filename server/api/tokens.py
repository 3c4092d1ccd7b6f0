"""Admin REST API for tokens: issue, list, revoke (``/api/v1/tokens``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server import appkeys
from server.api.body import integer, json_object, names, text
from server.auth.bearer import require_role
from server.auth.tokens import MAX_TOKEN_TTL, IssuedToken, TokenRequest
from server.errors import BadRequest
from server.settings import Settings

ADMIN_REQUESTS_PER_MINUTE = 240
_FIELDS = {
    "type",
    "name",
    "label",
    "queues",
    "queue",
    "languages",
    "reason",
    "priority",
    "ttl",
    "valid_from",
}
PAGE_OF_TYPE = {"admin": "/admin", "agent": "/agent", "invite": "/p", "desk": "/p"}


def link_for(settings: Settings, issued: IssuedToken) -> str:
    """The page link of a token; the token rides in the fragment, never the query."""
    return f"{settings.public_url}{PAGE_OF_TYPE[issued.claims.typ]}#token={issued.token}"


def token_request(settings: Settings, body: dict[str, Any]) -> TokenRequest:
    """Validate an issue request against the desk's queues and languages."""
    typ = body.get("type")
    if typ not in ("admin", "agent", "invite", "desk"):
        raise BadRequest("type must be admin, agent, invite or desk")
    queues = names(body, "queues")
    if "queue" in body:
        queues = (text(body, "queue", limit=32),)
    known = {q.name for q in settings.queues}
    for queue in queues:
        if queue not in known:
            raise BadRequest(f"unknown queue: {queue}", code="unknown_queue")
    languages = names(body, "languages")
    spoken = {lang for q in settings.queues for lang in q.languages}
    for language in languages:
        if language not in spoken:
            raise BadRequest(f"no queue is served in language {language}", code="unknown_language")
    if typ == "agent" and not queues:
        queues = tuple(sorted(known))
    if typ in ("invite", "desk") and len(queues) != 1:
        raise BadRequest("a patient link needs exactly one queue", code="unknown_queue")
    if typ in ("admin",) and queues:
        raise BadRequest("admin tokens are not scoped to queues")
    return TokenRequest(
        typ=typ,
        name=text(body, "name", limit=80),
        label=text(body, "label", limit=80),
        queues=queues,
        languages=languages,
        reason=text(body, "reason", limit=500),
        priority=text(body, "priority", limit=10, default="normal") or "normal",
        ttl=integer(body, "ttl", low=60, high=MAX_TOKEN_TTL),
        not_before=integer(body, "valid_from", low=0, high=2**40),
    )


def issued_body(settings: Settings, issued: IssuedToken) -> dict[str, Any]:
    claims = issued.claims
    body: dict[str, Any] = {
        "jti": claims.jti,
        "type": claims.typ,
        "role": claims.role,
        "subject": claims.sub,
        "label": issued.label,
        "queues": list(claims.queues),
        "issued_at": claims.iat,
        "expires_at": claims.exp,
        "token": issued.token,
        "link": link_for(settings, issued),
    }
    return body


async def require_admin(request: web.Request) -> None:
    """The request must carry an admin bearer token (rate limited per admin)."""
    claims = await require_role(request, "admin")
    await request.app[appkeys.RATE_LIMITER].hit(f"admin:{claims.sub}", ADMIN_REQUESTS_PER_MINUTE)


async def issue_token(request: web.Request) -> web.Response:
    await require_admin(request)
    settings = request.app[appkeys.SETTINGS]
    body = await json_object(request, _FIELDS)
    issued = await request.app[appkeys.TOKENS].issue(token_request(settings, body))
    return web.json_response(issued_body(settings, issued), status=201)


async def list_tokens(request: web.Request) -> web.Response:
    await require_admin(request)
    return web.json_response({"tokens": await request.app[appkeys.TOKENS].list()})


async def revoke_token(request: web.Request) -> web.Response:
    await require_admin(request)
    jti = request.match_info["jti"]
    known = await request.app[appkeys.TOKENS].revoke(jti)
    return web.json_response({"jti": jti, "revoked": True, "known": known})


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/tokens", issue_token)
    app.router.add_get("/api/v1/tokens", list_tokens)
    app.router.add_delete("/api/v1/tokens/{jti}", revoke_token)
