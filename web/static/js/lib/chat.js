// @ts-check
// The chat of a call (call.chat both ways, the history resent on reconnect).
// Messages are text: each goes into the page through textContent.

import { make, timeOfDay } from "./dom.js";

/** @typedef {import("./protocol.js").ChatMessage} ChatMessage */

export class ChatView {
  /**
   * @param {object} options
   * @param {HTMLElement} options.log  an <ol>
   * @param {HTMLFormElement} options.form
   * @param {HTMLInputElement|HTMLTextAreaElement} options.input
   * @param {(text: string) => boolean} options.send  false when not connected
   * @param {(from: string, handle?: string) => string} options.who  a label for
   *   "patient" / "agent" / a guest (by handle)
   * @param {string} options.self  this page's role ("patient", "agent" or "guest")
   */
  constructor({ log, form, input, send, who, self }) {
    this.log = log;
    this.input = input;
    this.who = who;
    this.self = self;
    this.handle = ""; // this page's handle in the call (a guest's own messages carry it)
    /** @type {ChatMessage[]} */
    this.messages = [];
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      if (send(text)) {
        this.add({ from: this.self, text, at: Date.now() });
        this.input.value = "";
      }
    });
  }

  /** @param {ChatMessage} message */
  add(message) {
    this.messages.push(message);
    this.log.append(this.render(message));
    this.log.scrollTop = this.log.scrollHeight;
  }

  /** @param {ChatMessage} message */
  render({ from, text, at, handle }) {
    const mine = from === this.self && (!handle || handle === this.handle);
    const item = make("li", { className: `chat-message ${mine ? "chat-mine" : "chat-theirs"}` });
    const meta = make("p", { className: "chat-meta" });
    meta.append(make("span", { className: "chat-who", text: this.who(from, handle) }));
    if (at) {
      const time = make("time", { text: timeOfDay(at) });
      time.dateTime = new Date(at).toISOString();
      meta.append(" ", time);
    }
    item.append(meta, make("p", { className: "chat-text", text: String(text) }));
    return item;
  }

  /**
   * Show the history the desk resent (after a reconnect), replacing what is shown.
   * @param {ChatMessage[]} [history]
   */
  reset(history = []) {
    this.messages = [];
    this.log.replaceChildren();
    for (const message of history) this.add(message);
  }

  /** Redraw labels (after a language change). */
  redraw() {
    const messages = this.messages;
    this.reset(messages);
  }
}
