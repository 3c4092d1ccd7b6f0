// @ts-check
// After the call: a 1–5 rating with an optional comment (survey.submit), thanks,
// and a way back into the queue.

import { byId, show } from "../lib/dom.js";

const SURVEYED = "vd.surveyed";

export class Survey {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {(id: string|null, purpose: string) => void} options.sent
   * @param {() => void} options.onRejoin
   */
  constructor({ protocol, sent, onRejoin }) {
    this.form = byId("survey-form", HTMLFormElement);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const chosen = /** @type {HTMLInputElement | null} */ (
        this.form.querySelector("input[name=rating]:checked")
      );
      show(byId("rating-error"), !chosen);
      if (!chosen) {
        byId("rating-1").focus();
        return;
      }
      const comment = byId("survey-comment", HTMLTextAreaElement).value.trim();
      sent(protocol.surveySubmit(Number(chosen.value), comment || undefined), "survey");
    });
    byId("rejoin-button").addEventListener("click", () => onRejoin());
  }

  /** Show the form, or the thanks if this call was already rated (a refresh). */
  show() {
    const done = sessionStorage.getItem(SURVEYED) === "1";
    show(this.form, !done);
    show(byId("survey-thanks"), done);
    show(byId("rating-error"), false);
  }

  /** survey.thanks */
  thanked() {
    sessionStorage.setItem(SURVEYED, "1");
    show(this.form, false);
    show(byId("survey-thanks"), true);
    this.form.reset();
  }
}
