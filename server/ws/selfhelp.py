"""Self-help in the waiting room: suggested articles, "this answered my question", and the
automated assistant.

Articles come in the patient's language: the one ``assistant.ask`` names (the page's),
else the one they wait in (their ``queue.join`` language when the queue serves it), else
English. The page shows whatever it gets in its
current language (it re-reads titles by slug), so a suggestion's language matters for
matching more than for showing.
"""

from __future__ import annotations

import logging

from server.core.errors import NotFound
from server.selfhelp.assistant import answer
from server.selfhelp.language import DEFAULT_LANGUAGE, LANGUAGES, supported
from server.ws import notify
from server.ws.connection import Connection
from server.ws.desk import Desk
from signaling import messages as m
from signaling import server_messages as sm
from signaling.messages import UNSET, ClientMessage

log = logging.getLogger(__name__)


async def patient_language(desk: Desk, conn: Connection, named: str | None = None) -> str:
    """The language to answer the patient in (``named``: the one their message gave)."""
    language = supported(named)
    if language is None:
        record = await desk.engine.patient(conn.participant)
        language = supported(record.get("language")) or DEFAULT_LANGUAGE
    return language


async def suggest(desk: Desk, conn: Connection, text: str) -> None:
    """Send articles matching a reason or question (nothing when none match).

    The text may be in any language (a reason typed by staff into an invite, or by the
    patient in theirs), so every language's articles are searched, the patient's first.
    """
    language = await patient_language(desk, conn)
    hits = desk.help.search(text, language, limit=3, written_in=[language, *LANGUAGES])
    articles = [sm.Article(**hit.article.public()) for hit in hits]
    await conn.send(sm.HelpSuggestions(articles=articles))


async def handle(desk: Desk, conn: Connection, message: ClientMessage) -> None:
    match message:
        case m.HelpSuggest():
            text = message.text
            if text is UNSET:
                text = (await desk.engine.patient(conn.participant)).get("reason", "")
            await suggest(desk, conn, text)
        case m.HelpResolved():
            if not desk.help.known(message.slug):
                raise NotFound("There is no such article.", code="unknown_article")
            state, queue, _, _ = await desk.engine.leave(conn.participant, "self_help")
            log.info("patient %s resolved by self-help (was %s)", conn.participant, state)
            await desk.queue_changed(queue)
            await notify.patient_state(desk, conn.participant)
        case m.AssistantAsk():
            asked = None if message.language is UNSET else message.language
            language = await patient_language(desk, conn, asked)
            reply = answer(desk.help, message.text, language)
            log.info("assistant answered %s with %s (%s)", conn.participant, reply.kind, language)
            await conn.send(reply.message())
