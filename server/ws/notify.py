"""Telling patients and agents what changed, wherever their sockets are.

Every push is built from the state in Redis at that moment, so a push that is
lost (a socket reconnecting, a process dying) is repaired by the next one or by
the full state a socket gets when it reconnects.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable

from redis.exceptions import RedisError

from server.core.errors import DeskError
from server.queue.models import ACTIVE_PATIENT_STATES, Offer
from server.ws import guest, outbound
from server.ws.desk import Desk
from signaling import server_messages as sm

log = logging.getLogger(__name__)


async def patient_state(desk: Desk, pid: str) -> None:
    """Push a patient's queue state (position, estimate) to their sockets."""
    position = await desk.engine.position(pid)
    await desk.notify(pid, outbound.queue_state(position))


async def agent_state(desk: Desk, aid: str) -> None:
    record = await desk.engine.agent(aid)
    await desk.notify(aid, outbound.agent_state(record, desk.settings.outcome_codes))


async def offers(desk: Desk, made: Iterable[Offer]) -> None:
    """Send each offer to its agent, and tell the patient an agent is being connected."""
    queues = set()
    unreached = set()
    for offer in made:
        record = await desk.engine.patient(offer.patient)
        log.info("offer %s of %s to %s", offer.token, offer.patient, offer.agent)
        if not await _reached(desk, offer.agent, outbound.offer_message(offer, record)):
            # The agent's console is gone (closed within the idle grace period): the
            # patient goes to the next agent now instead of waiting out the offer.
            with contextlib.suppress(DeskError):
                await desk.engine.decline(offer.agent, offer.token, "not_connected")
                unreached.add(offer.queue)
            continue
        await agent_state(desk, offer.agent)
        if record.get("state") in ACTIVE_PATIENT_STATES:
            await patient_state(desk, offer.patient)
        queues.add(offer.queue)
    await desk.queue_changed(*queues)
    if unreached:  # each round sets at least one agent away, so this ends
        await dispatch(desk, *unreached)


async def reoffer(desk: Desk, pid: str) -> None:
    """Send an open offer of this patient again (same token and deadline): what the
    agent sees of them changed (an emergency flag)."""
    record = await desk.engine.patient(pid)
    aid = record.get("agent", "")
    if record.get("state") != "offered" or not aid:
        return
    agent = await desk.engine.agent(aid)
    if agent.get("offer_patient") != pid:
        return
    offer = Offer(
        agent=aid,
        patient=pid,
        token=agent.get("offer_token", ""),
        deadline_ms=int(agent.get("offer_deadline") or 0),
        kind=agent.get("offer_kind", "call"),  # type: ignore[arg-type]
        queue=record.get("queue", ""),
    )
    await _reached(desk, aid, outbound.offer_message(offer, record))


async def _reached(desk: Desk, agent: str, message: dict[str, object]) -> bool:
    """False only when the agent is connected nowhere (Redis errors count as reached:
    the offer's deadline settles it)."""
    try:
        return await desk.relay.send(agent, message)
    except RedisError as exc:
        log.warning("offer to %s not sent: %s", agent, type(exc).__name__)
        return True


async def dispatch(desk: Desk, *queues: str) -> None:
    """Offer waiting patients of these queues to available agents, and say so."""
    made = await desk.engine.dispatch([q for q in queues if q])
    await offers(desk, made)
    await desk.queue_changed(*queues)


async def call_ended(desk: Desk, call_id: str, pid: str, aid: str, reason: str) -> None:
    """Every party learns the call is over; the patient gets their new state too."""
    await guest.call_over(desk, call_id, reason)
    message = outbound.call_ended(call_id, reason)
    if pid:
        await desk.notify(pid, message)
        await patient_state(desk, pid)
    if aid:
        await desk.notify(aid, message)
        await agent_state(desk, aid)


async def call_started(
    desk: Desk,
    call_id: str,
    pid: str,
    aid: str,
    kind: str,
    *,
    resumed: bool = False,
    only: str | None = None,
) -> None:
    """Send ``call.started`` to both parties (or ``only`` one, when it reconnects)."""
    patient = await desk.engine.patient(pid)
    agent = await desk.engine.agent(aid)
    guests = await desk.parties.count(call_id)
    if guests and resumed and only is not None:  # its connections to the guests start again
        await desk.parties.rejoined(call_id, "agent" if only == aid else "patient")
    if only in (None, aid):
        message = outbound.call_started(
            call_id,
            role="agent",
            peer_id=pid,
            peer_name=patient.get("name", ""),
            ice=desk.ice,
            kind=kind,
            patient=outbound.patient_context(patient, kind),
            resumed=resumed,
            history=await desk.chat_log.history(call_id) if resumed else [],
        )
        await desk.notify(aid, message)
    if only in (None, pid):
        message = outbound.call_started(
            call_id,
            role="patient",
            peer_id=aid,
            peer_name=agent.get("name", ""),
            ice=desk.ice,
            kind=kind,
            resumed=resumed,
            history=await desk.chat_log.history(call_id) if resumed else [],
            on_hold=patient.get("state") == "on_hold",
        )
        await desk.notify(pid, message)
    if guests:  # everyone: a page that took the call again has a new seq
        await guest.push_parties(desk, call_id)


async def callback_task(desk: Desk, call_id: str, pid: str, aid: str) -> None:
    """The agent's side of an accepted call-back: the number, or a page to ring."""
    patient = await desk.engine.patient(pid)
    task = sm.AgentCallback(
        call=call_id,
        patient=outbound.patient_context(patient, "callback"),
        page_open=await _page_open(desk, pid),
    )
    await desk.notify(aid, sm.to_dict(task))


async def _page_open(desk: Desk, pid: str) -> bool:
    """Whether the patient has a socket open (on this process, or a route elsewhere)."""
    return desk.hub.has(pid) or await desk.relay.is_connected(pid)
