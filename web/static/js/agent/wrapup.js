// @ts-check
// Wrap-up after a call: an outcome code (the desk's list, from agent.state), a
// note, and what next (available or away).

import { byId, fillSelect, setText, show } from "../lib/dom.js";
import { has, t } from "../lib/i18n.js";

/**
 * An outcome code's label: the catalogue's (agent.outcome.<code>), else its words.
 * @param {string} code
 */
export function outcomeLabel(code) {
  if (has(`agent.outcome.${code}`)) return t(`agent.outcome.${code}`);
  const words = code.replaceAll("_", " ").replaceAll("-", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export class WrapupForm {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {(id: string|null, purpose: string) => void} options.sent
   */
  constructor({ protocol, sent }) {
    this.form = byId("wrapup-form", HTMLFormElement);
    /** @type {string[]} */
    this.codes = [];
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      show(byId("wrapup-error"), false);
      const outcome = byId("wrapup-outcome", HTMLSelectElement).value;
      const next = /** @type {HTMLInputElement} */ (
        this.form.querySelector("input[name=next]:checked")
      ).value;
      const note = byId("wrapup-note", HTMLTextAreaElement).value.trim() || undefined;
      sent(protocol.agentWrapup({ outcome, note, next }), "wrapup");
    });
  }

  /**
   * The desk's outcome codes (agent.state), as the outcome's choices.
   * @param {string[]} codes
   * @param {{force?: boolean}} [options]  fill the list again even when they are the same
   */
  setCodes(codes, { force = false } = {}) {
    if (!force && codes.join() === this.codes.join()) return;
    this.codes = codes;
    fillSelect(
      byId("wrapup-outcome", HTMLSelectElement),
      codes.map((code) => ({ value: code, label: outcomeLabel(code) })),
    );
  }

  /** Relabel the outcomes (after a language change). */
  redraw() {
    this.setCodes(this.codes, { force: true });
  }

  open() {
    byId("wrapup-note", HTMLTextAreaElement).value = "";
    show(byId("wrapup-error"), false);
  }

  /** @param {string} message */
  failed(message) {
    const error = byId("wrapup-error");
    setText(error, message);
    show(error, true);
  }
}
