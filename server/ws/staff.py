"""Staff messages: an admin or an agent tells everyone waiting in a queue (a delay notice)."""

from __future__ import annotations

import logging
import time
from typing import Any

from server.core.audit import audit
from server.core.errors import Forbidden
from server.queue.errors import UnknownQueue
from server.ws.connection import Connection
from server.ws.desk import Desk
from signaling import server_messages as sm
from signaling.messages import StaffMessage

log = logging.getLogger(__name__)

WAITING_STATES = ("waiting", "offered", "callback_pending")


async def handle(desk: Desk, conn: Connection, message: StaffMessage) -> None:
    queue = message.queue
    if queue not in desk.engine.queues:
        raise UnknownQueue("There is no such queue.")
    if conn.role == "agent" and queue not in conn.session.queues:
        raise Forbidden("You can only message queues you serve.")
    await send_notice(desk, queue, message.text)
    # Who told which queue, and when; not the words (they may name someone).
    await audit(desk.engine.redis, desk.keys, "staff_message", by=conn.session.participant,
                queue=queue, length=str(len(message.text)))  # fmt: skip
    await conn.send(sm.StaffSent(queue=queue))


async def send_notice(desk: Desk, queue: str, text: str) -> None:
    """Broadcast a notice; every process shows it to its waiting patients of that queue."""
    log.info("staff message to queue %s", queue)
    await desk.relay.broadcast(
        {"kind": "notice", "queue": queue, "text": text, "at": int(time.time() * 1000)}
    )


async def show_notice(desk: Desk, notice: dict[str, Any]) -> None:
    """On every process: show a broadcast notice to local patients waiting in its queue."""
    queue = notice.get("queue")
    frame = sm.encode(sm.QueueNotice(text=str(notice.get("text", "")), at=notice.get("at")))
    for conn in desk.hub.all("patient"):  # encoded once for all of them
        if conn.queue == queue and conn.last_state.get("state") in WAITING_STATES:
            await conn.send_frame(frame)
