"""One authenticated WebSocket and what this process knows about it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from server.auth.sessions import Session
from server.ws.sockets import SocketCount
from signaling.echo import EchoPeer
from signaling.sdp import CandidateBudget
from signaling.server_messages import ServerMessage, encode

log = logging.getLogger(__name__)

MESSAGES_PER_SECOND = 20.0
MESSAGE_BURST = 60.0  # a burst of trickled ICE candidates fits
STRIKES_BEFORE_CLOSE = 50


async def send_message(ws: web.WebSocketResponse, message: dict[str, Any] | ServerMessage) -> None:
    """Send one message as a text frame (raises as ``ws.send_str`` does)."""
    await ws.send_frame(encode(message), WSMsgType.TEXT)


@dataclass(slots=True)
class TokenBucket:
    """Per-socket message rate limit."""

    rate: float = MESSAGES_PER_SECOND
    burst: float = MESSAGE_BURST
    tokens: float = MESSAGE_BURST
    stamp: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(eq=False, slots=True)
class Connection:
    """An authenticated socket. ``peer`` and ``call`` are set while in a call; ``handle``
    and ``parties`` (handle → participant, everyone else in the call) while the call has
    told it who is in it (server/ws/peers.py)."""

    ws: web.WebSocketResponse
    session: Session
    address: str
    # The desk's own address this socket reached, when it came straight from the page
    # (no proxy in between): the lobby's echo peer may offer it (signaling/candidates.py).
    local_address: str | None = None
    limiter: TokenBucket = field(default_factory=TokenBucket)
    strikes: int = 0
    last_activity: float = field(default_factory=time.monotonic)
    peer: str = ""
    call: str = ""
    handle: str = ""
    parties: dict[str, str] = field(default_factory=dict)
    queue: str = ""
    last_state: dict[str, Any] = field(default_factory=dict)  # last queue.state pushed
    waiting_since: float = 0.0  # monotonic time the patient's wait began (from queue.state)
    last_panel: dict[str, Any] = field(default_factory=dict)  # last agent.queues pushed
    # ICE candidates relayed in the current call, per party they went to.
    candidates: dict[str, CandidateBudget] = field(default_factory=dict)
    candidates_call: str = ""
    echo: EchoPeer | None = None  # the lobby's test peer while a connection test runs
    count: SocketCount | None = None  # this socket in the cross-process socket counts
    # When the socket must close for its token's expiry (a patient in a visit is given
    # time past it: server/ws/expiry.py).
    expires_at: float = 0.0

    @property
    def role(self) -> str:
        return self.session.role

    @property
    def participant(self) -> str:
        return self.session.participant

    async def send(self, message: dict[str, Any] | ServerMessage) -> bool:
        """Send a message (a struct, or its dict form); False (never an exception) if the
        socket is gone."""
        return await self.send_frame(encode(message))

    async def send_frame(self, data: bytes) -> bool:
        """Send an encoded message as one text frame; False if the socket is gone."""
        if self.ws.closed:
            return False
        try:
            await self.ws.send_frame(data, WSMsgType.TEXT)
            return True
        except (ConnectionError, RuntimeError) as exc:
            log.debug("send to %s failed: %s", self.participant, type(exc).__name__)
            return False
