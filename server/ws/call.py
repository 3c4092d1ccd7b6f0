"""Call messages: where SDP, ICE candidates and chat are relayed to the other parties.

A socket may only message the parties of its current call: the peer (the other of
patient and agent, set when ``call.started`` reaches it) and, by handle, whoever
``call.parties`` last told it is in the call (server/ws/peers.py). SDP is checked with
aiortc's parser and the limits of docs/security.md ("SDP, ICE and the lobby's test
peer") before it is relayed; candidates are capped per call and per party they go to.
Chat goes to everyone in the call. Guests' own messages (joining, leaving) and the
agent's guest links are in server/ws/guest.py.
"""

from __future__ import annotations

import logging
import time

from server.core.errors import Conflict
from server.ws import agent as agent_messages
from server.ws import guest, notify
from server.ws.connection import Connection
from server.ws.desk import Desk
from signaling import messages as m
from signaling import server_messages as sm
from signaling.candidates import is_relay, relay_candidates_only
from signaling.messages import UNSET, ClientMessage, UnsetType
from signaling.sdp import CandidateBudget, SdpRejected, check_description

log = logging.getLogger(__name__)


def _require_call(conn: Connection) -> None:
    if not conn.call or not (conn.peer or conn.parties):
        raise Conflict("There is no call in progress.", code="no_call")


def _target(conn: Connection, to: str | UnsetType) -> tuple[str, str | UnsetType]:
    """Who a call message goes to, and the sender's handle to relay with it (left out for
    the peer, as between patient and agent in a call of two)."""
    _require_call(conn)
    if isinstance(to, UnsetType):
        if not conn.peer:
            raise Conflict("Say which party this is for.", code="not_in_call")
        return conn.peer, UNSET
    participant = conn.parties.get(to, "")
    if not participant:
        raise Conflict("That person is not in this call.", code="not_in_call")
    return participant, conn.handle


async def handle(desk: Desk, conn: Connection, message: ClientMessage) -> None:
    match message:
        case m.CallBye():
            await hang_up(desk, conn, message)
        case m.CallRingAnswer():
            await ring_answer(desk, conn, message.accept)
        case m.CallSdp():
            to, sender = _target(conn, message.to)
            await _relay_description(desk, conn, message.description, to, sender)
        case m.CallIce():
            to, sender = _target(conn, message.to)
            await _relay_candidate(desk, conn, message.candidate, to, sender)
        case m.CallChat():
            await chat(desk, conn, message.text)
        case m.CallMedia():
            await media_state(desk, conn, message.state)
        case m.CallScreen():
            to, sender = _target(conn, message.to)
            await _relay(desk, conn, to, sm.encode(sm.CallScreen(on=message.on, from_=sender)))
        case m.CallInvite() | m.CallRemove():
            await guest.handle(desk, conn, message)
        case _:  # the router sends nothing else here; keep the loop safe anyway
            raise m.ProtocolError("unknown_type", "Unknown message type.")


async def chat(desk: Desk, conn: Connection, text: str) -> None:
    """call.chat: to everyone else in the call, then kept for a party who reconnects."""
    _require_call(conn)
    frame = sm.encode(
        sm.CallChat(
            from_=conn.role,  # type: ignore[arg-type]  # PARTIES: patient, agent, guest
            text=text,
            at=int(time.time() * 1000),
            handle=conn.handle if conn.role == "guest" else UNSET,
        )
    )
    for participant in _everyone_else(conn):
        await _relay(desk, conn, participant, frame)
    desk.chat_log.add(conn.call, frame)  # kept for a reconnect, after the relay


async def media_state(desk: Desk, conn: Connection, state: str) -> None:
    """call.media: the first "connected" records the setup time; the peer is told. A
    guest's pages see their own connections: nothing to pass on."""
    _require_call(conn)
    if conn.role == "guest":
        return
    if state == "connected":
        setup_ms = await desk.engine.call_started(conn.call)
        if setup_ms:
            log.info("call %s media up after %d ms", conn.call, setup_ms)
    await _relay(desk, conn, conn.peer, sm.encode(sm.CallPeerMedia(state=state)))  # type: ignore[arg-type]


def _everyone_else(conn: Connection) -> list[str]:
    """The other parties of the socket's call (the peer first)."""
    others = [conn.peer] if conn.peer else []
    return others + [p for p in conn.parties.values() if p not in others]


async def hang_up(desk: Desk, conn: Connection, message: m.CallBye) -> None:
    if conn.role == "guest":
        await guest.leave(desk, conn)
        return
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


async def _relay_description(
    desk: Desk,
    conn: Connection,
    description: m.Description,
    to: str,
    sender: str | UnsetType,
) -> None:
    """call.sdp: checked, then passed on (relay-only: without non-relay candidates)."""
    try:
        check_description(description.type, description.sdp)
    except SdpRejected as exc:
        raise Conflict(exc.message, code=exc.code) from None
    sdp = description.sdp
    if desk.settings.relay_only:  # only TURN relay candidates reach the other party
        sdp = relay_candidates_only(sdp)
    relayed = sm.CallSdp(
        description=sm.SdpDescription(type=description.type, sdp=sdp), from_=sender
    )
    await _relay(desk, conn, to, sm.encode(relayed))


async def _relay_candidate(
    desk: Desk,
    conn: Connection,
    candidate: m.Candidate | None,
    to: str,
    sender: str | UnsetType,
) -> None:
    """call.ice: within the call's budget, then passed on (relay-only: relay ones only)."""
    if candidate is not None and candidate.candidate:
        if desk.settings.relay_only and not is_relay(candidate.candidate):
            return  # a host or reflexive address: not passed on in relay-only mode
        try:
            budget = _budget(conn, to)
            budget.check_candidate(candidate.candidate, candidate.mid, candidate.mline_index)
        except SdpRejected as exc:
            raise Conflict(exc.message, code=exc.code) from None
    relayed = None if candidate is None else sm.IceCandidate(**candidate.builtins())
    await _relay(desk, conn, to, sm.encode(sm.CallIce(candidate=relayed, from_=sender)))


def _budget(conn: Connection, to: str) -> CandidateBudget:
    """The candidates this socket may still send to ``to`` in this call."""
    if conn.candidates_call != conn.call:
        conn.candidates = {}
        conn.candidates_call = conn.call
    return conn.candidates.setdefault(to, CandidateBudget())


async def _relay(desk: Desk, conn: Connection, to: str, frame: bytes) -> None:
    """Pass a call message to a party, encoded once (a frame: the same bytes wherever the
    party's socket is). The peer being unreachable is said (call.peer); a guest's page
    sees its own connection to them drop."""
    delivered = await desk.relay.send(to, frame)
    if not delivered and to == conn.peer:
        await conn.send(sm.CallPeer(status="reconnecting"))
