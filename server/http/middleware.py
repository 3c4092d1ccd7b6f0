"""HTTP edges: every error becomes JSON, every response carries the security headers.

* :func:`error_middleware` turns :class:`DeskError`, aiohttp's HTTP exceptions
  and any unexpected exception into ``{"error": code, "message": text}`` with
  the right status. A traceback is logged, never sent.
* :func:`add_security_headers` runs on every prepared response (pages, JSON,
  static files, errors and the WebSocket handshake; the HTTP parser's own error
  answers get the same through :mod:`server.http.parser_errors`): CSP with a per-request
  nonce, Permissions-Policy, Referrer-Policy, nosniff, and HSTS behind TLS
  (docs/security.md, "Pages and API").
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path

from aiohttp import web
from redis import exceptions as redis_errors

from server.core.errors import DeskError, TooManyRequests, Unavailable
from server.core.outages import is_outage

log = logging.getLogger(__name__)

OUTAGE_RETRY_AFTER = 2

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
NONCE = web.RequestKey("csp_nonce", str)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "timeout",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    431: "headers_too_large",
    500: "internal",
    504: "timeout",
}


def status_code_name(status: int) -> str:
    """The ``error`` code of an HTTP status that no :class:`DeskError` named."""
    return _STATUS_CODES.get(status, "error")


def error_body(code: str, message: str) -> dict[str, str]:
    return {"error": code, "message": message}


def json_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(error_body(code, message), status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
        if isinstance(response, web.FileResponse) and not await _is_file(response):
            return json_error(404, "not_found", "There is no such file.")
        return response
    except DeskError as exc:
        response = json_error(exc.status, exc.code, exc.message)
        if isinstance(exc, TooManyRequests | Unavailable):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except ConnectionResetError:
        # The client went away while sending its request: nobody is left to answer.
        log.info("client went away during %s %s", request.method, _route_of(request))
        return json_error(400, "bad_request", "The request was cut off.")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = status_code_name(exc.status)
        message = (
            exc.reason if exc.text is None or exc.text.startswith(str(exc.status)) else exc.text
        )
        response = json_error(exc.status, code, message)
        for header in ("Allow", "Retry-After"):
            if header in exc.headers:
                response.headers[header] = exc.headers[header]
        return response
    except Exception as exc:
        if isinstance(exc, redis_errors.RedisError) and is_outage(exc):
            # Redis down, failing over or a replica for now: the person may simply retry.
            log.warning("Redis unavailable on %s %s: %s", request.method, _route_of(request),
                        type(exc).__name__)  # fmt: skip
            response = json_error(503, "unavailable", "Please try again in a few seconds.")
            response.headers["Retry-After"] = str(OUTAGE_RETRY_AFTER)
            return response
        # Logged with its traceback (the method and route only: no query, no body).
        log.exception("unhandled error on %s %s", request.method, _route_of(request))
        return json_error(500, "internal", "Something went wrong on our side. Please try again.")


async def _is_file(response: web.FileResponse) -> bool:
    """Whether a static file response has a file to send. aiohttp finds out only while
    sending, and then answers an empty 404 (``application/octet-stream``); checked here
    first, a missing file (``/static/a\\b`` included) gets the JSON 404 every other
    route gives. A file removed between the check and the send still gets aiohttp's."""
    path: Path = response._path  # aiohttp keeps no public handle on the file's path
    return await asyncio.get_running_loop().run_in_executor(None, path.is_file)


def _route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "?"


def csp_nonce(request: web.BaseRequest) -> str:
    """The nonce of this request's Content-Security-Policy (made on first use)."""
    nonce = request.get(NONCE)
    if nonce is None:
        nonce = secrets.token_urlsafe(18)
        request[NONCE] = nonce
    return nonce


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob: mediastream:",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def apply_security_headers(
    request: web.BaseRequest, headers: MutableMapping[str, str], secure: bool
) -> None:
    """Set the security headers of ``request``'s response (also used for the answers
    aiohttp's parser gives before the application runs: see :mod:`server.http.parser_errors`)."""
    headers["Content-Security-Policy"] = content_security_policy(csp_nonce(request))
    headers["Permissions-Policy"] = (
        "camera=(self), microphone=(self), display-capture=(self), geolocation=()"
    )
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Server"] = "videodesk"
    if secure:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")


def security_headers(secure: bool) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """An ``on_response_prepare`` hook adding the security headers to every response."""

    async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
        apply_security_headers(request, response.headers, secure)

    return add_security_headers
