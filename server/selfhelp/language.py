"""The languages of the self-help articles, and how each one's words are matched.

The languages are the patient pages' (``web/static/i18n/<lang>.json``); English is
the default, and the language an article falls back to when it has no version in the
reader's. Matching is deliberately light: lower case, accents folded, stopwords
dropped, plurals made singular, so "Recetas" finds "receta" and "Prescriptions"
finds "prescription".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "es")

_WORD = re.compile(r"[a-z0-9]+")
_VOWELS = frozenset("aeiou")

# English keeps the few Spanish function words it always had, so a Spanish question
# asked of the English articles matches on its content words only.
ENGLISH_STOPWORDS = frozenset(
    """a an and are as at be by can do does for from have how i if in is it my me of on or
    our please so that the this to was we what when where which who why will with you your
    el la los las de del y o que en un una por para mi con es""".split()
)
# Spanish, accents folded ("cómo" is "como"). Only the Spanish index uses these: some
# are English words that matter there ("son", "sin", "era").
SPANISH_STOPWORDS = frozenset(
    """a al algo algun alguna algunas alguno algunos ante antes aqui asi aun bien cada como
    con contra cual cuales cuando de del desde donde el ella ellas ello ellos en entre era
    eran es esa esas ese eso esos esta estaba estan estar estas este esto estos estoy favor
    fue gracias ha habia han has hay he hola la las le les lo los mas me mi mis mucho muy
    nada necesito ni no nos o os otra otro para pero poco por porque puede puedo que quien
    quiero quisiera se sea ser si sin sobre solo son soy su sus tambien tan te tengo tiene
    tu tus u un una uno unos usted ustedes y ya yo""".split()
)


def fold(text: str) -> str:
    """Lower case without accents: "Cámara" is "camara"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def english_singular(word: str) -> str:
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def spanish_singular(word: str) -> str:
    """Spanish plurals: a vowel takes -s (citas, pacientes), a consonant -es (doctores,
    hospitales, imagenes), and z becomes c (veces). A consonant cluster before -es
    (nombres, disponibles) or -aje (mensajes) keeps its e."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith("ss"):
        return word
    if len(word) > 4 and word.endswith("es"):
        stem = word[:-2]
        if stem[-2] in _VOWELS and stem[-1] == "c":
            return stem[:-1] + "z"
        if stem[-2] in _VOWELS and stem[-1] in "lrndy":
            return stem
    return word[:-1]


@dataclass(frozen=True, slots=True)
class Words:
    """How one language's text becomes search terms."""

    stopwords: frozenset[str]
    singular: Callable[[str], str]

    def __call__(self, text: str) -> list[str]:
        return [self.singular(w) for w in _WORD.findall(fold(text)) if w not in self.stopwords]


WORDS = {
    "en": Words(ENGLISH_STOPWORDS, english_singular),
    "es": Words(SPANISH_STOPWORDS, spanish_singular),
}


def supported(language: str | None) -> str | None:
    """The language if the self-help speaks it, else None."""
    return language if language in LANGUAGES else None
