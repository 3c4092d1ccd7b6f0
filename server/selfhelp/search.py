"""BM25 ranking over the self-help articles (in process: no outside service).

Title and keywords count double; words are lower-cased, accents folded and a
plural ``s`` dropped, so "Prescriptions" finds "prescription".
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from server.selfhelp.articles import Article

K1 = 1.4
B = 0.75
_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    """a an and are as at be by can do does for from have how i if in is it my me of on or
    our please so that the this to was we what when where which who why will with you your
    el la los las de del y o que en un una por para mi con es""".split()
)


def words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    result = []
    for word in _WORD.findall(plain):
        if word in STOPWORDS:
            continue
        if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        result.append(word)
    return result


@dataclass(frozen=True, slots=True)
class Hit:
    article: Article
    score: float


class ArticleIndex:
    """An in-memory BM25 index of the articles."""

    def __init__(self, articles: list[Article]) -> None:
        self.articles = articles
        self._docs: list[Counter[str]] = []
        for article in articles:
            terms = words(article.title) * 2 + words(" ".join(article.keywords)) * 2
            terms += words(article.body)
            self._docs.append(Counter(terms))
        lengths = [sum(doc.values()) for doc in self._docs]
        self._lengths = lengths
        self._average = (sum(lengths) / len(lengths)) if lengths else 1.0
        frequency: Counter[str] = Counter()
        for doc in self._docs:
            frequency.update(doc.keys())
        n = len(self._docs)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}

    def search(self, query: str, limit: int = 3, minimum: float = 0.5) -> list[Hit]:
        terms = words(query)[:50]
        hits = []
        for article, doc, length in zip(self.articles, self._docs, self._lengths, strict=True):
            score = 0.0
            for term in terms:
                count = doc.get(term, 0)
                if count:
                    norm = K1 * (1 - B + B * length / self._average)
                    score += self._idf[term] * count * (K1 + 1) / (count + norm)
            if score >= minimum:
                hits.append(Hit(article, score))
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]

    def get(self, slug: str) -> Article | None:
        return next((a for a in self.articles if a.slug == slug), None)
