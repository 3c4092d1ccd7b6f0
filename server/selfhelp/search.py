"""The self-help library: each language's articles and a BM25 ranking over them (in
process: no outside service).

Title and keywords count double; words are matched as :mod:`server.selfhelp.language`
says for the articles' language. A reader gets every article in their language, an
article without a version in it in English. A search in another language than English
also ranks the English articles (a reason typed by staff in an invite, a word the reader
knows only in English) and shows what they find in the reader's language.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from server.selfhelp.articles import Article
from server.selfhelp.language import DEFAULT_LANGUAGE, LANGUAGES, WORDS, Words

K1 = 1.4
B = 0.75
MAX_QUERY_WORDS = 50


def words(text: str, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """The search terms of a text in that language."""
    return WORDS[lang](text)


@dataclass(frozen=True, slots=True)
class Hit:
    article: Article
    score: float


class Ranking:
    """BM25 over the articles of one language."""

    def __init__(self, articles: list[Article], words: Words) -> None:
        self.articles = articles
        self._words = words
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

    def search(self, query: str, limit: int, minimum: float) -> list[Hit]:
        terms = self._words(query)[:MAX_QUERY_WORDS]
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


class ArticleIndex:
    """Every article in every language, and their search (what the desk holds as ``help``)."""

    def __init__(self, articles: Iterable[Article]) -> None:
        written: dict[str, dict[str, Article]] = {lang: {} for lang in LANGUAGES}
        for article in articles:
            written[article.lang][article.slug] = article
        self._written = written
        self._rankings = {
            lang: Ranking(list(by_slug.values()), WORDS[lang]) for lang, by_slug in written.items()
        }

    def articles(self, lang: str = DEFAULT_LANGUAGE) -> list[Article]:
        """What a reader of ``lang`` can read, by title: each article in their language
        where it has a version in it, else in English."""
        slugs = self._written[DEFAULT_LANGUAGE].keys() | self._written[lang].keys()
        shown = [self._version(slug, lang) for slug in slugs]
        return sorted((a for a in shown if a is not None), key=lambda a: a.title)

    def get(self, slug: str, lang: str = DEFAULT_LANGUAGE) -> Article | None:
        """The article in ``lang``, else in English; None when the desk has no such one."""
        return self._version(slug, lang)

    def known(self, slug: str) -> bool:
        """Whether any language has this article."""
        return any(slug in by_slug for by_slug in self._written.values())

    def search(
        self,
        query: str,
        lang: str = DEFAULT_LANGUAGE,
        *,
        limit: int = 3,
        minimum: float = 0.5,
        written_in: Iterable[str] | None = None,
    ) -> list[Hit]:
        """The best articles for the query, shown in ``lang``, best first.

        ``written_in`` names the languages the query may be in (the rankings asked, in
        order); by default the reader's, then English. An article found by more than
        one keeps its first place.
        """
        sources = list(written_in) if written_in is not None else [lang, DEFAULT_LANGUAGE]
        hits: dict[str, Hit] = {}
        for source in dict.fromkeys(sources):
            for hit in self._rankings[source].search(query, limit, minimum):
                article = self._version(hit.article.slug, lang)
                if article is not None and article.slug not in hits:
                    hits[article.slug] = Hit(article, hit.score)
        return list(hits.values())[:limit]

    def _version(self, slug: str, lang: str) -> Article | None:
        return self._written[lang].get(slug) or self._written[DEFAULT_LANGUAGE].get(slug)
