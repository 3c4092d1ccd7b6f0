"""Typed keys for the objects an application holds (CONTRIBUTING.md, item 1).

Everything shared lives on the app behind one of these; nothing is a module
global.
"""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis

from server.auth.sessions import SessionStore
from server.auth.tokens import TokenService
from server.desk import Desk
from server.keys import Keys
from server.lifecycle import Lifecycle
from server.mail.outbox import Outbox
from server.mail.smtp import MailServer
from server.primary_watch import PrimaryWatch
from server.ratelimit import LoginFailures, RateLimiter
from server.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
KEYS = web.AppKey("keys", Keys)
REDIS = web.AppKey("redis", Redis)
# Set in Sentinel mode only: clients to reconnect when the sentinels name a new primary.
PRIMARY_WATCH = web.AppKey("primary_watch", PrimaryWatch)
TOKENS = web.AppKey("tokens", TokenService)
LIFECYCLE = web.AppKey("lifecycle", Lifecycle)
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
LOGIN_FAILURES = web.AppKey("login_failures", LoginFailures)
SESSIONS = web.AppKey("sessions", SessionStore)
DESK = web.AppKey("desk", Desk)
OUTBOX = web.AppKey("outbox", Outbox)  # only when VIDEODESK_SMTP_URL is set
MAIL_SERVER = web.AppKey("mail_server", MailServer)
