"""This process's sockets, by participant and by token, and local delivery.

Messages that change what a socket is doing (a call starting or ending) pass
through :meth:`Hub.deliver`, which keeps the connection's call state in step,
so a participant can only ever message the peer of their current call.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from aiohttp import WSCloseCode

from server.ws.connection import Connection

log = logging.getLogger(__name__)


class Hub:
    """Sockets per session, per token and per address are counted across processes in
    Redis (``server/ws/sockets.py``); this process counts, per address, the sockets that
    have not authenticated yet (without a Redis call: they may be anybody's)."""

    def __init__(self, max_unauthenticated_per_address: int = 10) -> None:
        self._by_participant: dict[str, set[Connection]] = defaultdict(set)
        self._by_jti: dict[str, set[Connection]] = defaultdict(set)
        self._unauthenticated: dict[str, int] = defaultdict(int)
        self._max_unauthenticated = max_unauthenticated_per_address

    def __len__(self) -> int:
        return sum(len(c) for c in self._by_participant.values())

    def start_unauthenticated(self, address: str) -> bool:
        """Count a socket that has not authenticated yet; False when the address has its
        limit of them open (each waits up to the authentication deadline)."""
        if self._unauthenticated[address] >= self._max_unauthenticated:
            return False
        self._unauthenticated[address] += 1
        return True

    def end_unauthenticated(self, address: str) -> None:
        self._unauthenticated[address] -= 1
        if self._unauthenticated[address] <= 0:
            del self._unauthenticated[address]

    def add(self, conn: Connection) -> None:
        self._by_participant[conn.participant].add(conn)
        self._by_jti[conn.session.jti].add(conn)

    def remove(self, conn: Connection) -> bool:
        """Forget a socket; True if it was the participant's last one here."""
        conns = self._by_participant.get(conn.participant)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._by_participant[conn.participant]
        jti_conns = self._by_jti.get(conn.session.jti)
        if jti_conns is not None:
            jti_conns.discard(conn)
            if not jti_conns:
                del self._by_jti[conn.session.jti]
        return conn.participant not in self._by_participant

    def connections(self, participant: str) -> set[Connection]:
        return self._by_participant.get(participant, set())

    def has(self, participant: str) -> bool:
        return participant in self._by_participant

    def all(self, role: str | None = None) -> Iterator[Connection]:
        for conns in list(self._by_participant.values()):
            for conn in list(conns):
                if role is None or conn.role == role:
                    yield conn

    def participants(self, role: str) -> list[str]:
        return [
            p for p, conns in self._by_participant.items() if any(c.role == role for c in conns)
        ]

    async def deliver(self, participant: str, message: dict[str, Any]) -> bool:
        """Send to the participant's sockets on this process; False if there are none."""
        conns = self._by_participant.get(participant)
        if not conns:
            return False
        kind = message.get("type")
        for conn in list(conns):
            if kind == "call.started":
                conn.peer = str(message.get("peer_id", ""))
                conn.call = str(message.get("call", ""))
            elif kind == "call.ended":
                conn.peer = ""
                conn.call = ""
            elif kind == "queue.state":
                # The wait so far grows by itself (the page counts on): not a change.
                news = {k: v for k, v in message.items() if k != "waited_s"}
                if news == conn.last_state:
                    continue  # nothing changed for this patient: no push
                conn.last_state = news
                conn.queue = str(message.get("queue") or conn.queue)
            public = {k: v for k, v in message.items() if k != "peer_id"}
            await conn.send(public)
        return True

    async def close_token(self, jti: str, reason: str) -> int:
        """Close every socket opened with a token (revocation): code 1008."""
        conns = list(self._by_jti.get(jti, ()))
        for conn in conns:
            await conn.send({"type": "error", "code": "token_revoked", "message": reason})
            await conn.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"token revoked")
        return len(conns)

    async def close_all(self, code: int, message: bytes) -> None:
        for conn in list(self.all()):
            await conn.ws.close(code=code, message=message)
