"""``GET /api/v1/dashboard``: the supervisor's live view (admin bearer token)."""

from __future__ import annotations

from aiohttp import web

from server import appkeys
from server.api.tokens import require_admin
from server.dashboard import snapshot


async def dashboard(request: web.Request) -> web.Response:
    await require_admin(request)
    return web.json_response(await snapshot(request.app[appkeys.DESK].engine))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/dashboard", dashboard)
