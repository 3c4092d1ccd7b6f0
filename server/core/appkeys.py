"""Typed keys for the foundations an application holds (CONTRIBUTING.md, item 1).

Everything shared lives on the app behind a key; nothing is a module global. The keys
of the services built on these live beside them: ``TOKENS`` in server/auth/tokens.py,
``SESSIONS`` in server/auth/sessions.py, ``BEARER`` in server/auth/bearer.py, ``DESK``
in server/ws/desk.py, ``OUTBOX`` and ``MAIL_SERVER`` in server/mail/.
"""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis

from server.core.lifecycle import Lifecycle
from server.core.primary_watch import PrimaryWatch
from server.core.ratelimit import LoginFailures, RateLimiter
from server.core.redis_keys import Keys
from server.core.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
KEYS = web.AppKey("keys", Keys)
REDIS = web.AppKey("redis", Redis)
# Set in Sentinel mode only: clients to reconnect when the sentinels name a new primary.
PRIMARY_WATCH = web.AppKey("primary_watch", PrimaryWatch)
LIFECYCLE = web.AppKey("lifecycle", Lifecycle)
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
LOGIN_FAILURES = web.AppKey("login_failures", LoginFailures)
