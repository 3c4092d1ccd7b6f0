"""The answers aiohttp gives before the application runs, in the desk's shape.

When aiohttp's HTTP parser gives up on a request (a request line or header over
8190 bytes, bytes that are not HTTP), no middleware and no ``on_response_prepare``
hook runs: :meth:`aiohttp.web_protocol.RequestHandler.handle_error` answers by
itself, in ``text/plain``, without the security headers, echoing the first bytes
of the offending line (a bearer token, say) and logging them with the client's
address. aiohttp offers no setting or signal for this answer, so the desk uses
its own request handler class, whose ``handle_error`` answers like every other
error (``{"error": code, "message": text}`` with the security headers) and logs
the status and the kind of error only: the rejected bytes may hold a token or a
session cookie.

Wiring: aiohttp's :class:`~aiohttp.web.Server` makes one ``RequestHandler`` per
connection and has no parameter for its class, so :class:`DeskServer` overrides
the factory and :class:`DeskRunner` (an :class:`~aiohttp.web.AppRunner`, which
runs the application's start-up and clean-up as usual) hands it to the sites.
These lean on aiohttp internals (``Server._loop``, ``Server._kwargs``,
``AppRunner._make_server``, the ``handle_error`` signature), checked against
aiohttp 3.14; tests/test_http_hygiene.py fails if an upgrade moves them.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, LineTooLong
from aiohttp.web_protocol import RequestHandler

from server.http.middleware import apply_security_headers, json_error, status_code_name

log = logging.getLogger(__name__)

INTERNAL_MESSAGE = "Something went wrong on our side. Please try again."


def error_message(status: int, exc: BaseException | None) -> str:
    """What the client is told: never the rejected bytes themselves."""
    if status >= 500:
        return INTERNAL_MESSAGE
    if isinstance(exc, LineTooLong):
        return "The request line or one of its headers is too long."
    return "The request could not be read as HTTP."


class DeskRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering parser errors in the desk's shape."""

    __slots__ = ("_secure",)

    def __init__(self, manager: web.Server, *, secure: bool, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._secure = secure

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        log_rejection(status, exc)
        # As aiohttp does: once bytes are out, another answer would corrupt the stream.
        if request.writer.output_size > 0:
            raise ConnectionError("response already started; cannot send the error")
        response = json_error(status, status_code_name(status), error_message(status, exc))
        apply_security_headers(request, response.headers, self._secure)
        response.force_close()
        return response


def log_rejection(status: int, exc: BaseException | None) -> None:
    kind = type(exc).__name__ if exc is not None else "none"
    if status >= 500:
        # Our bug, not the client's: the traceback (scrubbed by server.core.logs) helps.
        log.error("unhandled error outside the application (%s)", kind, exc_info=exc)
    elif isinstance(exc, BadHttpMethod):
        # Not HTTP at all (a scanner, TLS to the plain port): noise, as aiohttp judges it.
        log.debug("rejected bytes that are not HTTP (%s %s)", status, kind)
    else:
        log.info("rejected a request the HTTP parser could not read (%s %s)", status, kind)


class DeskServer(web.Server):
    """aiohttp's low-level server (one per runner), making :class:`DeskRequestHandler`
    connections; built from the server :class:`~aiohttp.web.AppRunner` made."""

    def __init__(self, made: web.Server, *, secure: bool) -> None:
        super().__init__(
            made.request_handler,
            request_factory=made.request_factory,
            handler_cancellation=made.handler_cancellation,
            loop=made._loop,
            **made._kwargs,
        )
        self.secure = secure

    def __call__(self) -> RequestHandler:
        # What aiohttp's Server.__call__ does, with the desk's handler class.
        return DeskRequestHandler(self, secure=self.secure, loop=self._loop, **self._kwargs)


class DeskRunner(web.AppRunner):
    """An :class:`~aiohttp.web.AppRunner` whose connections answer parser errors as JSON
    with the security headers (``secure``: with HSTS, as behind TLS)."""

    __slots__ = ("_secure",)

    def __init__(self, app: web.Application, *, secure: bool, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._secure = secure

    async def _make_server(self) -> web.Server:
        # AppRunner's own server: the application started, its handler and settings set.
        made = await super()._make_server()
        return DeskServer(made, secure=self._secure)
