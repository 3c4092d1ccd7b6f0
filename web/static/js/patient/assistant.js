// @ts-check
// The waiting-room assistant: the patient asks (assistant.ask), the desk replies
// (assistant.reply) with a kind, and this page words the reply from the catalogue:
// `answer` (articles, opening in place), `unknown`, `medical` (never advice) or
// `emergency` (the emergency message and nothing else to read). The panel says plainly
// that it is automated; every reply offers the human queue. A question carries the
// page's language, and the reply's articles come in it.
//
// Each reply is announced politely through a short status line (what the assistant
// said and the articles' titles), not the whole panel, so a position change in the
// reply's "a person can help" line is not read twice. The emergency message is an
// alert instead: a screen reader reads it at once.

import { ArticleList } from "../lib/articles.js";
import { byId, make, show } from "../lib/dom.js";
import { label, language, render, t } from "../lib/i18n.js";

const QUEUED = new Set(["waiting", "offered"]);

/** @typedef {import("../lib/protocol.js").ServerMessages["assistant.reply"]} Reply */

export class Assistant {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {(id: string|null, purpose: string) => void} options.sent
   * @param {(slug: string) => void} options.onResolved  "this answered my question"
   * @param {() => void} options.onJoin  "talk to a person" when not in the queue
   */
  constructor({ protocol, sent, onResolved, onJoin }) {
    this.protocol = protocol;
    this.sent = sent;
    this.onResolved = onResolved;
    this.onJoin = onJoin;
    /** @type {import("../lib/protocol.js").QueueState | null} */
    this.state = null;
    this.question = "";
    this.replies = byId("assistant-replies");
    this.announce = byId("assistant-announce");
    this.input = byId("assistant-question", HTMLTextAreaElement);
    this.error = byId("assistant-error");
    /** @type {{text: HTMLElement, join: HTMLButtonElement} | null} */
    this.human = null; // the current reply's "a person can help" line
    byId("assistant-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.ask();
    });
  }

  ask() {
    const text = this.input.value.trim();
    show(this.error, false);
    if (!text) {
      this.failed("assistant.empty");
      this.input.focus();
      return;
    }
    this.question = text;
    this.sent(this.protocol.assistantAsk(text, language()), "assistant");
  }

  /** @param {string} key */
  failed(key) {
    render(this.error, key);
    show(this.error, true);
  }

  /**
   * assistant.reply
   * @param {Reply} reply
   */
  reply({ kind, articles }) {
    const reply = make("div", { className: "assistant-reply" });
    reply.dataset.kind = kind;
    const asked = make("p", { className: "assistant-asked" });
    asked.append(
      label(make("span", { className: "assistant-who" }), "assistant.you_asked"),
      " ",
      make("span", { text: this.question }),
    );
    reply.append(asked);
    if (kind === "emergency") {
      reply.append(emergencyMessage());
    } else {
      const words = label(make("p", { className: "assistant-says" }), replyKey(kind));
      reply.append(words);
      if (kind === "answer" && articles && articles.length) {
        const list = make("ul", { className: "article-list" });
        new ArticleList(list, { level: 3, onResolved: this.onResolved }).show(articles);
        reply.append(list);
      }
    }
    reply.append(this.humanLine());
    this.drawHuman();
    this.replies.replaceChildren(reply);
    this.input.value = "";
    // Announced once, in the language of the moment (not redrawn on a switch).
    const titles = kind === "answer" ? (articles || []).map((a) => a.title) : [];
    this.announce.textContent =
      kind === "emergency" ? "" : [t(replyKey(kind)), ...titles].join(" ");
  }

  /**
   * queue.state: the "a person can help" line follows the patient's place.
   * @param {import("../lib/protocol.js").QueueState} state
   */
  update(state) {
    this.state = state;
    this.drawHuman();
  }

  /** The "a person can help" line of a reply: its text follows the patient's place. */
  humanLine() {
    const line = make("div", { className: "assistant-human" });
    const text = make("p", { className: "assistant-human-text" });
    const join = label(make("button", { className: "button button-primary" }), "assistant.human.join");
    join.type = "button";
    join.addEventListener("click", () => this.onJoin());
    line.append(text, join);
    this.human = { text, join };
    return line;
  }

  drawHuman() {
    if (!this.human) return;
    const { text, join } = this.human;
    /** @type {{state?: string, position?: number}} */
    const state = this.state || {};
    const position = state.position ?? 0;
    let queued = true;
    const inQueue = state.state !== undefined && QUEUED.has(state.state);
    if (inQueue && position === 1) render(text, "assistant.human.next");
    else if (inQueue && position > 1) {
      render(text, "assistant.human.queued", { position });
    } else if (state.state === "callback_pending") render(text, "assistant.human.callback");
    else {
      render(text, "assistant.human.not_queued");
      queued = false;
    }
    show(join, !queued);
  }
}

/** @param {string} kind  the reply's */
function replyKey(kind) {
  if (kind === "answer") return "assistant.answer";
  if (kind === "medical") return "assistant.medical";
  return "assistant.unknown";
}

/** The emergency message: prominent, read at once, with no article to read instead. */
function emergencyMessage() {
  const box = make("div", { className: "emergency", attrs: { role: "alert" } });
  box.append(
    label(make("p", { className: "emergency-title" }), "assistant.emergency.title"),
    label(make("p"), "assistant.emergency.numbers"),
    label(make("p"), "assistant.emergency.not_here"),
  );
  return box;
}
