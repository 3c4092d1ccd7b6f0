"""Call messages: where SDP, ICE candidates and chat are relayed to the peer.

A socket may only message the peer of its current call (set by the hub when
``call.started`` reaches it). SDP is checked with aiortc's parser and the limits of
docs/security.md ("SDP, ICE and the lobby's test peer") before it is relayed; candidates are
capped per call.
"""

from __future__ import annotations

import logging
import time

from server.core.errors import Conflict
from server.ws import agent as agent_messages
from server.ws import notify
from server.ws.connection import Connection
from server.ws.desk import Desk
from signaling import messages as m
from signaling import server_messages as sm
from signaling.candidates import is_relay, relay_candidates_only
from signaling.messages import ClientMessage
from signaling.sdp import CandidateBudget, SdpRejected, check_description

log = logging.getLogger(__name__)


def _require_call(conn: Connection) -> None:
    if not conn.peer or not conn.call:
        raise Conflict("There is no call in progress.", code="no_call")


async def handle(desk: Desk, conn: Connection, message: ClientMessage) -> None:
    match message:
        case m.CallBye():
            await hang_up(desk, conn, message)
        case m.CallRingAnswer():
            await ring_answer(desk, conn, message.accept)
        case m.CallSdp():
            _require_call(conn)
            await _relay_description(desk, conn, message.description)
        case m.CallIce():
            _require_call(conn)
            await _relay_candidate(desk, conn, message.candidate)
        case m.CallChat():
            _require_call(conn)
            chat = sm.encode(
                sm.CallChat(
                    from_=conn.role,  # type: ignore[arg-type]  # CALLERS: patient or agent
                    text=message.text,
                    at=int(time.time() * 1000),
                )
            )
            await _relay(desk, conn, chat)
            desk.chat_log.add(conn.call, chat)  # kept for a reconnect, after the relay
        case m.CallMedia():
            _require_call(conn)
            if message.state == "connected":
                setup_ms = await desk.engine.call_started(conn.call)
                if setup_ms:
                    log.info("call %s media up after %d ms", conn.call, setup_ms)
            await _relay(desk, conn, sm.encode(sm.CallPeerMedia(state=message.state)))
        case _:  # the router sends nothing else here; keep the loop safe anyway
            raise m.ProtocolError("unknown_type", "Unknown message type.")


async def hang_up(desk: Desk, conn: Connection, message: m.CallBye) -> None:
    if conn.role == "agent":
        await agent_messages.handle(desk, conn, message)
        return
    state, queue, agent, call = await desk.engine.leave(conn.participant, "patient_ended")
    if state in ("in_call", "on_hold"):
        await notify.call_ended(desk, call, conn.participant, agent, "patient_ended")
        await desk.queue_changed(queue)
    else:
        raise Conflict("There is no call in progress.", code="no_call")


async def ring_answer(desk: Desk, conn: Connection, accept: bool) -> None:
    """The patient answers an agent ringing their page: video starts, or the agent hears no."""
    record = await desk.engine.patient(conn.participant)
    call_id, aid = record.get("call", ""), record.get("agent", "")
    if record.get("state") != "in_call" or not call_id or not aid:
        raise Conflict("Nobody is calling you just now.", code="no_call")
    if not accept:
        await desk.notify(aid, sm.to_dict(sm.AgentRingDeclined(call=call_id)))
        return
    await desk.call_notes.mark_media(call_id)
    await notify.call_started(desk, call_id, conn.participant, aid, "callback")


async def _relay_description(desk: Desk, conn: Connection, description: m.Description) -> None:
    """call.sdp: checked, then passed on (relay-only: without non-relay candidates)."""
    try:
        check_description(description.type, description.sdp)
    except SdpRejected as exc:
        raise Conflict(exc.message, code=exc.code) from None
    sdp = description.sdp
    if desk.settings.relay_only:  # only TURN relay candidates reach the other party
        sdp = relay_candidates_only(sdp)
    relayed = sm.CallSdp(description=sm.SdpDescription(type=description.type, sdp=sdp))
    await _relay(desk, conn, sm.encode(relayed))


async def _relay_candidate(desk: Desk, conn: Connection, candidate: m.Candidate | None) -> None:
    """call.ice: within the call's budget, then passed on (relay-only: relay ones only)."""
    if candidate is not None and candidate.candidate:
        if desk.settings.relay_only and not is_relay(candidate.candidate):
            return  # a host or reflexive address: not passed on in relay-only mode
        try:
            _budget(conn).check_candidate(candidate.candidate, candidate.mid, candidate.mline_index)
        except SdpRejected as exc:
            raise Conflict(exc.message, code=exc.code) from None
    relayed = None if candidate is None else sm.IceCandidate(**candidate.builtins())
    await _relay(desk, conn, sm.encode(sm.CallIce(candidate=relayed)))


def _budget(conn: Connection) -> CandidateBudget:
    if conn.candidates is None or conn.candidates_call != conn.call:
        conn.candidates = CandidateBudget()
        conn.candidates_call = conn.call
    return conn.candidates


async def _relay(desk: Desk, conn: Connection, frame: bytes) -> None:
    """Pass a call message to the peer, encoded once (a frame: the same bytes wherever the
    peer's socket is)."""
    delivered = await desk.relay.send(conn.peer, frame)
    if not delivered:
        await conn.send(sm.CallPeer(status="reconnecting"))
