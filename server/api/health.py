"""Liveness and readiness: ``/healthz`` while the process runs, ``/readyz`` when it can serve."""

from __future__ import annotations

import asyncio

from aiohttp import web

from server import appkeys
from server.middleware import json_error
from server.store import ping

READY_TIMEOUT = 1.0


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    if request.app[appkeys.LIFECYCLE].draining:
        return json_error(503, "draining", "This server is shutting down; use another one.")
    try:
        ok = await asyncio.wait_for(ping(request.app[appkeys.REDIS]), READY_TIMEOUT)
    except TimeoutError:
        ok = False
    if not ok:
        return json_error(503, "redis_unavailable", "Redis does not answer.")
    return web.json_response({"status": "ready"})


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
