// An accepted call-back (agent.callback): who the patient is, how they asked to be
// reached (a phone number as a tel: link, or their page), "Ring the patient's page"
// (agent.ring → agent.ringing, or agent.ring_declined when they say not now), and
// "Record the outcome" (agent.end, then the wrap-up form). When the patient accepts a
// ring, call.started (kind callback) arrives and the normal call view takes over.

import { byId, make, setText, show } from "../lib/dom.js";
import { renderContext } from "./context.js";

// The desk gives a ringing page a minute to answer (server/ws/agent.py RING_SECONDS);
// agent.ringing does not say so, and no message says the ring lapsed.
const RING_MS = 60_000;

export class CallbackTask {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {(id: string|null, purpose: string) => void} options.sent
   */
  constructor({ protocol, sent }) {
    this.task = null;
    this.ringTimer = null;
    this.panel = byId("callback-panel");
    this.ringButton = byId("callback-ring");
    this.status = byId("callback-status");
    this.ringButton.addEventListener("click", () => {
      setText(this.status, "Ringing the patient's page…");
      this.ringButton.disabled = true;
      sent(protocol.agentRing(), "ring");
    });
    byId("callback-end").addEventListener("click", () => sent(protocol.agentEnd(), "end"));
  }

  get open() {
    return this.task !== null;
  }

  /** agent.callback (again after a reconnect: the same call keeps its status line). */
  show(task) {
    const same = this.task !== null && this.task.call === task.call;
    this.task = task;
    const patient = task.patient || {};
    const callback = patient.callback || {};
    setText(byId("callback-heading"), `Call-back: ${patient.name || "a patient"}`);
    renderContext(byId("callback-context"), patient);
    this.drawHow(callback);
    // Ringing is the first thing to do for a page call-back; a second one for a phone.
    this.ringButton.classList.toggle("button-primary", callback.mode === "page");
    this.ringButton.disabled = !task.page_open;
    show(byId("callback-page-closed"), !task.page_open);
    if (!same) setText(this.status, "");
    show(this.panel, true);
    if (!same) byId("callback-heading").focus();
  }

  /** What to do first: the number to phone (a tel: link), or ring their page. */
  drawHow({ mode, phone }) {
    const how = byId("callback-how");
    how.replaceChildren();
    if (mode === "phone" && phone) {
      const link = make("a", { className: "callback-phone", text: phone });
      link.href = `tel:${phone.replace(/[^0-9+]/g, "")}`;
      how.append("Phone the patient on ", link, ".");
    } else if (mode === "page") {
      how.append("The patient asked to be alerted on their page: ring it when you are ready.");
    } else {
      how.append("The patient left no phone number: ring their page if it is open.");
    }
  }

  /** agent.ringing */
  ringing() {
    setText(this.status, "Ringing… The patient has a minute to answer.");
    clearTimeout(this.ringTimer);
    this.ringTimer = setTimeout(() => {
      if (!this.open) return;
      setText(this.status, "No answer from the patient's page. Ring again, or phone them.");
      this.ringButton.disabled = false;
    }, RING_MS);
  }

  /** agent.ring_declined */
  declined() {
    clearTimeout(this.ringTimer);
    setText(this.status, "The patient said not now. You can ring again in a moment.");
    this.ringButton.disabled = false;
  }

  /** agent.ring failed: not_connected means the page is closed. */
  ringFailed(code, message) {
    clearTimeout(this.ringTimer);
    if (code === "not_connected") {
      setText(this.status, "The patient's page is closed: please phone them.");
      show(byId("callback-page-closed"), true);
      return;
    }
    setText(this.status, message || "The page could not be rung.");
    this.ringButton.disabled = false;
  }

  /** The call-back is over, or became a video call. */
  close() {
    this.task = null;
    clearTimeout(this.ringTimer);
    show(this.panel, false);
  }
}
