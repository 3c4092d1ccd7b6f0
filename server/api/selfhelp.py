"""Self-help articles over HTTP: list, read, search (public: no personal data involved).

Search takes its query in a POST body, never in the URL: a patient may type
something personal into a search box, and URLs end up in logs and histories.
"""

from __future__ import annotations

from aiohttp import web

from server import appkeys
from server.api.body import json_object, text
from server.auth.bearer import client_address
from server.errors import NotFound

SEARCHES_PER_MINUTE = 60


async def list_articles(request: web.Request) -> web.Response:
    index = request.app[appkeys.DESK].help
    return web.json_response({"articles": [a.public() for a in index.articles]})


async def read_article(request: web.Request) -> web.Response:
    article = request.app[appkeys.DESK].help.get(request.match_info["slug"])
    if article is None:
        raise NotFound("There is no such article.", code="unknown_article")
    return web.json_response({**article.public(), "html": article.html})


async def search(request: web.Request) -> web.Response:
    limiter = request.app[appkeys.RATE_LIMITER]
    await limiter.hit(limiter.address_bucket("help", client_address(request)), SEARCHES_PER_MINUTE)
    body = await json_object(request, {"q"})
    query = text(body, "q", limit=500)
    hits = request.app[appkeys.DESK].help.search(query, limit=10, minimum=0.1)
    return web.json_response(
        {"articles": [{**h.article.public(), "score": round(h.score, 2)} for h in hits]}
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/help/articles", list_articles)
    app.router.add_get("/api/v1/help/articles/{slug}", read_article)
    app.router.add_post("/api/v1/help/search", search)
