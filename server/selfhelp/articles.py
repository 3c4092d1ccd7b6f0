"""Self-help articles: Markdown files with a small front matter, rendered safely.

An article file looks like::

    ---
    title: Repeat prescriptions
    summary: How to order a repeat prescription.
    keywords: prescription, repeat, pharmacy
    ---
    Markdown body…

Raw HTML in the Markdown is escaped (never passed through) and markdown-it's link
validation refuses ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` links, so
an article cannot carry script into the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from markdown_it import MarkdownIt

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


@dataclass(frozen=True, slots=True)
class Article:
    slug: str
    title: str
    summary: str
    keywords: tuple[str, ...]
    body: str  # Markdown
    html: str  # safe HTML rendered from the body

    def public(self) -> dict[str, str]:
        return {"slug": self.slug, "title": self.title, "summary": self.summary}


class ArticleError(ValueError):
    """An article file that cannot be used (its name and the problem)."""


def parse_article(slug: str, text: str) -> Article:
    if not _SLUG.fullmatch(slug):
        raise ArticleError(f"{slug}: file names must be lower-case words joined by -")
    meta: dict[str, str] = {}
    body = text
    if text.startswith("---\n"):
        header, separator, body = text[4:].partition("\n---\n")
        if not separator:
            raise ArticleError(f"{slug}: the front matter is not closed with ---")
        for line in header.splitlines():
            key, colon, value = line.partition(":")
            if colon:
                meta[key.strip().lower()] = value.strip()
    title = meta.get("title") or slug.replace("-", " ").capitalize()
    keywords = tuple(k.strip().lower() for k in meta.get("keywords", "").split(",") if k.strip())
    return Article(
        slug=slug,
        title=title,
        summary=meta.get("summary", ""),
        keywords=keywords,
        body=body.strip(),
        html=_RENDERER.render(body),
    )


def load_articles(folder: Path | None = None) -> list[Article]:
    """Every ``*.md`` article of the folder (the shipped sample set by default), by title."""
    if folder is None:
        source = files("web").joinpath("content", "help")
        entries = [(p.name, p.read_text(encoding="utf-8")) for p in source.iterdir()]
    else:
        entries = [(p.name, p.read_text(encoding="utf-8")) for p in folder.iterdir()]
    articles = [parse_article(name[:-3], text) for name, text in entries if name.endswith(".md")]
    return sorted(articles, key=lambda a: a.title)
