"""The application factory: ``create_app(settings)`` wires everything and does no I/O.

Each resource gets its own cleanup context (opened on start-up, closed on
shutdown, in reverse order), so a newcomer can read here what the desk holds
and in which order it starts.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from server import pages
from server.api import (
    dashboard,
    erase,
    health,
    mail,
    metrics,
    openapi,
    reports,
    selfhelp,
    session,
    tokens,
    webhooks,
)
from server.auth.bearer import BEARER, BearerAuth
from server.auth.keyring import Keyring, load_secret
from server.auth.sessions import SESSIONS, SessionStore
from server.auth.tokens import TOKENS, TokenService
from server.core import appkeys
from server.core.lifecycle import Lifecycle
from server.core.primary_watch import PrimaryWatch
from server.core.ratelimit import LoginFailures, RateLimiter
from server.core.redis_keys import Keys
from server.core.settings import Settings, parse_sentinel_url
from server.core.store import EMBEDDED_NOTICE, close, connect, embedded_reader
from server.http.middleware import error_middleware, security_headers
from server.queue.call_notes import CallNotes
from server.queue.engine import QueueEngine, Timing
from server.queue.parties import CallParties
from server.records.database import EMBEDDED_NOTICE as EMBEDDED_RECORDS
from server.records.database import database_url, open_engine, prepare
from server.records.deliveries import Deliverer
from server.records.recorder import Recorder
from server.records.retention import Retention
from server.records.service import RECORDS, Records
from server.selfhelp.articles import load_articles
from server.selfhelp.search import ArticleIndex
from server.ws import broadcasts, peers
from server.ws.chatlog import ChatLog
from server.ws.desk import DESK, Desk
from server.ws.endpoint import close_all, websocket
from server.ws.hub import Hub
from server.ws.presence import Presence
from server.ws.sockets import OpenSockets
from server.ws.ticker import Ticker
from signaling.ice import IceConfig
from signaling.relay import Relay, RelayKeys

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
    app.cleanup_ctx.append(records_ctx)
    app.cleanup_ctx.append(desk_ctx)
    app.on_shutdown.append(close_sockets)
    health.setup(app)
    tokens.setup(app)
    mail.setup(app)
    session.setup(app)
    dashboard.setup(app)
    selfhelp.setup(app)
    reports.setup(app)
    webhooks.setup(app)
    erase.setup(app)
    metrics.setup(app)
    openapi.setup(app)
    pages.setup(app)
    app.router.add_get("/ws", websocket)
    return app


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    if settings.embedded:
        log.warning("%s", EMBEDDED_NOTICE)
    redis = connect(settings)
    app[appkeys.REDIS] = redis
    watch = None
    if settings.redis_url is not None and settings.redis_url.startswith("redis+sentinel://"):
        watch = PrimaryWatch(parse_sentinel_url(settings.redis_url))
        watch.add(redis)
        watch.start()
        app[appkeys.PRIMARY_WATCH] = watch
    yield
    if watch is not None:
        await watch.stop()
    await close(redis)


async def tokens_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    secret, source = load_secret(settings)
    log.info("signing tokens with the key from %s", source)
    keyring = Keyring.from_secrets(secret, settings.previous_secrets)
    limiter = RateLimiter(app[appkeys.REDIS], app[appkeys.KEYS], keyring.address_key())
    app[appkeys.RATE_LIMITER] = limiter
    app[appkeys.LOGIN_FAILURES] = LoginFailures(limiter, app[appkeys.REDIS], app[appkeys.KEYS])
    revocation_file = settings.secret_file.with_name("revoked") if settings.embedded else None
    tokens = TokenService(
        app[appkeys.REDIS],
        app[appkeys.KEYS],
        keyring,
        settings.issuer,
        revocation_file=revocation_file,
    )
    await tokens.load_revocations()
    app[TOKENS] = tokens
    app[BEARER] = BearerAuth(tokens, app[appkeys.LOGIN_FAILURES], settings.trusted_proxies)
    app[SESSIONS] = SessionStore(app[appkeys.REDIS], app[appkeys.KEYS])
    yield


async def records_ctx(app: web.Application) -> AsyncIterator[None]:
    """The records database (its schema checked, the embedded file upgraded), this
    process's recorder of the events stream, and its webhook deliverer."""
    settings = app[appkeys.SETTINGS]
    url = database_url(settings)
    if settings.database_url is None:
        log.warning("%s", EMBEDDED_RECORDS.format(path=settings.records_file))
    engine = open_engine(url)
    try:
        await prepare(settings, engine)
    except BaseException:
        await engine.dispose()
        raise
    recorder = Recorder(
        app[appkeys.REDIS],
        app[appkeys.KEYS].events,
        engine,
        app[appkeys.LIFECYCLE].process_id,
        retention=Retention(settings.retention_days, settings.audit_retention_days),
        patient_key=app[appkeys.KEYS].patient if settings.record_personal_data else None,
    )
    deliverer = Deliverer(
        engine, retry_base_s=settings.webhook_retry_base, timeout_s=settings.webhook_timeout
    )
    recorder.on_deliveries = deliverer.wake
    app[RECORDS] = Records(engine, recorder, deliverer)
    recorder.start()
    deliverer.start()
    yield
    await deliverer.stop()
    await recorder.stop()
    await engine.dispose()


