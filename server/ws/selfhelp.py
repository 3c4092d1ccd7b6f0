"""Self-help in the waiting room: suggested articles, "this answered my question", and the
automated assistant."""

from __future__ import annotations

import logging

from server.desk import Desk
from server.errors import NotFound
from server.selfhelp.assistant import answer
from server.ws import notify
from server.ws.connection import Connection
from signaling.messages import ClientMessage

log = logging.getLogger(__name__)


async def suggest(desk: Desk, conn: Connection, text: str) -> None:
    """Send articles matching a reason or question (nothing when none match)."""
    hits = desk.help.search(text, limit=3)
    await conn.send(
        {"type": "help.suggestions", "articles": [hit.article.public() for hit in hits]}
    )


async def handle(desk: Desk, conn: Connection, message: ClientMessage) -> None:
    if message.type == "help.suggest":
        text = message.data.get("text")
        if text is None:
            text = (await desk.engine.patient(conn.participant)).get("reason", "")
        await suggest(desk, conn, text)
    elif message.type == "help.resolved":
        if desk.help.get(message.data["slug"]) is None:
            raise NotFound("There is no such article.", code="unknown_article")
        state, queue, _, _ = await desk.engine.leave(conn.participant, "self_help")
        log.info("patient %s resolved by self-help (was %s)", conn.participant, state)
        await desk.queue_changed(queue)
        await notify.patient_state(desk, conn.participant)
    elif message.type == "assistant.ask":
        reply = answer(desk.help, message.data["text"])
        log.info("assistant answered %s with %s", conn.participant, reply.kind)
        await conn.send(reply.message())
