"""``GET /api/v1/dashboard``: the supervisor's live view (admin bearer token)."""

from __future__ import annotations

from aiohttp import web

from server.api.tokens import ADMIN_REQUESTS_PER_MINUTE, require_admin
from server.auth.bearer import require_role
from server.auth.tokens import TOKENS, Claims
from server.core import appkeys
from server.core.errors import BadRequest, Unauthorized
from server.observability.dashboard import scoped, snapshot
from server.observability.history import history
from server.records.service import RECORDS, answering_unavailable
from server.ws.desk import DESK


async def dashboard(request: web.Request) -> web.Response:
    """The admin's whole dashboard, or a supervisor's (its queues only)."""
    claims = await require_watcher(request)
    view = await snapshot(request.app[DESK].engine)
    if claims.role == "supervisor":
        view = scoped(view, claims.queues)
    return web.json_response(view)


async def require_watcher(request: web.Request) -> Claims:
    """An admin's or a supervisor's bearer token (rate limited as the admin API)."""
    if _for_supervisors(request):
        claims = await require_role(request, "supervisor")
        limiter = request.app[appkeys.RATE_LIMITER]
        await limiter.hit(f"supervisor:{claims.sub}", ADMIN_REQUESTS_PER_MINUTE)
        return claims
    return await require_admin(request)


def _for_supervisors(request: web.Request) -> bool:
    """Whether the bearer token is a supervisor's (signature and claims only: the
    denylist and the failure budget are require_role's)."""
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    try:
        request.app[TOKENS].decode(token, "supervisor")
    except Unauthorized:
        return False
    return True


async def dashboard_history(request: web.Request) -> web.Response:
    await require_admin(request)
    try:
        hours = float(request.query.get("hours", "6"))
    except ValueError:
        raise BadRequest("hours must be a number") from None
    if not 0 < hours <= 48:
        raise BadRequest("hours must be between 0 and 48")
    engine = request.app[DESK].engine
    records = request.app[RECORDS].engine
    with answering_unavailable():
        view = await history(engine.redis, engine.keys, records, list(engine.queues), hours)
    return web.json_response(view)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/dashboard", dashboard)
    app.router.add_get("/api/v1/dashboard/history", dashboard_history)
