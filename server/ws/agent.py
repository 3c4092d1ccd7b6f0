"""Agent messages: status, where an offer is accepted or declined, end, hold, transfer,
wrap-up and notes."""

from __future__ import annotations

import logging

from server.desk import Desk
from server.errors import BadRequest
from server.queue.models import Offer
from server.ws import notify
from server.ws.connection import Connection
from signaling.messages import ClientMessage

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
        await notify.call_started(
            desk,
            record["call"],
            record["patient"],
            aid,
            call.get("kind", "call"),
            resumed=True,
            only=aid,
        )
        await desk.notify(record["patient"], {"type": "call.peer", "status": "connected"})


async def on_disconnect(desk: Desk, conn: Connection) -> None:
    """The agent's last socket here closed; an open offer waits for its deadline."""
    if conn.peer:
        await desk.notify(conn.peer, {"type": "call.peer", "status": "reconnecting"})


async def handle(desk: Desk, conn: Connection, message: ClientMessage) -> None:
    aid = conn.participant
    data = message.data
    kind = message.type
    engine = desk.engine
    if kind == "agent.status":
        record = await engine.agent(aid)
        offer = await engine.set_status(aid, data["status"], data.get("reason", ""))
        if record.get("state") == "offered" and data["status"] != "available":
            # The open offer went back: the patient keeps their place.
            await notify.dispatch(desk, *record.get("queues", "").split(","))
        await notify.agent_state(desk, aid)
        if offer is not None:
            await notify.offers(desk, [offer])
    elif kind == "agent.accept":
        call = await engine.accept(aid, data["token"])
        log.info("agent %s accepted %s: call %s", aid, call.patient, call.call_id)
        await notify.agent_state(desk, aid)
        await notify.call_started(desk, call.call_id, call.patient, aid, call.kind)
        await notify.patient_state(desk, call.patient)
        await desk.queue_changed(call.queue)
    elif kind == "agent.decline":
        queue = await engine.decline(aid, data["token"], data.get("reason", "declined"))
        await notify.agent_state(desk, aid)
        await notify.dispatch(desk, queue)
    elif kind in ("agent.end", "call.bye"):
        end = await engine.finish(aid, "completed")
        log.info("agent %s ended call %s", aid, end.call_id)
        await notify.call_ended(desk, end.call_id, end.patient, aid, "completed")
    elif kind in ("agent.hold", "agent.unhold"):
        hold = kind == "agent.hold"
        pid, _call = await (engine.hold(aid) if hold else engine.resume(aid))
        await desk.notify(pid, {"type": "call.hold", "on": hold})
        await conn.send({"type": "call.hold", "on": hold})
        await notify.patient_state(desk, pid)
    elif kind == "agent.transfer":
        await transfer(desk, conn, message)
    elif kind == "agent.wrapup":
        await wrapup(desk, conn, message)
    elif kind == "agent.note":
        record = await engine.agent(aid)
        call_id = record.get("call") or record.get("last_call")
        if not call_id:
            raise BadRequest("There is no call to keep notes on.", code="no_call")
        await engine.save_call_text(call_id, "notes", data["text"])
        await conn.send({"type": "agent.note_saved", "call": call_id})


async def transfer(desk: Desk, conn: Connection, message: ClientMessage) -> None:
    aid = conn.participant
    data = message.data
    queue, agent = data.get("queue"), data.get("agent")
    if (queue is None) == (agent is None):
        raise BadRequest("Transfer to one queue or one agent.", code="invalid_field")
    call_id = (await desk.engine.agent(aid)).get("call", "")
    pid, new_queue, offer = await desk.engine.transfer(
        aid, queue=queue, agent=agent, note=data.get("note", "")
    )
    log.info("agent %s transferred %s to %s", aid, pid, "agent" if agent else new_queue)
    await notify.call_ended(desk, call_id, pid, aid, "transferred")
    if offer is not None:
        await notify.offers(desk, [offer])
    else:
        await notify.dispatch(desk, new_queue)


async def wrapup(desk: Desk, conn: Connection, message: ClientMessage) -> None:
    aid = conn.participant
    data = message.data
    outcome = data["outcome"]
    if outcome not in desk.settings.outcome_codes:
        raise BadRequest(
            f"Choose an outcome: {', '.join(desk.settings.outcome_codes)}.", code="invalid_field"
        )
    record = await desk.engine.agent(aid)
    if data.get("note") and record.get("last_call"):
        await desk.engine.save_call_text(record["last_call"], "wrapup_note", data["note"])
    default_next = "available" if desk.settings.auto_available_after_wrapup else "away"
    available = data.get("next", default_next) == "available"
    offer = await desk.engine.wrapup_done(aid, outcome, available=available)
    await notify.agent_state(desk, aid)
    if offer is not None:
        await notify.offers(desk, [offer])
