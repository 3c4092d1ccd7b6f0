"""``GET /api/v1/dashboard``: the supervisor's live view (admin bearer token)."""

from __future__ import annotations

from aiohttp import web

from server.api.tokens import require_admin
from server.core.errors import BadRequest
from server.observability.dashboard import snapshot
from server.observability.history import history
from server.records.service import RECORDS, answering_unavailable
from server.ws.desk import DESK


async def dashboard(request: web.Request) -> web.Response:
    await require_admin(request)
    return web.json_response(await snapshot(request.app[DESK].engine))


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
