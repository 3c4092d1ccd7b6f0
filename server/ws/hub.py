"""This process's sockets, by participant and by token, and local delivery.

The hub is transport only: it knows sockets, not calls or queues. Each delivered
message passes through the ``before_send`` hook it is given (the desk gives it
:func:`server.ws.peers.before_send`, which keeps each socket's call state in step).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import WSCloseCode

from server.ws.connection import Connection
from signaling.messages import error_message
from signaling.relay import Message

log = logging.getLogger(__name__)

# What a socket is sent of a message (None: nothing), and whatever else delivery means.
BeforeSend = Callable[[Connection, dict[str, Any]], dict[str, Any] | None]


def _as_is(conn: Connection, message: dict[str, Any]) -> dict[str, Any] | None:
    return message


class Hub:
    """Sockets per session, per token and per address are counted across processes in
    Redis (``server/ws/sockets.py``); this process counts, per address, the sockets that
    have not authenticated yet (without a Redis call: they may be anybody's)."""

    def __init__(
        self, max_unauthenticated_per_address: int = 10, before_send: BeforeSend = _as_is
    ) -> None:
        self._before_send = before_send
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

    async def deliver(self, participant: str, message: Message) -> bool:
        """Send to the participant's sockets on this process; False if there are none.

        A frame (bytes: a relayed call message, encoded once) goes to each socket as it
        is; a dict passes through ``before_send`` first."""
        conns = self._by_participant.get(participant)
        if not conns:
            return False
        if isinstance(message, bytes):
            for conn in list(conns):
                await conn.send_frame(message)
            return True
        for conn in list(conns):
            sent = self._before_send(conn, message)
            if sent is not None:
                await conn.send(sent)
        return True

    async def close_token(self, jti: str, reason: str) -> int:
        """Close every socket opened with a token (revocation): code 1008."""
        conns = list(self._by_jti.get(jti, ()))
        for conn in conns:
            await conn.send(error_message("token_revoked", reason))
            await conn.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"token revoked")
        return len(conns)

    async def close_all(self, code: int, message: bytes) -> None:
        for conn in list(self.all()):
            await conn.ws.close(code=code, message=message)
