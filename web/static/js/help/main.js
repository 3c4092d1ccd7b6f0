// @ts-check
// The help pages (/help, /help/{slug}, and the not-found page): the reader's language
// for the page's own text and for the articles, and on /help a search of the articles.
// The query goes in a POST body (lib/articles.js), never in the address bar.
//
// The desk renders the articles in the language of ?lang= (English without one) and
// names it in <html data-help-language>. A ?lang= in the address is the reader's
// choice; without one the page takes the reader's language (lib/i18n.js). When that
// is not the one rendered, or the reader switches, the page loads itself in it.

import { helpPage, searchArticles } from "../lib/articles.js";
import { make } from "../lib/dom.js";
import * as i18n from "../lib/i18n.js";

const rendered = document.documentElement.dataset.helpLanguage || "en";

/**
 * @param {string} query
 * @param {HTMLElement} status
 * @param {HTMLElement} results  a list
 */
async function search(query, status, results) {
  if (!query) {
    i18n.render(status, "help.search.empty");
    return;
  }
  i18n.render(status, "help.search.running");
  let articles;
  try {
    articles = await searchArticles(query, rendered);
  } catch {
    i18n.render(status, "help.failed");
    return;
  }
  results.replaceChildren(
    ...articles.map(({ slug, title, summary, lang }) => {
      const item = make("li", { attrs: { lang: lang || "en" } });
      const link = make("a", { text: title });
      link.href = helpPage(`/help/${encodeURIComponent(slug)}`, rendered);
      item.append(link);
      if (summary) item.append(make("p", { text: summary }));
      return item;
    }),
  );
  if (articles.length === 0) i18n.render(status, "help.search.none");
  else if (articles.length === 1) i18n.render(status, "help.search.found_one");
  else i18n.render(status, "help.search.found", { count: articles.length });
}

/**
 * This page in another language (its path kept, ?lang= replaced).
 * @param {string} lang
 */
function showIn(lang) {
  if (lang === rendered) return;
  location.replace(helpPage(location.pathname, lang));
}

async function start() {
  const asked = new URLSearchParams(location.search).get("lang") ?? "";
  const chosen = i18n.LANGUAGES.includes(asked);
  try {
    await i18n.setLanguage(chosen ? asked : i18n.preferredLanguage(), { remember: chosen });
    showIn(i18n.language());
  } catch {
    // The page's own text stays as rendered (English), its articles too.
  }
  i18n.onLanguageChange(showIn);
  i18n.bindSwitch(/** @type {HTMLSelectElement} */ (document.getElementById("language-switch")));
  const form = document.getElementById("help-search-form");
  if (!form) return; // an article's page, or the not-found page: no search
  const input = /** @type {HTMLInputElement} */ (document.getElementById("help-search"));
  const status = /** @type {HTMLElement} */ (document.getElementById("help-search-status"));
  const results = /** @type {HTMLElement} */ (document.getElementById("help-search-results"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search(input.value.trim(), status, results);
  });
}

start();
