"""The Desk: the services one process uses to serve patients and agents.

Built once at start-up (``server/app.py``) and handed to every WebSocket
message handler; it carries no per-socket state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from server.auth.sessions import SessionStore
from server.auth.tokens import TokenService
from server.core.lifecycle import Lifecycle
from server.core.ratelimit import LoginFailures, RateLimiter
from server.core.redis_keys import Keys
from server.core.settings import Settings
from server.mail.outbox import Outbox
from server.queue.call_notes import CallNotes
from server.queue.engine import QueueEngine
from server.queue.parties import CallParties
from server.selfhelp.search import ArticleIndex
from server.ws.chatlog import ChatLog
from server.ws.hub import Hub
from server.ws.sockets import OpenSockets
from signaling.echo import EchoPeer
from signaling.ice import IceConfig
from signaling.relay import Relay

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Desk:
    settings: Settings
    keys: Keys
    lifecycle: Lifecycle
    engine: QueueEngine
    tokens: TokenService
    sessions: SessionStore
    limiter: RateLimiter
    login_failures: LoginFailures
    hub: Hub
    sockets: OpenSockets
    relay: Relay
    ice: IceConfig
    help: ArticleIndex
    chat_log: ChatLog
    call_notes: CallNotes
    parties: CallParties
    outbox: Outbox | None = None  # invitation e-mails, when VIDEODESK_SMTP_URL is set
    # Lobby connection tests running in this process (each one costs CPU).
    echo_peers: set[EchoPeer] = field(default_factory=set)

    async def notify(self, participant: str, message: dict[str, Any]) -> bool:
        """Send to a participant wherever they are connected; never raises.

        A failure to reach Redis is logged: the recipient re-reads its state
        from Redis when it reconnects, so a lost notification is recovered.
        """
        if not participant:
            return False
        try:
            return await self.relay.send(participant, message)
        except RedisError as exc:
            log.warning("notify %s failed: %s", participant, type(exc).__name__)
            return False

    async def queue_changed(self, *queues: str) -> None:
        """Tell every process that these queues' order changed (positions to push)."""
        for queue in {q for q in queues if q}:
            try:
                await self.relay.broadcast({"kind": "queue", "queue": queue})
            except RedisError as exc:
                log.warning("queue change broadcast failed: %s", type(exc).__name__)


# The app's key for this service (set at start-up by server/app.py).
DESK = web.AppKey("desk", Desk)
