// The help pages (/help, /help/{slug}, and the not-found page): the reader's language
// for the page's own text, and on /help a search of the articles. The query goes in a
// POST body (lib/articles.js), never in the address bar.

import { ARTICLE_LANGUAGE, searchArticles } from "../lib/articles.js";
import { make } from "../lib/dom.js";
import * as i18n from "../lib/i18n.js";

async function search(query, status, results) {
  if (!query) {
    i18n.render(status, "help.search.empty");
    return;
  }
  i18n.render(status, "help.search.running");
  let articles;
  try {
    articles = await searchArticles(query);
  } catch {
    i18n.render(status, "help.failed");
    return;
  }
  results.replaceChildren(
    ...articles.map(({ slug, title, summary }) => {
      const item = make("li", { attrs: { lang: ARTICLE_LANGUAGE } });
      const link = make("a", { text: title });
      link.href = `/help/${encodeURIComponent(slug)}`;
      item.append(link);
      if (summary) item.append(make("p", { text: summary }));
      return item;
    }),
  );
  if (articles.length === 0) i18n.render(status, "help.search.none");
  else if (articles.length === 1) i18n.render(status, "help.search.found_one");
  else i18n.render(status, "help.search.found", { count: articles.length });
}

async function start() {
  try {
    await i18n.setLanguage(i18n.preferredLanguage());
  } catch {
    // The page is rendered in English already.
  }
  i18n.bindSwitch(document.getElementById("language-switch"));
  const form = document.getElementById("help-search-form");
  if (!form) return;
  const input = document.getElementById("help-search");
  const status = document.getElementById("help-search-status");
  const results = document.getElementById("help-search-results");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search(input.value.trim(), status, results);
  });
}

start();
