// @ts-check
// An accepted call-back (agent.callback): who the patient is, how they asked to be
// reached (a phone number as a tel: link, or their page), "Ring the patient's page"
// (agent.ring → agent.ringing, or agent.ring_declined when they say not now), and
// "Record the outcome" (agent.end, then the wrap-up form). When the patient accepts a
// ring, call.started (kind callback) arrives and the normal call view takes over.

import { byId, make, setText, show } from "../lib/dom.js";
import { render, t } from "../lib/i18n.js";
import { renderContext } from "./context.js";

// The desk gives a ringing page a minute to answer (server/ws/agent.py RING_SECONDS);
// agent.ringing does not say so, and no message says the ring lapsed.
const RING_MS = 60_000;

/** @typedef {import("../lib/protocol.js").CallbackTaskMessage} Task */

export class CallbackTask {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {(id: string|null, purpose: string) => void} options.sent
   */
  constructor({ protocol, sent }) {
    /** @type {Task | null} */
    this.task = null;
    /** @type {number | undefined} */
    this.ringTimer = undefined;
    /** @type {number | undefined} when the task was shown (its wait counts on from then) */
    this.shownAt = undefined;
    this.panel = byId("callback-panel");
    this.ringButton = byId("callback-ring", HTMLButtonElement);
    this.status = byId("callback-status");
    this.ringButton.addEventListener("click", () => {
      render(this.status, "agent.callback.ringing_page");
      this.ringButton.disabled = true;
      sent(protocol.agentRing(), "ring");
    });
    byId("callback-end").addEventListener("click", () => sent(protocol.agentEnd(), "end"));
  }

  get open() {
    return this.task !== null;
  }

  /**
   * agent.callback (again after a reconnect: the same call keeps its status line).
   * @param {Task} task
   */
  show(task) {
    const same = this.task !== null && this.task.call === task.call;
    this.task = task;
    const patient = task.patient || {};
    const callback = patient.callback || {};
    /** @type {number | undefined} when the task was shown (its wait counts on from then) */
    this.shownAt = undefined;
    this.draw();
    // Ringing is the first thing to do for a page call-back; a second one for a phone.
    this.ringButton.classList.toggle("button-primary", callback.mode === "page");
    this.ringButton.disabled = !task.page_open;
    show(byId("callback-page-closed"), !task.page_open);
    if (!same) render(this.status, null);
    show(this.panel, true);
    if (!same) byId("callback-heading").focus();
  }

  /** The heading, the context and what to do (again after a language change). */
  draw() {
    if (!this.task) return;
    const patient = this.task.patient || {};
    const name = patient.name || t("agent.callback.a_patient");
    setText(byId("callback-heading"), t("agent.callback.with", { name }));
    renderContext(byId("callback-context"), patient, this.shownAt);
    this.drawHow(patient.callback || {});
  }

  /**
   * What to do first: the number to phone (a tel: link), or ring their page.
   * @param {{mode?: string, phone?: string}} callback  how the patient asked to be reached
   */
  drawHow({ mode, phone }) {
    const how = byId("callback-how");
    how.replaceChildren();
    if (mode === "phone" && phone) {
      const link = make("a", { className: "callback-phone", text: phone });
      link.href = `tel:${phone.replace(/[^0-9+]/g, "")}`;
      // The sentence around the link: "Phone the patient on {phone}."
      const [before, after = ""] = t("agent.callback.phone").split("{phone}");
      how.append(before, link, after);
    } else if (mode === "page") {
      how.append(t("agent.callback.page"));
    } else {
      how.append(t("agent.callback.no_phone"));
    }
  }

  /** agent.ringing */
  ringing() {
    render(this.status, "agent.callback.ringing");
    clearTimeout(this.ringTimer);
    this.ringTimer = setTimeout(() => {
      if (!this.open) return;
      render(this.status, "agent.callback.no_answer");
      this.ringButton.disabled = false;
    }, RING_MS);
  }

  /** agent.ring_declined */
  declined() {
    clearTimeout(this.ringTimer);
    render(this.status, "agent.callback.not_now");
    this.ringButton.disabled = false;
  }

  /**
   * agent.ring failed: not_connected means the page is closed.
   * @param {string} code
   * @param {string} [message]  the desk's words
   */
  ringFailed(code, message) {
    clearTimeout(this.ringTimer);
    if (code === "not_connected") {
      render(this.status, "agent.callback.closed");
      show(byId("callback-page-closed"), true);
      return;
    }
    render(this.status, message ? null : "agent.callback.ring_failed");
    if (message) setText(this.status, message);
    this.ringButton.disabled = false;
  }

  /** The call-back is over, or became a video call. */
  close() {
    this.task = null;
    clearTimeout(this.ringTimer);
    show(this.panel, false);
  }
}
