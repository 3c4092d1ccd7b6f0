"""The browser pages: patient (``/p``), agent (``/agent``), admin (``/admin``), the
self-help articles (``/help``, ``/help/{slug}``, in the language of ``?lang=``) and a
landing page.

A page GET never reads a token: links carry it in the URL fragment, which the browser
keeps to itself, and the page's script exchanges it (``POST /api/v1/session``) only
when a person has the page open. Mail scanners that pre-fetch a link therefore consume
nothing (docs/security.md, "Pages and API" and "Privacy").

Templates come from ``web/templates`` (Jinja2, autoescape on) and get the request's CSP
nonce for their script and style tags; static files (ES modules, CSS, message
catalogues) are served from ``web/static`` at ``/static/``. There is no build step, so
modules import each other by plain relative URLs and cannot carry a content hash:
static responses say ``Cache-Control: no-cache`` (the browser revalidates with
``If-Modified-Since`` and usually gets a 304), so a deploy is picked up at once.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from server.api.selfhelp import query_language
from server.http.middleware import csp_nonce
from server.selfhelp.language import DEFAULT_LANGUAGE
from server.ws.desk import DESK

WEB_ROOT = Path(str(files("web")))
TEMPLATES = WEB_ROOT / "templates"
STATIC = WEB_ROOT / "static"
DEFAULT_CATALOGUE = STATIC / "i18n" / "en.json"
# The agent and admin consoles have their own catalogue (/static/i18n/staff/), so the
# patient page never downloads staff text; their templates say so with data-catalogue.
STAFF_CATALOGUE = "staff"
STAFF_PAGES = {"agent.html", "admin.html"}

PAGES = {
    "/": "landing.html",
    "/p": "patient.html",
    "/g": "guest.html",
    "/agent": "agent.html",
    "/admin": "admin.html",
}


@cache
def catalogue(name: str = "") -> dict[str, str]:
    """An English message catalogue: the patient pages' (``name`` empty) or the staff
    consoles' (``"staff"``), the text a page is rendered with.

    Read on first use (``create_app`` does no I/O); the page's i18n module swaps in
    another language from the same keys.
    """
    path = STATIC / "i18n" / name / "en.json" if name else DEFAULT_CATALOGUE
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(key): str(value) for key, value in data.items()}


@jinja2.pass_context
def translate(context: jinja2.runtime.Context, key: str) -> str:
    """``{{ t("lobby.heading") }}`` in a template, from the catalogue the page's context
    names (``catalogue``; the patient one by default); a missing key shows as itself."""
    return catalogue(str(context.get("catalogue", ""))).get(key, key)


def render(
    template: str, request: web.Request, context: dict[str, Any] | None = None, status: int = 200
) -> web.Response:
    """Render a page with its response's CSP nonce.

    (Passed in the context rather than by an aiohttp-jinja2 context processor, whose
    middleware keeps its state under a plain string request key.)
    """
    values = {**(context or {}), "nonce": csp_nonce(request)}
    response: web.Response = aiohttp_jinja2.render_template(
        template, request, values, status=status
    )
    # Each response carries its own nonce: never reuse a stored copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def page(template: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler rendering ``template``."""

    context = {"catalogue": STAFF_CATALOGUE} if template in STAFF_PAGES else None

    async def handler(request: web.Request) -> web.Response:
        return render(template, request, context)

    return handler


def help_language(request: web.Request) -> dict[str, str]:
    """A help page's ``?lang=`` (400 when the help has no such language), and the query
    its links carry to keep it."""
    language = query_language(request)
    query = "" if language == DEFAULT_LANGUAGE else f"?lang={language}"
    return {"language": language, "lang_query": query}


async def help_index(request: web.Request) -> web.Response:
    """``/help``: every article (title and summary), with a search box."""
    context = help_language(request)
    articles = request.app[DESK].help.articles(context["language"])
    return render("help.html", request, {**context, "articles": articles})


async def help_article(request: web.Request) -> web.Response:
    """``/help/{slug}``: one article, or a page saying there is none (404)."""
    context = help_language(request)
    article = request.app[DESK].help.get(request.match_info["slug"], context["language"])
    if article is None:
        return render("help_missing.html", request, context, status=404)
    return render("help_article.html", request, {**context, "article": article})


async def static_cache_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/static/") and response.status < 400:
        response.headers.setdefault("Cache-Control", "no-cache")


def setup(app: web.Application) -> None:
    """Register the pages, the template environment and the static files."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        default_helpers=False,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["t"] = translate
    for path, template in PAGES.items():
        app.router.add_get(path, page(template))
    app.router.add_get("/help", help_index)
    app.router.add_get("/help/{slug}", help_article)
    app.router.add_static("/static/", STATIC, append_version=False, follow_symlinks=False)
    app.on_response_prepare.append(static_cache_headers)
