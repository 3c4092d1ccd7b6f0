"""Self-help articles: Markdown files with a small front matter, rendered safely.

An article file looks like::

    ---
    title: Repeat prescriptions
    summary: How to order a repeat prescription.
    keywords: prescription, repeat, pharmacy
    ---
    Markdown body…

English articles sit in the folder itself, each other language's in a subfolder named
by its code (``es/repeat-prescriptions.md``): the same file name is the same article,
so a reader gets the version in their language, or the English one when there is none.

Raw HTML in the Markdown is escaped (never passed through) and markdown-it's link
validation refuses ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` links, so
an article cannot carry script into the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from markdown_it import MarkdownIt

from server.selfhelp.language import DEFAULT_LANGUAGE, LANGUAGES

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
_LANGUAGE_FOLDER = re.compile(r"^[a-z]{2,3}$")
_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


@dataclass(frozen=True, slots=True)
class Article:
    slug: str
    title: str
    summary: str
    keywords: tuple[str, ...]
    body: str  # Markdown
    html: str  # safe HTML rendered from the body
    lang: str = DEFAULT_LANGUAGE  # the language it is written in

    def public(self) -> dict[str, str]:
        return {"slug": self.slug, "title": self.title, "summary": self.summary, "lang": self.lang}


class ArticleError(ValueError):
    """An article file that cannot be used (its name and the problem)."""


def parse_article(slug: str, text: str, lang: str = DEFAULT_LANGUAGE) -> Article:
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
        lang=lang,
    )


def load_articles(folder: Path | None = None) -> list[Article]:
    """Every article of the folder (the shipped set by default) in every language, by
    language then title."""
    root: Traversable = files("web").joinpath("content", "help") if folder is None else folder
    articles = _read(root, DEFAULT_LANGUAGE)
    for entry in root.iterdir():
        if not entry.is_dir() or not _LANGUAGE_FOLDER.fullmatch(entry.name):
            continue  # not a language (images, say)
        if entry.name not in LANGUAGES or entry.name == DEFAULT_LANGUAGE:
            raise ArticleError(
                f"{entry.name}/: the articles' languages are English (in the folder itself) "
                f"and {', '.join(lang for lang in LANGUAGES if lang != DEFAULT_LANGUAGE)}"
            )
        articles += _read(entry, entry.name)
    return sorted(articles, key=lambda a: (a.lang, a.title))


def _read(folder: Traversable, lang: str) -> list[Article]:
    return [
        parse_article(entry.name[:-3], entry.read_text(encoding="utf-8"), lang)
        for entry in folder.iterdir()
        if entry.name.endswith(".md") and entry.is_file()
    ]
