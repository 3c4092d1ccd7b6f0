// Self-help in the waiting room: articles matching the patient's reason (pushed by the
// desk as help.suggestions after joining), a search box, and a link to all articles.
// "This answered my question" (confirmed) sends help.resolved: the patient leaves the
// queue, counted as helped by self-help, and the page thanks them.

import { ArticleList, searchArticles } from "../lib/articles.js";
import { byId, show } from "../lib/dom.js";
import { render } from "../lib/i18n.js";

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
      this.search(byId("help-search").value.trim());
    });
  }

  /** help.suggestions: articles matching the reason (none: the search box stays). */
  suggest(articles) {
    this.suggestions.show(articles || []);
    show(byId("self-help-suggested"), this.suggestions.size > 0);
  }

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
      articles = await searchArticles(query);
    } catch {
      if (mine === this.searching) render(this.searchStatus, "help.failed");
      return;
    }
    if (mine !== this.searching) return; // a newer search is under way
    this.results.show(articles);
    if (articles.length === 0) render(this.searchStatus, "help.search.none");
    else if (articles.length === 1) render(this.searchStatus, "help.search.found_one");
    else render(this.searchStatus, "help.search.found", { count: articles.length });
  }

  /** help.resolved was refused (an article the desk no longer has). */
  failed(key) {
    render(this.searchStatus, key);
  }
}
