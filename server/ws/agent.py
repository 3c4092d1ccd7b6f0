"""Agent messages: status, where an offer is accepted or declined, end, hold, transfer,
wrap-up and notes."""

from __future__ import annotations

import logging

from server.core.errors import BadRequest, Conflict
from server.queue.models import Offer
from server.ws import notify, outbound
from server.ws.connection import Connection
from server.ws.desk import Desk
from signaling import messages as m
from signaling import server_messages as sm
from signaling.messages import UNSET, ClientMessage

log = logging.getLogger(__name__)


async def on_connect(desk: Desk, conn: Connection) -> None:
    """An agent's socket opened: sign in (or resume) and resend whatever is open."""
    aid = conn.participant
    session = conn.session
    await desk.engine.agent_signin(aid, session.name, session.queues, session.languages)
    record = await desk.engine.agent(aid)
    await notify.agent_state(desk, aid)
    state = record.get("state")
    if state == "offered" and record.get("offer_patient"):
        offer = Offer(
            agent=aid,
            patient=record["offer_patient"],
            token=record.get("offer_token", ""),
            deadline_ms=int(record.get("offer_deadline") or 0),
            kind=record.get("offer_kind", "call"),  # type: ignore[arg-type]
            queue=(await desk.engine.patient(record["offer_patient"])).get("queue", ""),
        )
        await notify.offers(desk, [offer])
    elif state == "in_call" and record.get("patient") and record.get("call"):
        call = await desk.engine.call(record["call"])
        if call.get("kind") == "callback" and call.get("media") != "1":
            await notify.callback_task(desk, record["call"], record["patient"], aid)
            return
        await notify.call_started(
            desk,
            record["call"],
            record["patient"],
            aid,
            call.get("kind", "call"),
            resumed=True,
            only=aid,
        )
        await desk.notify(record["patient"], sm.to_dict(sm.CallPeer(status="connected")))


async def on_disconnect(desk: Desk, conn: Connection) -> None:
    """The agent's last socket here closed; an open offer waits for its deadline."""
    if conn.peer:
        await desk.notify(conn.peer, sm.to_dict(sm.CallPeer(status="reconnecting")))


async def handle(desk: Desk, conn: Connection, message: ClientMessage) -> None:
    """Each agent message type is handled by one function below."""
    match message:
        case m.AgentStatus():
            await status(desk, conn, message)
        case m.AgentAccept():
            await accept(desk, conn, message)
        case m.AgentDecline():
            await decline(desk, conn, message)
        case m.AgentEnd() | m.CallBye():
            await end(desk, conn)
        case m.AgentHold() | m.AgentUnhold():
            await hold(desk, conn, on=isinstance(message, m.AgentHold))
        case m.AgentTransfer():
            await transfer(desk, conn, message)
        case m.AgentWrapup():
            await wrapup(desk, conn, message)
        case m.AgentNote():
            await note(desk, conn, message)
        case m.AgentRing():
            await ring(desk, conn)
        case _:  # the router sends nothing else here; keep the loop safe anyway
            raise m.ProtocolError("unknown_type", "Unknown message type.")


async def status(desk: Desk, conn: Connection, message: m.AgentStatus) -> None:
    aid = conn.participant
    record = await desk.engine.agent(aid)
    if record.get("state") == "offline" and message.status != "offline":
        # Back from offline on an open console: sign in again (a fresh lease) first.
        session = conn.session
        await desk.engine.agent_signin(aid, session.name, session.queues, session.languages)
    offer = await desk.engine.set_status(aid, message.status, message.reason)
    if record.get("state") == "offered" and message.status != "available":
        # The open offer went back: the patient keeps their place.
        await notify.dispatch(desk, *record.get("queues", "").split(","))
    await notify.agent_state(desk, aid)
    if offer is not None:
        await notify.offers(desk, [offer])


async def accept(desk: Desk, conn: Connection, message: m.AgentAccept) -> None:
    """Where an offer is accepted: the call begins for both parties."""
    aid = conn.participant
    call = await desk.engine.accept(aid, message.token)
    log.info("agent %s accepted %s: call %s", aid, call.patient, call.call_id)
    await notify.agent_state(desk, aid)
    if call.kind == "callback":
        # The agent phones the patient, or rings their page (agent.ring) first.
        await notify.callback_task(desk, call.call_id, call.patient, aid)
    else:
        await notify.call_started(desk, call.call_id, call.patient, aid, call.kind)
    await notify.patient_state(desk, call.patient)
    await desk.queue_changed(call.queue)


