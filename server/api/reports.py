"""``GET /api/v1/reports/{sessions|events}?from=YYYY-MM-DD&to=YYYY-MM-DD&format=csv|json``
(admin bearer token)."""

from __future__ import annotations

import json

from aiohttp import web

from server.api.tokens import require_admin
from server.core.errors import BadRequest
from server.observability.reports import (
    EVENT_COLUMNS,
    SESSION_COLUMNS,
    event_rows,
    events_between,
    parse_when,
    sessions_from,
    to_csv,
)
from server.ws.desk import DESK

MAX_RANGE_MS = 366 * 24 * 3600 * 1000


async def report(request: web.Request) -> web.Response:
    await require_admin(request)
    kind = request.match_info["kind"]
    if kind not in ("sessions", "events"):
        raise BadRequest("reports are sessions or events", code="not_found")
    query = request.query
    unknown = set(query) - {"from", "to", "format"}
    if unknown:
        raise BadRequest(f"unknown parameter: {sorted(unknown)[0][:40]}")
    try:
        start = parse_when(query.get("from", "1970-01-01"))
        end = parse_when(query["to"], end=True) if "to" in query else 2**53
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    if end <= start or (end - start > MAX_RANGE_MS and "to" in query):
        raise BadRequest("the range must be positive and at most a year")
    fmt = query.get("format", "json")
    if fmt not in ("json", "csv"):
        raise BadRequest("format must be json or csv")
    desk = request.app[DESK]
    events = await events_between(desk.engine.redis, desk.keys, start, end)
    rows = sessions_from(events) if kind == "sessions" else event_rows(events)
    if fmt == "json":
        return web.json_response({kind: rows}, dumps=lambda o: json.dumps(o, default=str))
    columns = SESSION_COLUMNS if kind == "sessions" else EVENT_COLUMNS
    return web.Response(
        text=to_csv(rows, columns),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="videodesk-{kind}.csv"'},
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/reports/{kind}", report)
