// Self-help articles in a page: a list of titles and summaries, each opening in place
// to the full article (GET /api/v1/help/articles/{slug}), and search (POST
// /api/v1/help/search: a patient may type something personal, so the query goes in a
// request body, never in a URL).
//
// Titles and summaries go in as text. The article body is the one piece of HTML the
// browser code inserts: see insertArticleHtml below.

import { requestJson } from "./api.js";
import { make } from "./dom.js";
import { label } from "./i18n.js";

// The language the desk's articles are written in (the shipped ones are English); the
// page around them may be in another, so they carry their own lang attribute.
export const ARTICLE_LANGUAGE = "en";

let made = 0;

/** A page-unique id for elements made from code (aria-controls, aria-labelledby). */
export function uniqueId(prefix) {
  made += 1;
  return `${prefix}-${made}`;
}

export async function fetchArticle(slug) {
  return requestJson("GET", `/api/v1/help/articles/${encodeURIComponent(slug)}`);
}

export async function searchArticles(query) {
  const reply = await requestJson("POST", "/api/v1/help/search", { body: { q: query } });
  return (reply && reply.articles) || [];
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
 */
export function insertArticleHtml(container, html, { shift = 0 } = {}) {
  const inert = new DOMParser().parseFromString(String(html), "text/html");
  container.replaceChildren(...[...inert.body.childNodes].map((node) => clean(node, shift)));
}

function clean(node, shift) {
  if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.textContent);
  if (node.nodeType !== Node.ELEMENT_NODE || !ALLOWED.has(node.tagName)) {
    return document.createTextNode(node.textContent || "");
  }
  let tag = node.tagName;
  if (/^H[1-6]$/.test(tag)) tag = `H${Math.min(6, Number(tag[1]) + shift)}`;
  if (tag === "IMG") return document.createTextNode(node.getAttribute("alt") || "");
  const element = document.createElement(tag);
  if (tag === "A") {
    const href = node.getAttribute("href") || "";
    if (SAFE_LINK.test(href)) {
      element.setAttribute("href", href);
      element.target = "_blank";
      element.rel = "noopener noreferrer";
    }
  }
  element.append(...[...node.childNodes].map((child) => clean(child, shift)));
  return element;
}

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
  }

  /** Show these articles ([{slug, title, summary}]), replacing what was there. */
  show(articles) {
    this.list.replaceChildren(...articles.map((article) => this.item(article)));
  }

  get size() {
    return this.list.children.length;
  }

  item({ slug, title, summary }) {
    const item = make("li", { className: "article" });
    item.dataset.slug = slug;
    const bodyId = uniqueId("article");
    const heading = make(`h${this.level}`, {
      className: "article-title",
      attrs: { lang: ARTICLE_LANGUAGE },
    });
    const toggle = make("button", {
      className: "article-toggle",
      text: title,
      attrs: { type: "button", "aria-expanded": "false", "aria-controls": bodyId },
    });
    heading.append(toggle);
    item.append(heading);
    if (summary) {
      item.append(
        make("p", { className: "article-summary", text: summary, attrs: { lang: ARTICLE_LANGUAGE } }),
      );
    }
    const body = make("div", { className: "article-body", attrs: { id: bodyId } });
    body.hidden = true;
    item.append(body);
    toggle.addEventListener("click", () => this.toggle(toggle, body, slug));
    return item;
  }

  async toggle(toggle, body, slug) {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    body.hidden = !open;
    if (!open || body.dataset.loaded === "1") return;
    body.replaceChildren(label(make("p", { className: "hint" }), "help.loading"));
    try {
      const article = await fetchArticle(slug);
      const text = make("div", { className: "article-text", attrs: { lang: ARTICLE_LANGUAGE } });
      insertArticleHtml(text, article.html, { shift: this.level - 1 });
      body.replaceChildren(text);
      body.dataset.loaded = "1";
      if (this.onResolved) body.append(this.resolveControls(slug));
    } catch {
      body.replaceChildren(label(make("p", { className: "alert alert-error" }), "help.failed"));
    }
  }

  /** "This answered my question" → a confirmation → onResolved(slug). */
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
    yes.addEventListener("click", () => this.onResolved(slug));
    box.append(ask, confirm);
    return box;
  }
}
