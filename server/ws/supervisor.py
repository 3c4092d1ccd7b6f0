"""Supervisors in a call: where a supervisor starts monitoring a call from the live
dashboard, switches to whisper or barge, and stops.

A supervisor joins the call as one more party of its mesh (server/queue/parties.py,
handle ``s1``…), making the offers to the patient and the agent like a guest does. What
the supervisor's page sends decides the mode, and each page shows it:

* **monitor** — the supervisor's page receives both parties' media and sends nothing;
  neither page shows the supervisor (unless ``VIDEODESK_SUPERVISOR_NOTICE``);
* **whisper** — the supervisor's microphone goes to the agent's connection only; the
  agent's page shows who is coaching them, the patient's nothing;
* **barge** — the supervisor is a visible party, heard and seen by both.

Every start, change and stop is an audit event (``supervisor_started``,
``supervisor_mode``, ``supervisor_stopped``: the call, the mode and who). Admins may
supervise any call; a supervisor token (role ``supervisor``), the calls of its queues.
"""

from __future__ import annotations

import logging
from typing import Any

from server.core.audit import audit
from server.core.errors import Conflict, Forbidden
from server.ws import guest, outbound
from server.ws.connection import Connection
from server.ws.desk import Desk
from server.ws.peers import before_send
from signaling import messages as m
from signaling.messages import ClientMessage

log = logging.getLogger(__name__)


async def handle(desk: Desk, conn: Connection, message: ClientMessage) -> None:
    match message:
        case m.SupervisorWatch():
            await watch(desk, conn, message.call, message.mode)
        case m.SupervisorMode():
            await change(desk, conn, message.mode)
        case m.SupervisorStop():
            await stop(desk, conn, reason="left")
        case _:  # the router sends nothing else here; keep the loop safe anyway
            raise m.ProtocolError("unknown_type", "Unknown message type.")


async def watch(desk: Desk, conn: Connection, call: str, mode: str) -> None:
    """supervisor.watch: into the call (another one is left first)."""
    if conn.call and conn.call != call:
        await stop(desk, conn, reason="left")
    record = await desk.engine.call(call)
    if not record or record.get("ended_at"):
        raise Conflict("That call is not in progress.", code="call_over")
    if conn.role == "supervisor" and record.get("queue") not in conn.session.queues:
        raise Forbidden("That call is in a queue you do not supervise.")
    joined = await desk.parties.supervise(
        call=call,
        supervisor=conn.participant,
        name=outbound.first_name(conn.session.name) or "Supervisor",
        mode=mode,
    )
    await audit(desk.engine.redis, desk.keys, "supervisor_started", call=call, mode=mode,
                by=conn.participant)  # fmt: skip
    log.info("supervisor %s: %s call %s (seq %d)", joined.handle, mode, call, joined.seq)
    agent = await desk.engine.agent(record.get("agent", ""))
    started = outbound.call_started(
        call,
        role="supervisor",
        peer_id="",
        peer_name=agent.get("name", ""),
        ice=desk.ice,
        kind=record.get("kind", "call"),
        resumed=not joined.created,
    )
    await _tell(conn, started)  # this page only: another tab of the admin's is not in it
    await guest.push_parties(desk, call)


async def change(desk: Desk, conn: Connection, mode: str) -> None:
    """supervisor.mode: the connections stay; what each page sends and shows changes."""
    handle = await desk.parties.handle_of(conn.call, conn.participant) if conn.call else ""
    if not handle or not await desk.parties.set_mode(conn.call, handle, mode):
        raise Conflict("You are not supervising a call.", code="not_in_call")
    await audit(desk.engine.redis, desk.keys, "supervisor_mode", call=conn.call, mode=mode,
                by=conn.participant)  # fmt: skip
    await guest.push_parties(desk, conn.call)


async def stop(desk: Desk, conn: Connection, *, reason: str) -> None:
    """supervisor.stop (or the supervisor's page went away): out of the call."""
    call = conn.call
    handle = await desk.parties.handle_of(call, conn.participant) if call else ""
    left = await desk.parties.leave(call=call, handle=handle) if handle else None
    if left is None:
        raise Conflict("You are not supervising a call.", code="not_in_call")
    await audit(desk.engine.redis, desk.keys, "supervisor_stopped", call=call, reason=reason,
                by=conn.participant)  # fmt: skip
    await _tell(conn, outbound.call_ended(call, "left"))
    await guest.push_parties(desk, call)


async def _tell(conn: Connection, message: dict[str, Any]) -> None:
    """Send to this socket, keeping its call state (server/ws/peers.py) as the hub does."""
    sent = before_send(conn, message)
    if sent is not None:
        await conn.send(sent)


async def on_disconnect(desk: Desk, conn: Connection) -> None:
    """The supervisor's page closed (its last socket here): they leave the call."""
    if conn.call:
        try:
            await stop(desk, conn, reason="page_closed")
        except Conflict:
            pass  # not in it any more (the call ended, or they stopped)
