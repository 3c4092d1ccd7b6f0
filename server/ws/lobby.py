"""The lobby's connection test: the browser sends its camera and microphone to a
server-side aiortc peer, which echoes them back (and answers pings on a data
channel, so the page can show the round-trip time).

The peer only checks candidates on the address the page connected from (or TURN
relays) and advertises only the desk's configured addresses
(``VIDEODESK_ECHO_ADDRESSES``): ``signaling/candidates.py``."""

from __future__ import annotations

import asyncio
import logging

from server.core.errors import Conflict, Unavailable
from server.ws.connection import Connection
from server.ws.desk import Desk
from signaling import messages as m
from signaling import server_messages as sm
from signaling.candidates import CandidateScope
from signaling.echo import EchoPeer
from signaling.messages import ClientMessage
from signaling.sdp import SdpRejected, check_description

log = logging.getLogger(__name__)

MAX_ECHO_PEERS = 6  # each one decodes and re-encodes video: CPU per test
TESTS_PER_MINUTE = 6
TESTS_PER_HOUR = 20  # with at most 8 candidates each: the STUN checks one session can cause


async def handle(desk: Desk, conn: Connection, message: ClientMessage) -> None:
    match message:
        case m.LobbyTestOffer():
            await start(desk, conn, message)
        case m.LobbyTestCandidate():
            echo = conn.echo
            if not isinstance(echo, EchoPeer):
                raise Conflict("No connection test is running.", code="no_test")
            candidate = message.candidate
            try:
                if candidate is None or not candidate.candidate:
                    await echo.add_candidate("", None, None)
                else:
                    await echo.add_candidate(
                        candidate.candidate, candidate.mid, candidate.mline_index
                    )
            except ValueError as exc:
                raise Conflict(str(exc), code="candidate_invalid") from None
        case m.LobbyTestEnd():
            await stop(desk, conn)


async def start(desk: Desk, conn: Connection, message: m.LobbyTestOffer) -> None:
    description = message.description
    if description.type != "offer":
        raise Conflict("The connection test starts with an offer.", code="sdp_bad_type")
    try:
        check_description("offer", description.sdp)
    except SdpRejected as exc:
        raise Conflict(exc.message, code=exc.code) from None
    await desk.limiter.hit(f"echo:{conn.participant}", TESTS_PER_MINUTE)
    await desk.limiter.hit(f"echoh:{conn.participant}", TESTS_PER_HOUR, window=3600)
    await stop(desk, conn)
    running = desk.echo_peers
    if len(running) >= MAX_ECHO_PEERS:
        raise Unavailable(
            "The connection test is busy. Please try again in a minute.", code="test_busy"
        )
    scope = CandidateScope(
        client_address=conn.address,
        advertised=desk.settings.echo_addresses,
        connected_address=conn.local_address,
    )
    echo = EchoPeer(
        desk.ice,
        connect_timeout=10.0,
        max_lifetime=60.0,
        session_id=conn.participant,
        scope=scope,
    )
    conn.echo = echo
    running.add(echo)
    asyncio.get_running_loop().create_task(_forget_when_closed(desk, echo))
    try:
        answer = await echo.answer(description.sdp)
    except ValueError as exc:
        await stop(desk, conn)
        raise Conflict(str(exc), code="sdp_invalid") from None
    await conn.send(sm.LobbyTestAnswer(description=sm.SdpDescription(type="answer", sdp=answer)))


async def _forget_when_closed(desk: Desk, echo: EchoPeer) -> None:
    await echo.closed.wait()
    desk.echo_peers.discard(echo)


async def stop(desk: Desk, conn: Connection) -> None:
    """End the connection's test (idempotent); the peer is always closed."""
    echo = conn.echo
    conn.echo = None
    if isinstance(echo, EchoPeer):
        await echo.close()
        desk.echo_peers.discard(echo)
