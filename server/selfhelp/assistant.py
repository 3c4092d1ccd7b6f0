"""The waiting-room assistant: answers questions from the self-help articles.

It says plainly that it is automated, always offers the human queue, never gives
medical advice, and answers anything that sounds like an emergency with the
emergency message only (no article). Deliberately simple and predictable: a
keyword check for emergencies and for requests for medical advice, then the
article search.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from server.selfhelp.language import DEFAULT_LANGUAGE
from server.selfhelp.search import ArticleIndex
from signaling.server_messages import Article, AssistantReply

# Phrases that mean "this may be an emergency" (English and Spanish), checked on
# folded text. False alarms are acceptable; a missed emergency is not.
EMERGENCY_PATTERNS = [
    r"emergenc",
    r"urgent",
    r"urgencia",
    r"chest pain",
    r"dolor (de|en el) pecho",
    r"can.?t breathe",
    r"cannot breathe",
    r"not breathing",
    r"short(ness)? of breath",
    r"no puedo respirar",
    r"dificultad para respirar",
    r"unconscious",
    r"inconsciente",
    r"passed out",
    r"fainted",
    r"desmay",
    r"stroke",
    r"derrame",
    r"ictus",
    r"face drooping",
    r"seizure",
    r"convulsi",
    r"overdose",
    r"sobredosis",
    r"poison",
    r"envenen",
    r"bleeding (heavily|a lot|badly|won.?t stop)",
    r"sangr(ado|ando) mucho",
    r"suicid",
    r"kill myself",
    r"end my life",
    r"hurt myself",
    r"self.?harm",
    r"quitarme la vida",
    r"heart attack",
    r"infarto",
    r"anaphyla",
    r"allergic reaction",
    r"reaccion alergica",
    r"\b(911|999|112)\b",
    r"ambulance",
    r"ambulancia",
    r"severe pain",
    r"dolor (muy )?fuerte",
]
MEDICAL_ADVICE_PATTERNS = [
    r"\bshould i (take|stop|use|double)",
    r"how (much|many) .*(take|dose|mg)",
    r"\bdos(e|age|is)\b",
    r"\bmg\b",
    r"is it safe",
    r"side effect",
    r"efecto(s)? secundario",
    r"\bdiagnos",
    r"what (is|could be) wrong",
    r"do i have",
    r"symptom",
    r"sintoma",
    r"\btreat(ment)?\b",
    r"tratamiento",
    r"cuanto debo tomar",
    r"puedo tomar",
    r"can i take",
]
_EMERGENCY = re.compile("|".join(EMERGENCY_PATTERNS))
_MEDICAL = re.compile("|".join(MEDICAL_ADVICE_PATTERNS))


@dataclass(frozen=True, slots=True)
class Reply:
    """What the assistant says; ``kind`` is emergency, medical, answer or unknown."""

    kind: str
    articles: list[dict[str, str]] = field(default_factory=list)

    def message(self) -> AssistantReply:
        return AssistantReply(
            kind=self.kind,  # type: ignore[arg-type]  # one of the four
            automated=True,
            articles=[Article(**article) for article in self.articles],
            human_queue=True,
        )


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def is_emergency(text: str) -> bool:
    return bool(_EMERGENCY.search(fold(text)))


def asks_medical_advice(text: str) -> bool:
    return bool(_MEDICAL.search(fold(text)))


def answer(index: ArticleIndex, question: str, lang: str = DEFAULT_LANGUAGE) -> Reply:
    """The reply to one question, with articles in the patient's language ``lang`` (the
    page words the reply itself from the catalogue by ``kind``)."""
    if is_emergency(question):
        return Reply("emergency")
    if asks_medical_advice(question):
        return Reply("medical")
    hits = index.search(question, lang, limit=3)
    if not hits:
        return Reply("unknown")
    return Reply("answer", [hit.article.public() for hit in hits])
