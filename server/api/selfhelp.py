"""Self-help articles over HTTP: list, read, search (public: no personal data involved).

Every route takes the reader's language as ``?lang=`` (one of
:data:`server.selfhelp.language.LANGUAGES`; English when absent) and answers with each
article in it, or in English where it has no version in it (``lang`` of an article says
which). Search takes its query in a POST body, never in the URL: a patient may type
something personal into a search box, and URLs end up in logs and histories.
"""

from __future__ import annotations

from aiohttp import web

from server.api.body import SearchRequest, read
from server.auth.bearer import client_address
from server.core import appkeys
from server.core.errors import BadRequest, NotFound
from server.selfhelp.language import DEFAULT_LANGUAGE, LANGUAGES, supported
from server.ws.desk import DESK

SEARCHES_PER_MINUTE = 60


def query_language(request: web.Request) -> str:
    """The ``lang`` query parameter (also read by the /help pages)."""
    values = request.query.getall("lang", [])
    if not values:
        return DEFAULT_LANGUAGE
    language = supported(values[0]) if len(values) == 1 else None
    if language is None:
        raise BadRequest(f"lang must be one of {', '.join(LANGUAGES)}", code="unknown_language")
    return language


async def list_articles(request: web.Request) -> web.Response:
    language = query_language(request)
    articles = request.app[DESK].help.articles(language)
    return web.json_response({"articles": [a.public() for a in articles]})


async def read_article(request: web.Request) -> web.Response:
    language = query_language(request)
    article = request.app[DESK].help.get(request.match_info["slug"], language)
    if article is None:
        raise NotFound("There is no such article.", code="unknown_article")
    return web.json_response({**article.public(), "html": article.html})


async def search(request: web.Request) -> web.Response:
    language = query_language(request)
    limiter = request.app[appkeys.RATE_LIMITER]
    await limiter.hit(limiter.address_bucket("help", client_address(request)), SEARCHES_PER_MINUTE)
    body = await read(request, SearchRequest)
    hits = request.app[DESK].help.search(body.q, language, limit=10, minimum=0.1)
    return web.json_response(
        {"articles": [{**h.article.public(), "score": round(h.score, 2)} for h in hits]}
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/help/articles", list_articles)
    app.router.add_get("/api/v1/help/articles/{slug}", read_article)
    app.router.add_post("/api/v1/help/search", search)
