"""A patient who says something that sounds like an emergency: staff must learn of it.

The assistant answers such a question with the emergency message only (call the
emergency number); this module makes sure the desk knows too. The words heard (from
the assistant question or the reason given at join) flag the patient's record, so the
agent's offer, the context panel and the dashboard show them; the first flag of a
visit is an ``emergency`` event in the stream (the audit trail: patient id, queue and
band, never the words). With ``VIDEODESK_EMERGENCY_ESCALATION=urgent`` a waiting
patient also moves to the urgent band, keeping their ticket.
"""

from __future__ import annotations

import logging
import re

from server.queue.errors import WrongState
from server.selfhelp.assistant import EMERGENCY_PATTERNS, fold
from server.ws import notify
from server.ws.desk import Desk

log = logging.getLogger(__name__)

_PATTERNS = [re.compile(pattern) for pattern in EMERGENCY_PATTERNS]
MAX_WORDS = 6


def _folded_with_origins(text: str) -> tuple[str, list[int]]:
    """The folded text (as the assistant matches it) and, for each of its characters,
    the index of the character of ``text`` it came from."""
    chars: list[str] = []
    origins: list[int] = []
    for index, char in enumerate(text):
        for folded in fold(char):
            chars.append(folded)
            origins.append(index)
    return "".join(chars), origins


def emergency_words(text: str) -> list[str]:
    """The emergency phrases in a text, in the patient's own words (lower case): the match
    widened to whole words, so "desmay" is shown as the "desmayé" they wrote."""
    folded, origins = _folded_with_origins(text)
    found: list[str] = []
    for pattern in _PATTERNS:
        match = pattern.search(folded)
        if not match or match.end() == match.start():
            continue
        start, end = origins[match.start()], origins[match.end() - 1] + 1
        while start > 0 and text[start - 1].isalnum():
            start -= 1
        while end < len(text) and text[end].isalnum():
            end += 1
        word = " ".join(text[start:end].lower().replace(",", " ").split())
        if word and word not in found:
            found.append(word)
    return found[:MAX_WORDS]


async def heard(desk: Desk, pid: str, text: str, *, source: str) -> bool:
    """Flag the patient if ``text`` sounds like an emergency. True when flagged.

    A patient not in a visit (the question came before joining, or after leaving)
    has nothing to flag; the assistant's reply alone is what they get.
    """
    words = emergency_words(text)
    if not words:
        return False
    escalate = desk.settings.emergency_escalation == "urgent"
    try:
        flag = await desk.engine.flag_emergency(pid, words, escalate=escalate)
    except WrongState:
        return False
    if flag.first:
        log.warning(
            "patient %s flagged as a possible emergency (from %s, band %s)", pid, source, flag.band
        )
    if flag.state == "offered":
        # The agent already has the offer on screen: send it again with the flag.
        await notify.reoffer(desk, pid)
    await desk.queue_changed(flag.queue)  # positions (and the dashboard) change
    return True
