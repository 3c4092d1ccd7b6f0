"""``GET /api/v1/reports/{sessions|events}?from=YYYY-MM-DD&to=YYYY-MM-DD&format=csv|json``
(admin bearer token): read from the records database and streamed."""

from __future__ import annotations

from aiohttp import web

from server.api.tokens import require_admin
from server.core import appkeys
from server.core.audit import audit
from server.core.errors import BadRequest
from server.observability.reports import columns_of, csv_chunks, json_chunks, parse_when, rows_of
from server.records.service import RECORDS, answering_unavailable

MAX_RANGE_MS = 366 * 24 * 3600 * 1000


async def report(request: web.Request) -> web.StreamResponse:
    claims = await require_admin(request)
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
    await audit(request.app[appkeys.REDIS], request.app[appkeys.KEYS], "report_downloaded",
                by=claims.sub, report=kind, range_from=str(start), range_to=str(end))  # fmt: skip
    rows = rows_of(request.app[RECORDS].engine, kind, start, end)
    if fmt == "json":
        chunks = json_chunks(kind, rows)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
    else:
        chunks = csv_chunks(rows, columns_of(kind))
        response = web.StreamResponse(headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="videodesk-{kind}.csv"',
        })  # fmt: skip
    # The first chunk comes before the headers go out: a database that is down is a 503
    # with a JSON body, not a broken download.
    with answering_unavailable():
        first = await anext(chunks)
    await response.prepare(request)
    await response.write(first.encode())
    async for chunk in chunks:
        await response.write(chunk.encode())
    await response.write_eof()
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/reports/{kind}", report)
