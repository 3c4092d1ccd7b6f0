// @ts-check
// Self-help articles in a page: a list of titles and summaries, each opening in place
// to the full article (GET /api/v1/help/articles/{slug}), and search (POST
// /api/v1/help/search: a patient may type something personal, so the query goes in a
// request body, never in a URL).
//
// Articles come in the page's language (?lang= on every request), or in English where
// one has no version in it; each carries its own `lang`, and its elements say it, since
// it may differ from the page's. When the page's language changes, every list on it
// shows the same articles again in the new language (by slug), open ones re-read.
//
// Titles and summaries go in as text. The article body is the one piece of HTML the
// browser code inserts: see insertArticleHtml below.

import { requestJson } from "./api.js";
import { make } from "./dom.js";
import { label, language, onLanguageChange } from "./i18n.js";

const DEFAULT_LANGUAGE = "en";

let made = 0;

/** @typedef {import("./protocol.js").ArticleSummary} ArticleSummary */
/** @typedef {ArticleSummary & {html: string}} Article  an article with its body */

/**
 * A page-unique id for elements made from code (aria-controls, aria-labelledby).
 * @param {string} prefix
 */
export function uniqueId(prefix) {
  made += 1;
  return `${prefix}-${made}`;
}

/**
 * The address of a help page (/help, /help/{slug}) in a language: English needs no ?lang.
 * @param {string} path
 * @param {string} [lang]
 */
export function helpPage(path, lang = language()) {
  return lang === DEFAULT_LANGUAGE ? path : `${path}?lang=${encodeURIComponent(lang)}`;
}

/**
 * @param {string} path
 * @param {string} lang
 */
function inLanguage(path, lang) {
  return `${path}?lang=${encodeURIComponent(lang)}`;
}

/**
 * One article ({slug, title, summary, lang, html}) in `lang` (else in English).
 * @param {string} slug
 * @param {string} [lang]
 * @returns {Promise<Article>}
 */
export async function fetchArticle(slug, lang = language()) {
  return requestJson("GET", inLanguage(`/api/v1/help/articles/${encodeURIComponent(slug)}`, lang));
}

/**
 * The articles matching a query, shown in `lang`, best first.
 * @param {string} query
 * @param {string} [lang]
 * @returns {Promise<ArticleSummary[]>}
 */
export async function searchArticles(query, lang = language()) {
  /** @type {{articles?: ArticleSummary[]} | null} */
  const reply = await requestJson("POST", inLanguage("/api/v1/help/search", lang), {
    body: { q: query },
  });
  return (reply && reply.articles) || [];
}

/** @type {Map<string, Promise<Map<string, ArticleSummary>>>} lang → its articles by slug */
const listed = new Map();

/**
 * Every article's title and summary in `lang`, by slug (read once per page and language).
 * @param {string} lang
 * @returns {Promise<Map<string, ArticleSummary>>}
 */
function articlesIn(lang) {
  let articles = listed.get(lang);
  if (!articles) {
    /** @type {Promise<{articles?: ArticleSummary[]} | null>} */
    const reply = requestJson("GET", inLanguage("/api/v1/help/articles", lang));
    articles = reply.then(
      (reply) => new Map(((reply && reply.articles) || []).map((a) => [a.slug, a])),
    );
    articles.catch(() => listed.delete(lang)); // asked again next time
    listed.set(lang, articles);
  }
  return articles;
}

/**
 * These articles as `lang` has them: the desk may have sent them in another (a
 * suggestion matched in the language the patient joined with). As they came when the
 * list cannot be read.
 * @param {ArticleSummary[]} articles
 * @param {string} lang
 * @returns {Promise<ArticleSummary[]>}
 */
async function localised(articles, lang) {
  if (articles.every((article) => article.lang === lang)) return articles;
  try {
    const known = await articlesIn(lang);
    return articles.map((article) => known.get(article.slug) || article);
  } catch {
    return articles;
  }
}

