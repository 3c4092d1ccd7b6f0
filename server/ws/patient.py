"""Patient messages: where a patient joins, leaves, asks for a call-back, rates the call."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from server.auth.sessions import Session
from server.core.errors import Conflict, Unauthorized, Unavailable
from server.queue.models import ACTIVE_PATIENT_STATES, PatientDetails
from server.ws import emergency, notify, selfhelp
from server.ws.connection import Connection
from server.ws.desk import Desk
from signaling import messages as m
from signaling import server_messages as sm
from signaling.messages import UNSET, ClientMessage

log = logging.getLogger(__name__)


async def on_connect(desk: Desk, conn: Connection) -> None:
    """A patient's socket opened (first time or after a drop): renew and resync."""
    pid = conn.participant
    record = await desk.engine.patient(pid)
    state = record.get("state", "")
    conn.queue = record.get("queue", conn.session.queue)
    if state in ("waiting", "offered", "in_call", "on_hold"):
        await desk.engine.renew([f"p:{pid}"])
    if state in ("in_call", "on_hold") and record.get("agent") and record.get("call"):
        call = await desk.engine.call(record["call"])
        if call.get("kind") == "callback" and call.get("media") != "1":
            # An accepted call-back not yet on video: the agent learns the page is open
            # (they can ring it); the patient waits for the ring.
            await notify.callback_task(desk, record["call"], pid, record["agent"])
        else:
            await notify.call_started(
                desk, record["call"], pid, record["agent"], "call", resumed=True, only=pid
            )
            await desk.notify(record["agent"], sm.to_dict(sm.CallPeer(status="connected")))
    await notify.patient_state(desk, pid)


async def on_disconnect(desk: Desk, conn: Connection) -> None:
    """The patient's last socket here closed. Their place is kept for the grace period."""
    if conn.peer:
        await desk.notify(conn.peer, sm.to_dict(sm.CallPeer(status="reconnecting")))
        return
    record = await desk.engine.patient(conn.participant)
    if record.get("state") == "in_call" and record.get("callback_mode") and record.get("agent"):
        # An accepted call-back: the agent's "ring the page" follows the page.
        await notify.callback_task(desk, record.get("call", ""), conn.participant,
                                   record["agent"])  # fmt: skip


async def handle(desk: Desk, conn: Connection, message: ClientMessage) -> None:
    pid = conn.participant
    match message:
        case m.QueueJoin():
            await join(desk, conn, message)
        case m.QueueLeave():
            await leave(desk, pid, "patient_left")
        case m.QueueResume():
            await on_connect(desk, conn)
        case m.QueueCallback():
            if message.mode == "phone" and not message.phone:
                raise Conflict(
                    "Please give a phone number to call you back on.", code="phone_needed"
                )
            slot = None if message.slot is UNSET else message.slot
            if slot is not None and slot not in callback_slots(await desk.engine.clock_ms()):
                raise Conflict("Please choose one of the times offered.", code="slot_unavailable")
            await desk.engine.request_callback(pid, message.mode, message.phone, slot_ms=slot)
            await notify.patient_state(desk, pid)
        case m.QueueSlots():
            slots = callback_slots(await desk.engine.clock_ms())
            await conn.send(sm.QueueSlots(slots=slots))
        case m.QueueCallbackCancel():
            await desk.engine.cancel_callback(pid)
            await notify.patient_state(desk, pid)
        case m.SurveySubmit():
            await desk.engine.rate(pid, message.rating, message.comment)
            await conn.send(sm.SurveyThanks())
        case _:  # the router sends nothing else here; keep the loop safe anyway
            raise m.ProtocolError("unknown_type", "Unknown message type.")


async def desk_status(desk: Desk, session: Session) -> dict[str, Any]:
    """Whether anyone answers the patient's queue now (agents signed in and working it)
    and the desk's opening hours, when set: what the lobby tells a patient before they
    join, so it never promises a short wait nobody is there to keep."""
    staffed = await desk.engine.redis.scard(desk.keys.staffed(session.queue))
    hours = desk.settings.opening_hours
    return {
        "staffed": int(staffed) > 0,
        "hours": hours.public(datetime.now(UTC)) if hours is not None else None,
    }


async def leave(desk: Desk, pid: str, reason: str) -> None:
    """The patient leaves from whatever state they are in; whoever else was involved
    (the agent of their offer or call) is told at once."""
    state, queue, agent, call = await desk.engine.leave(pid, reason)
    log.info("patient %s left (was %s, %s)", pid, state, reason)
    ended = "patient_ended" if reason == "patient_left" else reason
    if state in ("in_call", "on_hold"):
        await notify.call_ended(desk, call, pid, agent, ended)
    elif state == "offered" and agent:
        await desk.notify(agent, sm.to_dict(sm.AgentOfferCancelled(reason=reason)))
        await notify.agent_state(desk, agent)
        await notify.dispatch(desk, queue)
    await desk.queue_changed(queue)
    await notify.patient_state(desk, pid)


async def remove_revoked(desk: Desk, patients: list[str]) -> None:
    """A revoked token's patients leave the queue at once (event ``left``, reason
    ``revoked``), and a call in progress ends with ``call.ended`` (reason ``revoked``) to
    both sides. Every process runs this for the same broadcast: the leave script is
    one atomic step, so only the first finds the patient still in a visit."""
    for pid in patients:
        record = await desk.engine.patient(pid)
        if record.get("state") in ACTIVE_PATIENT_STATES:
            await leave(desk, pid, "revoked")


async def join(desk: Desk, conn: Connection, message: m.QueueJoin) -> None:
    """Put the patient in their link's queue (or give back the place they hold)."""
    if desk.lifecycle.draining:
        raise Unavailable("This server is restarting. Reconnecting…", code="draining")
    pid = conn.participant
    session = conn.session
    current = await desk.engine.patient(pid)
    active = current.get("state") in ACTIVE_PATIENT_STATES
    if not active and time.time() >= session.exp:
        raise Unauthorized("Your link has expired. Please ask for a new one.", code="token_expired")
    if not active and session.single_use:
        owned = await desk.tokens.consume_invite(session.jti, session.exp, pid)
        if not owned:
            raise Conflict(
                "This invitation link has already been used. Please ask for a new one.",
                code="invite_used",
            )
    details = PatientDetails(
        name=message.name.strip() or session.name,
        reason=session.reason if message.reason is UNSET else message.reason,
        language="en" if message.language is UNSET else message.language,
        needs=message.needs,
        priority="urgent" if session.priority == "urgent" else "normal",
    )
    ticket = await desk.engine.join(pid, session.queue, details)
    conn.queue = ticket.queue
    log.info(
        "patient %s joined %s (ticket %s, new %s)", pid, ticket.queue, ticket.ticket, ticket.created
    )
    if ticket.created:
        await notify.dispatch(desk, ticket.queue)
    await notify.patient_state(desk, pid)
    await conn.send(sm.QueueJoined(created=ticket.created, queue=ticket.queue))
    if details.reason:
        await selfhelp.suggest(desk, conn, details.reason)
        await emergency.heard(desk, pid, details.reason, source="reason")


SLOT_MS = 30 * 60_000
SLOTS_OFFERED = 8
SLOT_LEAD_MS = 30 * 60_000


def callback_slots(now_ms: int) -> list[int]:
    """Call-back slots on offer: the next half hours, starting at least 30 min from now."""
    first = (now_ms + SLOT_LEAD_MS + SLOT_MS - 1) // SLOT_MS * SLOT_MS
    return [first + i * SLOT_MS for i in range(SLOTS_OFFERED)]
