// @ts-check
// A message from the desk to everyone waiting in one queue (staff.message; the desk
// confirms with staff.sent and shows it to those patients as queue.notice). The same
// form serves the agent console (the agent's queues) and the admin console (all);
// its words come from the staff catalogue.

import { byId, fillSelect, setText } from "./dom.js";
import { render } from "./i18n.js";

export class StaffMessageForm {
  /**
   * @param {object} options
   * @param {import("./protocol.js").Protocol} options.protocol
   * @param {(id: string|null, purpose: string) => void} options.sent
   * @param {string} [options.prefix]  the ids: <prefix>-form, -queue, -text, -status
   */
  constructor({ protocol, sent, prefix = "notice" }) {
    this.queue = byId(`${prefix}-queue`, HTMLSelectElement);
    // A one-line input on the agent console, a text area on the admin's.
    this.text = /** @type {HTMLInputElement | HTMLTextAreaElement} */ (byId(`${prefix}-text`));
    this.status = byId(`${prefix}-status`);
    /** @type {string[]} */
    this.names = [];
    byId(`${prefix}-form`).addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.text.value.trim();
      if (!text) {
        render(this.status, "staff.write_first");
        this.text.focus();
        return;
      }
      render(this.status, "staff.sending");
      sent(protocol.staffMessage(this.queue.value, text), "staff");
    });
  }

  /**
   * The queues that can be messaged.
   * @param {string[]} names
   */
  setQueues(names) {
    if (names.join() === this.names.join()) return;
    this.names = [...names];
    fillSelect(
      this.queue,
      names.map((name) => ({ value: name, label: name })),
    );
  }

  /**
   * staff.sent
   * @param {string} queue
   */
  delivered(queue) {
    render(this.status, "staff.sent", { queue });
    this.text.value = "";
  }

  /** @param {string} [message]  the desk's words (none: "not sent") */
  failed(message) {
    render(this.status, message ? null : "staff.not_sent");
    if (message) setText(this.status, message);
  }
}