async def decline(desk: Desk, conn: Connection, message: m.AgentDecline) -> None:
    aid = conn.participant
    queue = await desk.engine.decline(aid, message.token, message.reason)
    await notify.agent_state(desk, aid)
    await notify.dispatch(desk, queue)


async def end(desk: Desk, conn: Connection) -> None:
    aid = conn.participant
    ended = await desk.engine.finish(aid, "completed")
    log.info("agent %s ended call %s", aid, ended.call_id)
    await notify.call_ended(desk, ended.call_id, ended.patient, aid, "completed")


async def hold(desk: Desk, conn: Connection, *, on: bool) -> None:
    aid = conn.participant
    pid, _call = await (desk.engine.hold(aid) if on else desk.engine.resume(aid))
    held = sm.CallHold(on=on)
    await desk.notify(pid, sm.to_dict(held))
    await conn.send(held)
    await notify.patient_state(desk, pid)


async def note(desk: Desk, conn: Connection, message: m.AgentNote) -> None:
    record = await desk.engine.agent(conn.participant)
    call_id = record.get("call") or record.get("last_call")
    if not call_id:
        raise BadRequest("There is no call to keep notes on.", code="no_call")
    await desk.call_notes.save(call_id, "notes", message.text)
    await conn.send(sm.AgentNoteSaved(call=call_id))


RING_SECONDS = 60


async def ring(desk: Desk, conn: Connection) -> None:
    """Ring a call-back patient's page: they confirm within a minute to start video."""
    record = await desk.engine.agent(conn.participant)
    call_id, pid = record.get("call", ""), record.get("patient", "")
    call = await desk.engine.call(call_id) if call_id else {}
    if call.get("kind") != "callback":
        raise Conflict("There is no call-back to ring.", code="no_call")
    ringing = sm.CallRing(
        call=call_id,
        agent=sm.Named(name=outbound.first_name(record.get("name", ""))),
        expires_in_ms=RING_SECONDS * 1000,
    )
    if not await desk.notify(pid, sm.to_dict(ringing)):
        raise Conflict("The patient's page is not open: please phone them.", code="not_connected")
    await conn.send(sm.AgentRinging(call=call_id, expires_in_ms=RING_SECONDS * 1000))


async def transfer(desk: Desk, conn: Connection, message: m.AgentTransfer) -> None:
    aid = conn.participant
    queue = None if message.queue is UNSET else message.queue
    agent = None if message.agent is UNSET else message.agent
    if (queue is None) == (agent is None):
        raise BadRequest("Transfer to one queue or one agent.", code="invalid_field")
    call_id = (await desk.engine.agent(aid)).get("call", "")
    pid, new_queue, offer = await desk.engine.transfer(
        aid, queue=queue, agent=agent, note=message.note
    )
    log.info("agent %s transferred %s to %s", aid, pid, "agent" if agent else new_queue)
    await notify.call_ended(desk, call_id, pid, aid, "transferred")
    if offer is not None:
        await notify.offers(desk, [offer])
    else:
        await notify.dispatch(desk, new_queue)


async def wrapup(desk: Desk, conn: Connection, message: m.AgentWrapup) -> None:
    aid = conn.participant
    outcome = message.outcome
    if outcome not in desk.settings.outcome_codes:
        raise BadRequest(
            f"Choose an outcome: {', '.join(desk.settings.outcome_codes)}.", code="invalid_field"
        )
    record = await desk.engine.agent(aid)
    if message.note and record.get("last_call"):
        await desk.call_notes.save(record["last_call"], "wrapup_note", message.note)
    default_next = "available" if desk.settings.auto_available_after_wrapup else "away"
    available = (default_next if message.next is UNSET else message.next) == "available"
    offer = await desk.engine.wrapup_done(aid, outcome, available=available)
    await notify.agent_state(desk, aid)
    if offer is not None:
        await notify.offers(desk, [offer])