async def desk_ctx(app: web.Application) -> AsyncIterator[None]:
    """The queue engine, the relay between processes, presence loops and the ticker."""
    settings = app[appkeys.SETTINGS]
    keys = app[appkeys.KEYS]
    lifecycle = app[appkeys.LIFECYCLE]
    redis = app[appkeys.REDIS]
    # The relay's blocking reads hold a connection of their own.
    reader = (
        embedded_reader(redis)
        if settings.embedded
        else connect(settings, max_connections=2, socket_timeout=None)
    )
    if appkeys.PRIMARY_WATCH in app and reader is not redis:
        app[appkeys.PRIMARY_WATCH].add(reader)
    hub = Hub(settings.max_unauthenticated_per_address, before_send=peers.before_send)
    relay = Relay(
        redis,
        reader,
        RelayKeys(
            routes=keys.routes,
            inbox_prefix=keys.inbox(""),
            process_prefix=keys.process(""),
            broadcast=keys.broadcast,
        ),
        lifecycle.process_id,
        hub.deliver,
    )
    engine = QueueEngine(
        redis,
        keys,
        settings.queues,
        Timing(
            offer_timeout_ms=int(settings.offer_timeout * 1000),
            patient_grace_ms=int(settings.grace_period * 1000),
            agent_idle_grace_ms=int(settings.agent_grace_period * 1000),
            agent_call_grace_ms=int(settings.grace_period * 1000),
            wait_replicas=settings.redis_wait_replicas,
            wait_ms=settings.redis_wait_ms,
        ),
    )
    desk = Desk(
        settings=settings,
        keys=keys,
        lifecycle=lifecycle,
        engine=engine,
        tokens=app[TOKENS],
        sessions=app[SESSIONS],
        limiter=app[appkeys.RATE_LIMITER],
        login_failures=app[appkeys.LOGIN_FAILURES],
        hub=hub,
        sockets=OpenSockets(
            redis,
            keys,
            lifecycle.process_id,
            per_session=settings.max_sockets_per_session,
            per_token=settings.max_sockets_per_token,
            per_address=settings.max_sockets_per_address,
            address_bucket=functools.partial(app[appkeys.RATE_LIMITER].address_bucket, "socks"),
        ),
        relay=relay,
        ice=IceConfig(
            servers=settings.ice_servers,
            turn_secret=settings.turn_secret,
            turn_ttl=settings.turn_ttl,
            relay_only=settings.relay_only,
        ),
        help=ArticleIndex(load_articles(settings.content_dir)),
        chat_log=ChatLog(redis, keys),
        call_notes=CallNotes(redis, keys),
        parties=CallParties(redis, keys),
    )
    presence = Presence(desk)
    ticker = Ticker(desk)
    app[DESK] = desk
    await relay.start(functools.partial(broadcasts.received, desk, presence))
    presence.start()
    ticker.start()
    yield
    await ticker.stop()
    await presence.stop()
    await relay.stop()
    await desk.chat_log.close()
    if reader is not redis:
        await close(reader)


async def close_sockets(app: web.Application) -> None:
    """On shutdown (SIGTERM): refuse new work and close sockets with 1001 (going away)."""
    app[appkeys.LIFECYCLE].draining = True
    if DESK in app:
        await close_all(app[DESK])
