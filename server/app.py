"""The application factory: ``create_app(settings)`` wires everything and does no I/O.

Each resource gets its own cleanup context (opened on start-up, closed on
shutdown, in reverse order), so a newcomer can read here what the desk holds
and in which order it starts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from server import appkeys
from server.api import health, tokens
from server.auth.keyring import Keyring, load_secret
from server.auth.tokens import TokenService
from server.keys import Keys
from server.lifecycle import Lifecycle
from server.middleware import error_middleware, security_headers
from server.ratelimit import RateLimiter
from server.settings import Settings
from server.store import EMBEDDED_NOTICE, connect

log = logging.getLogger(__name__)

MAX_REQUEST_BODY = 64 * 1024


def create_app(settings: Settings, *, lifecycle: Lifecycle | None = None) -> web.Application:
    """Build the desk's aiohttp application (no I/O until it starts)."""
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_REQUEST_BODY)
    app[appkeys.SETTINGS] = settings
    app[appkeys.KEYS] = Keys(settings.desk)
    app[appkeys.LIFECYCLE] = lifecycle or Lifecycle()
    app.on_response_prepare.append(security_headers(settings.secure_cookies))
    app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.append(tokens_ctx)
    health.setup(app)
    tokens.setup(app)
    return app


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    if settings.embedded:
        log.warning("%s", EMBEDDED_NOTICE)
    redis = connect(settings)
    app[appkeys.REDIS] = redis
    app[appkeys.RATE_LIMITER] = RateLimiter(redis, app[appkeys.KEYS])
    yield
    await redis.aclose()


async def tokens_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    secret, source = load_secret(settings)
    log.info("signing tokens with the key from %s", source)
    keyring = Keyring.from_secrets(secret, settings.previous_secrets)
    revocation_file = settings.secret_file.with_name("revoked") if settings.embedded else None
    tokens = TokenService(
        app[appkeys.REDIS],
        app[appkeys.KEYS],
        keyring,
        settings.issuer,
        revocation_file=revocation_file,
    )
    await tokens.load_revocations()
    app[appkeys.TOKENS] = tokens
    yield
