"""Liveness and readiness: ``/healthz`` while the process runs, ``/readyz`` when it can serve."""

from __future__ import annotations

import asyncio

from aiohttp import web

from server.core import appkeys
from server.core.store import ping, writable
from server.http.middleware import json_error

READY_TIMEOUT = 1.0


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    if request.app[appkeys.LIFECYCLE].draining:
        return json_error(503, "draining", "This server is shutting down; use another one.")
    redis = request.app[appkeys.REDIS]
    try:
        ok = await asyncio.wait_for(ping(redis), READY_TIMEOUT)
        problem = (
            None
            if not ok
            else await asyncio.wait_for(
                writable(redis, request.app[appkeys.KEYS].ready_probe), READY_TIMEOUT
            )
        )
    except TimeoutError:
        ok, problem = False, None
    if not ok:
        return json_error(503, "redis_unavailable", "Redis does not answer.")
    if problem == "redis_read_only":
        return json_error(503, problem, "Redis answers but refuses writes (a replica).")
    if problem is not None:
        return json_error(503, problem, "Redis does not take writes.")
    return web.json_response({"status": "ready"})


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
