// @ts-check
// Self-help in the waiting room: articles matching the patient's reason (pushed by the
// desk as help.suggestions after joining), a search box, and a link to all articles.
// "This answered my question" (confirmed) sends help.resolved: the patient leaves the
// queue, counted as helped by self-help, and the page thanks them.
//
// Everything follows the page's language: searches ask for articles in it, the lists
// show theirs again in a new one (lib/articles.js), and the links to /help open it in
// the page's language.

import { ArticleList, helpPage, searchArticles } from "../lib/articles.js";
import { byId, show } from "../lib/dom.js";
import { language, onLanguageChange, render } from "../lib/i18n.js";

export class SelfHelp {
  /**
   * @param {object} options
   * @param {(slug: string) => void} options.onResolved  the patient confirmed
   */
  constructor({ onResolved }) {
    this.suggestions = new ArticleList(byId("self-help-articles"), { level: 3, onResolved });
    this.results = new ArticleList(byId("help-search-results"), { level: 3, onResolved });
    this.searchStatus = byId("help-search-status");
    this.searching = 0;
    byId("help-search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.search(byId("help-search", HTMLInputElement).value.trim());
    });
    linkHelp(language());
    onLanguageChange((lang) => linkHelp(lang));
  }

  /**
   * help.suggestions: articles matching the reason (none: the search box stays).
   * @param {import("../lib/protocol.js").ArticleSummary[]} articles
   */
  async suggest(articles) {
    await this.suggestions.show(articles || []);
    show(byId("self-help-suggested"), this.suggestions.size > 0);
  }

  /** @param {string} query */
  async search(query) {
    if (!query) {
      render(this.searchStatus, "help.search.empty");
      byId("help-search").focus();
      return;
    }
    const mine = ++this.searching;
    render(this.searchStatus, "help.search.running");
    let articles;
    try {
      articles = await searchArticles(query, language());
    } catch {
      if (mine === this.searching) render(this.searchStatus, "help.failed");
      return;
    }
    if (mine !== this.searching) return; // a newer search is under way
    await this.results.show(articles);
    if (mine !== this.searching) return;
    if (articles.length === 0) render(this.searchStatus, "help.search.none");
    else if (articles.length === 1) render(this.searchStatus, "help.search.found_one");
    else render(this.searchStatus, "help.search.found", { count: articles.length });
  }

  /** help.resolved was refused (an article the desk no longer has). */
  /** @param {string} key */
  failed(key) {
    render(this.searchStatus, key);
  }
}

/**
 * The page's links to all the articles open them in its language.
 * @param {string} lang
 */
function linkHelp(lang) {
  for (const link of document.querySelectorAll('a[href="/help"], a[href^="/help?"]')) {
    link.setAttribute("href", helpPage("/help", lang));
  }
}
