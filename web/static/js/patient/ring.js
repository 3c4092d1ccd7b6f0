// @ts-check
// An agent rings the page of a call-back patient (call.ring): a chime, a desktop
// notification when allowed, and a dialog "Your agent <name> is ready: join the video
// call now?" with Join / Not now and the time left. The answer is call.ring_answer;
// the dialog goes away by itself when the ring expires (expires_in_ms).

import { Chime } from "../lib/chime.js";
import { byId, clock, setText } from "../lib/dom.js";
import { render, t } from "../lib/i18n.js";
import { notify } from "../lib/notify.js";

const CHIME_EVERY_MS = 4000;

export class RingDialog {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {(id: string|null, purpose: string) => void} options.sent
   * @param {Chime} options.chime
   * @param {(accept: boolean|null) => void} options.onAnswer  after the answer is sent
   *   (null: the ring expired unanswered)
   */
  constructor({ protocol, sent, chime, onAnswer }) {
    this.protocol = protocol;
    this.sent = sent;
    this.chime = chime;
    this.onAnswer = onAnswer;
    this.dialog = byId("ring-dialog", HTMLDialogElement);
    this.deadline = 0;
    /** @type {number | undefined} */
    this.ticker = undefined;
    /** @type {number | undefined} */
    this.chimer = undefined;
    /** @type {number | undefined} */
    this.expiry = undefined;
    /** @type {Notification | null} */
    this.notification = null;
    this.call = "";
    byId("ring-join").addEventListener("click", () => this.answer(true));
    byId("ring-later").addEventListener("click", () => this.answer(false));
    // Escape closes a modal dialog: that is "not now" too.
    this.dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      this.answer(false);
    });
  }

  get open() {
    return this.dialog.open;
  }

  /**
   * call.ring
   * @param {import("../lib/protocol.js").ServerMessages["call.ring"]} message
   */
  ring({ call, agent, expires_in_ms: expiresIn }) {
    const name = (agent && agent.name) || "";
    this.call = call || "";
    this.deadline = Date.now() + Math.max(0, Number(expiresIn) || 0);
    if (name) render(byId("ring-text"), "ring.text_named", { name });
    else render(byId("ring-text"), "ring.text");
    this.tick();
    clearInterval(this.ticker);
    this.ticker = setInterval(() => this.tick(), 1000);
    clearTimeout(this.expiry);
    this.expiry = setTimeout(() => {
      this.close();
      this.onAnswer(null);
    }, Math.max(0, this.deadline - Date.now()));
    this.chime.ring();
    clearInterval(this.chimer);
    this.chimer = setInterval(() => this.chime.ring(), CHIME_EVERY_MS);
    this.notify(name);
    if (!this.dialog.open) this.dialog.showModal();
    byId("ring-join").focus();
  }

  tick() {
    const left = Math.max(0, Math.ceil((this.deadline - Date.now()) / 1000));
    // Not a live region: the dialog is announced when it opens, the seconds are not.
    setText(byId("ring-time"), t("ring.time_left", { time: clock(left) }));
  }

  /** @param {string} name  the agent's ("": not known) */
  notify(name) {
    const notification = notify(t("ring.notification"), {
      body: name ? t("ring.text_named", { name }) : t("ring.text"),
      tag: "videodesk-ring",
      focus: "ring-join",
    });
    if (notification) this.notification = notification;
  }

  /** @param {boolean} accept */
  answer(accept) {
    this.close();
    this.sent(this.protocol.callRingAnswer(accept), "ring");
    this.onAnswer(accept);
  }

  /** The ring is over: answered, expired, or the call started or ended. */
  close() {
    clearInterval(this.ticker);
    clearInterval(this.chimer);
    clearTimeout(this.expiry);
    if (this.notification) this.notification.close();
    this.notification = null;
    if (this.dialog.open) this.dialog.close();
  }
}