// What the desk's Markdown renderer produces (CommonMark, raw HTML off); anything else
// is dropped. Links keep only an http(s), mailto, tel or same-site address.
const ALLOWED = new Set(
  "P H1 H2 H3 H4 H5 H6 UL OL LI STRONG EM CODE PRE A BLOCKQUOTE HR BR IMG".split(" "),
);
const SAFE_LINK = /^(https?:|mailto:|tel:|\/(?!\/)|#)/i;

/**
 * Put an article's body into `container`. THE ONE PLACE THE BROWSER CODE INSERTS HTML,
 * and only this: the desk's own article, rendered from its Markdown files on the
 * server with raw HTML disabled and javascript:/data: links refused
 * (server/selfhelp/articles.py). Nothing a person typed ever reaches it. As a second
 * line of defence it is parsed in an inert document (no script runs, nothing loads)
 * and kept to the elements Markdown makes, without attributes but a checked href.
 * Headings move down `shift` levels to sit under the page's own headings; links open
 * in a new tab (a waiting patient must not navigate away from their place).
 * @param {HTMLElement} container
 * @param {string} html
 * @param {{shift?: number}} [options]
 */
export function insertArticleHtml(container, html, { shift = 0 } = {}) {
  const inert = new DOMParser().parseFromString(String(html), "text/html");
  container.replaceChildren(...[...inert.body.childNodes].map((node) => clean(node, shift)));
}

/**
 * A copy of a node of the inert document, kept to what Markdown makes.
 * @param {Node} node
 * @param {number} shift  heading levels down
 * @returns {Node}
 */
function clean(node, shift) {
  if (node.nodeType === Node.TEXT_NODE) {
    return document.createTextNode(/** @type {string} a text node's */ (node.textContent));
  }
  const source = /** @type {Element} */ (node);
  if (node.nodeType !== Node.ELEMENT_NODE || !ALLOWED.has(source.tagName)) {
    return document.createTextNode(node.textContent || "");
  }
  let tag = source.tagName;
  if (/^H[1-6]$/.test(tag)) tag = `H${Math.min(6, Number(tag[1]) + shift)}`;
  if (tag === "IMG") return document.createTextNode(source.getAttribute("alt") || "");
  const element = document.createElement(tag);
  if (tag === "A") {
    const link = /** @type {HTMLAnchorElement} */ (element);
    const href = source.getAttribute("href") || "";
    if (SAFE_LINK.test(href)) {
      link.setAttribute("href", href);
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
  }
  element.append(...[...node.childNodes].map((child) => clean(child, shift)));
  return element;
}

/**
 * The lists on the page, re-shown in the new language when it changes.
 * @type {Set<ArticleList>}
 */
const lists = new Set();

onLanguageChange((lang) => {
  for (const list of lists) {
    if (list.list.isConnected) list.relabel(lang);
    else lists.delete(list); // removed from the page since
  }
});

/**
 * A list of articles (an <ul>), each a disclosure: its title is a button that opens
 * the article in place. With `onResolved`, an open article ends with "This answered my
 * question", confirmed before `onResolved(slug)` is called.
 */
export class ArticleList {
  /**
   * @param {HTMLElement} list  an <ul>
   * @param {object} [options]
   * @param {number} [options.level]  heading level of the titles (the page's outline)
   * @param {((slug: string) => void)|null} [options.onResolved]
   */
  constructor(list, { level = 3, onResolved = null } = {}) {
    this.list = list;
    this.level = level;
    this.onResolved = onResolved;
    this.shown = 0; // counts show() calls: only the latest fills the list
    lists.add(this);
  }

  /**
   * Show these articles ([{slug, title, summary, lang}]) in the page's language,
   * replacing what was there.
   * @param {ArticleSummary[]} articles
   */
  async show(articles) {
    const mine = ++this.shown;
    const lang = language();
    const local = await localised(articles, lang);
    if (mine !== this.shown) return; // newer articles arrived meanwhile
    this.list.replaceChildren(...local.map((article) => this.item(article)));
    if (lang !== language()) this.relabel(language()); // switched while reading
  }

  get size() {
    return this.list.children.length;
  }

  /** @param {ArticleSummary} article */
  item(article) {
    const item = make("li", { className: "article" });
    item.dataset.slug = article.slug;
    const bodyId = uniqueId("article");
    const heading = make(`h${this.level}`, { className: "article-title" });
    const toggle = make("button", {
      className: "article-toggle",
      attrs: { type: "button", "aria-expanded": "false", "aria-controls": bodyId },
    });
    heading.append(toggle);
    const summary = make("p", { className: "article-summary" });
    const body = make("div", { className: "article-body", attrs: { id: bodyId } });
    body.hidden = true;
    item.append(heading, summary, body);
    this.describe(item, article);
    toggle.addEventListener("click", () => this.toggle(toggle, body, article.slug));
    return item;
  }

  /**
   * An item's title and summary, in the article's language.
   * @param {HTMLElement} item  made by item()
   * @param {ArticleSummary} article
   */
  describe(item, { title, summary, lang }) {
    const heading = /** @type {HTMLElement} */ (item.querySelector(".article-title"));
    heading.setAttribute("lang", lang || DEFAULT_LANGUAGE);
    /** @type {HTMLElement} */ (heading.querySelector(".article-toggle")).textContent = title;
    const line = /** @type {HTMLElement} */ (item.querySelector(".article-summary"));
    line.setAttribute("lang", lang || DEFAULT_LANGUAGE);
    line.textContent = summary || "";
    line.hidden = !summary;
  }

  /**
   * The page's language changed: the same articles in it, open ones read again.
   * @param {string} lang
   */
  async relabel(lang) {
    if (this.size === 0) return;
    let known;
    try {
      known = await articlesIn(lang);
    } catch {
      return; // they stay as they are
    }
    if (lang !== language()) return; // switched again meanwhile
    for (const item of /** @type {NodeListOf<HTMLElement>} */ (
      this.list.querySelectorAll(":scope > .article")
    )) {
      const article = known.get(item.dataset.slug ?? "");
      if (!article) continue;
      this.describe(item, article);
      const body = /** @type {HTMLElement} */ (item.querySelector(".article-body"));
      delete body.dataset.loaded;
      delete body.dataset.loading; // a load under way is in the old language
      if (!body.hidden) this.load(body, article.slug);
    }
  }

  /**
   * @param {HTMLButtonElement} toggle
   * @param {HTMLElement} body
   * @param {string} slug
   */
  toggle(toggle, body, slug) {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    body.hidden = !open;
    if (open && body.dataset.loaded !== "1") this.load(body, slug);
  }

  /**
   * @param {HTMLElement} body
   * @param {string} slug
   */
  async load(body, slug) {
    const lang = language();
    body.dataset.loading = lang;
    body.replaceChildren(label(make("p", { className: "hint" }), "help.loading"));
    let article;
    try {
      article = await fetchArticle(slug, lang);
    } catch {
      article = null;
    }
    if (body.dataset.loading !== lang) return; // a load in another language took over
    delete body.dataset.loading;
    if (article === null) {
      body.replaceChildren(label(make("p", { className: "alert alert-error" }), "help.failed"));
      return;
    }
    const text = make("div", {
      className: "article-text",
      attrs: { lang: article.lang || DEFAULT_LANGUAGE },
    });
    insertArticleHtml(text, article.html, { shift: this.level - 1 });
    body.replaceChildren(text);
    body.dataset.loaded = "1";
    if (this.onResolved) body.append(this.resolveControls(slug));
  }

  /**
   * "This answered my question" → a confirmation → onResolved(slug).
   * @param {string} slug
   */
  resolveControls(slug) {
    const box = make("div", { className: "article-resolve" });
    const ask = label(make("button", { className: "button button-secondary" }), "help.answered");
    ask.type = "button";
    const confirm = make("div", { className: "article-confirm" });
    confirm.hidden = true;
    const yes = label(make("button", { className: "button button-primary" }), "help.answered.yes");
    const no = label(make("button", { className: "button button-quiet" }), "help.answered.no");
    yes.type = "button";
    no.type = "button";
    const actions = make("div", { className: "actions" });
    actions.append(yes, no);
    confirm.append(label(make("p"), "help.answered.confirm"), actions);
    ask.addEventListener("click", () => {
      ask.hidden = true;
      confirm.hidden = false;
      yes.focus();
    });
    no.addEventListener("click", () => {
      confirm.hidden = true;
      ask.hidden = false;
      ask.focus();
    });
    yes.addEventListener("click", () => this.onResolved?.(slug)); // set: load() checked
    box.append(ask, confirm);
    return box;
  }
}
