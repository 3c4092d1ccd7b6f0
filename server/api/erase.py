"""``DELETE /api/v1/records/visits/{id}/personal-data`` (admin bearer token): erase the
personal data of one visit's patient everywhere (server/records/erase.py); audited."""

from __future__ import annotations

from aiohttp import web

from server.api.tokens import require_admin
from server.core import appkeys
from server.core.audit import audit
from server.core.errors import NotFound
from server.records.erase import erase_visit
from server.records.service import RECORDS, answering_unavailable


async def erase(request: web.Request) -> web.Response:
    claims = await require_admin(request)
    visit = request.match_info["id"][:40]
    redis, keys = request.app[appkeys.REDIS], request.app[appkeys.KEYS]
    with answering_unavailable():
        erased = await erase_visit(request.app[RECORDS].engine, redis, keys, visit)
    if erased is None:
        raise NotFound("no such visit in the records")
    await audit(redis, keys, "personal_data_erased", by=claims.sub, visit=visit,
                patient=erased.patient)  # fmt: skip
    return web.json_response(
        {"erased": visit, "records": erased.records, "chat_logs": erased.chats}
    )


def setup(app: web.Application) -> None:
    app.router.add_delete("/api/v1/records/visits/{id}/personal-data", erase)
