"""``/api/v1/webhooks`` (admin bearer token): register, list and remove webhook endpoints,
and see each one's deliveries and their attempts (docs/records.md, "Webhooks")."""

from __future__ import annotations

from urllib.parse import urlsplit

import msgspec
from aiohttp import web

from server.api.body import (
    Delivery,
    DeliveryList,
    WebhookInfo,
    WebhookList,
    WebhookRequest,
    read,
)
from server.api.tokens import require_admin
from server.core import appkeys
from server.core.audit import audit
from server.core.errors import BadRequest, NotFound
from server.records.service import RECORDS, answering_unavailable
from server.records.webhooks import (
    Endpoint,
    add_webhook,
    deliveries_of,
    list_webhooks,
    remove_webhook,
    webhook_exists,
)


def info(endpoint: Endpoint, **more: object) -> WebhookInfo:
    return WebhookInfo(id=endpoint.id, url=endpoint.url, events=list(endpoint.events),
                       created_at=endpoint.created_at, created_by=endpoint.created_by,
                       **more)  # type: ignore[arg-type]  # fmt: skip


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("url must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise BadRequest("url must not carry a user or password (the signature proves the sender)")


async def add(request: web.Request) -> web.Response:
    claims = await require_admin(request)
    body = await read(request, WebhookRequest)
    check_url(body.url)
    with answering_unavailable():
        endpoint, secret = await add_webhook(
            request.app[RECORDS].engine, body.url, body.events, claims.sub
        )
    await audit(request.app[appkeys.REDIS], request.app[appkeys.KEYS], "webhook_added",
                by=claims.sub, webhook=endpoint.id, events=",".join(endpoint.events))  # fmt: skip
    return web.json_response(msgspec.to_builtins(info(endpoint, secret=secret)), status=201)


async def listing(request: web.Request) -> web.Response:
    await require_admin(request)
    with answering_unavailable():
        found = await list_webhooks(request.app[RECORDS].engine)
    answer = WebhookList(webhooks=[info(e, deliveries=counts) for e, counts in found])
    return web.json_response(msgspec.to_builtins(answer))


async def remove(request: web.Request) -> web.Response:
    claims = await require_admin(request)
    webhook_id = request.match_info["id"][:40]
    with answering_unavailable():
        removed = await remove_webhook(request.app[RECORDS].engine, webhook_id)
    if not removed:
        raise NotFound("no such webhook")
    await audit(request.app[appkeys.REDIS], request.app[appkeys.KEYS], "webhook_removed",
                by=claims.sub, webhook=webhook_id)  # fmt: skip
    return web.json_response({"removed": webhook_id})


async def deliveries(request: web.Request) -> web.Response:
    await require_admin(request)
    webhook_id = request.match_info["id"][:40]
    engine = request.app[RECORDS].engine
    with answering_unavailable():
        known = await webhook_exists(engine, webhook_id)
        rows = await deliveries_of(engine, webhook_id) if known else []
    if not known:
        raise NotFound("no such webhook")
    answer = DeliveryList(deliveries=[msgspec.convert(r, Delivery) for r in rows])
    return web.json_response(msgspec.to_builtins(answer))


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/webhooks", add)
    app.router.add_get("/api/v1/webhooks", listing)
    app.router.add_delete("/api/v1/webhooks/{id}", remove)
    app.router.add_get("/api/v1/webhooks/{id}/deliveries", deliveries)
