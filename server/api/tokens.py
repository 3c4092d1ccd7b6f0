"""Admin REST API for tokens: issue, list, revoke (``/api/v1/tokens``)."""

from __future__ import annotations

from typing import Any, cast

from aiohttp import web

from server.api.body import Revoked, TokenInfo, TokenType, UnsetType, builtins, read
from server.api.body import TokenRequest as TokenBody
from server.auth.bearer import require_role
from server.auth.tokens import TOKENS, Claims, IssuedToken, TokenRequest
from server.core import appkeys
from server.core.errors import BadRequest
from server.core.settings import Settings

ADMIN_REQUESTS_PER_MINUTE = 240
PAGE_OF_TYPE = {
    "admin": "/admin",
    "supervisor": "/admin",  # the console, with only what a supervisor may use
    "agent": "/agent",
    "invite": "/p",
    "desk": "/p",
}


def link_for(settings: Settings, issued: IssuedToken) -> str:
    """The page link of a token; the token rides in the fragment, never the query."""
    return f"{settings.public_url}{PAGE_OF_TYPE[issued.claims.typ]}#token={issued.token}"


def token_request(settings: Settings, body: TokenBody) -> TokenRequest:
    """Check an issue request against the desk's queues and languages."""
    typ = body.type
    queues = body.queues if isinstance(body.queue, UnsetType) else (body.queue,)
    known = {q.name for q in settings.queues}
    for queue in queues:
        if queue not in known:
            raise BadRequest(f"unknown queue: {queue}", code="unknown_queue")
    spoken = {lang for q in settings.queues for lang in q.languages}
    for language in body.languages:
        if language not in spoken:
            raise BadRequest(f"no queue is served in language {language}", code="unknown_language")
    if typ in ("agent", "supervisor") and not queues:
        queues = tuple(sorted(known))
    if typ in ("invite", "desk") and len(queues) != 1:
        raise BadRequest("a patient link needs exactly one queue", code="unknown_queue")
    if typ in ("admin",) and queues:
        raise BadRequest("admin tokens are not scoped to queues")
    return TokenRequest(
        typ=typ,
        name=body.name,
        label=body.label,
        queues=queues,
        languages=body.languages,
        reason=body.reason,
        priority=body.priority or "normal",
        ttl=body.ttl,
        not_before=body.valid_from,
    )


def issued_body(settings: Settings, issued: IssuedToken) -> dict[str, Any]:
    claims = issued.claims
    info = TokenInfo(
        jti=claims.jti,
        type=cast(TokenType, claims.typ),  # as the request asked (Claims keep a str)
        role=claims.role,
        subject=claims.sub,
        label=issued.label,
        queues=list(claims.queues),
        issued_at=claims.iat,
        expires_at=claims.exp,
        token=issued.token,
        link=link_for(settings, issued),
    )
    return builtins(info)


async def require_admin(request: web.Request) -> Claims:
    """The request must carry an admin bearer token (rate limited per admin); its claims."""
    claims = await require_role(request, "admin")
    await request.app[appkeys.RATE_LIMITER].hit(f"admin:{claims.sub}", ADMIN_REQUESTS_PER_MINUTE)
    return claims


async def issue_token(request: web.Request) -> web.Response:
    claims = await require_admin(request)
    settings = request.app[appkeys.SETTINGS]
    body = await read(request, TokenBody)
    issued = await request.app[TOKENS].issue(token_request(settings, body), by=claims.sub)
    return web.json_response(issued_body(settings, issued), status=201)


async def list_tokens(request: web.Request) -> web.Response:
    await require_admin(request)
    return web.json_response({"tokens": await request.app[TOKENS].list()})


async def revoke_token(request: web.Request) -> web.Response:
    claims = await require_admin(request)
    jti = request.match_info["jti"]
    known = await request.app[TOKENS].revoke(jti, by=claims.sub)
    return web.json_response(builtins(Revoked(jti=jti, revoked=True, known=known)))


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/tokens", issue_token)
    app.router.add_get("/api/v1/tokens", list_tokens)
    app.router.add_delete("/api/v1/tokens/{jti}", revoke_token)
