// @ts-check
// An offer (agent.offer): who the patient is, a countdown to the deadline, accept or
// decline. It arrives with a chime and, when the agent allowed it, a desktop
// notification (the tab may be in the background).

import { byId, setText, show } from "../lib/dom.js";
import { t } from "../lib/i18n.js";
import { notify } from "../lib/notify.js";
import { renderContext } from "./context.js";

/** @typedef {import("../lib/protocol.js").Offer} Offer */

export class OfferPanel {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {(id: string|null, purpose: string) => void} options.sent
   * @param {import("../lib/chime.js").Chime} options.chime
   */
  constructor({ protocol, sent, chime }) {
    this.protocol = protocol;
    this.chime = chime;
    /** @type {Offer | null} */
    this.offer = null;
    this.deadline = 0;
    this.received = 0;
    /** @type {number | undefined} */
    this.timer = undefined;
    /** @type {Notification | null} */
    this.notification = null;
    this.panel = byId("offer-panel");
    byId("offer-accept").addEventListener("click", () => {
      if (!this.offer) return;
      chime.unlock();
      sent(protocol.agentAccept(this.offer.token), "accept");
    });
    byId("offer-decline").addEventListener("click", () => {
      if (!this.offer) return;
      const reason = byId("decline-reason", HTMLSelectElement).value;
      sent(protocol.agentDecline(this.offer.token, reason), "decline");
    });
  }

  get open() {
    return this.offer !== null;
  }

  /**
   * agent.offer
   * @param {Offer} offer
   */
  show(offer) {
    const fresh = !this.offer || this.offer.token !== offer.token;
    this.offer = offer;
    // The local clock may differ from the server's: count down from expires_in_ms.
    this.deadline = Date.now() + (offer.expires_in_ms || 0);
    this.received = Date.now();
    this.draw();
    show(byId("offer-outcome"), false);
    show(this.panel, true);
    clearInterval(this.timer);
    this.tick();
    this.timer = setInterval(() => this.tick(), 250);
    if (fresh) {
      this.chime.ring();
      this.notify(offer);
      byId("offer-accept").focus();
    }
  }

  /** The offer's text, in the page's language (again after a language change). */
  draw() {
    if (!this.offer) return;
    const offer = this.offer;
    const patient = offer.patient || {};
    renderContext(byId("offer-context"), patient, this.received);
    /** @type {Record<string, string>} */
    const heading = { transfer: "agent.offer.transfer", callback: "agent.offer.callback" };
    setText(byId("offer-heading"), t(heading[offer.kind] || "agent.offer.heading"));
    const emergency = (patient.flags || []).includes("emergency") ? t("agent.offer.emergency") : "";
    const who = {
      name: patient.name || t("agent.offer.a_patient"),
      queue: offer.queue || t("agent.offer.the_queue"),
    };
    const line = patient.reason
      ? t("agent.offer.announce_reason", { ...who, reason: patient.reason })
      : t("agent.offer.announce", who);
    setText(byId("offer-announce"), `${emergency}${line}`);
  }

  tick() {
    const left = Math.max(0, Math.ceil((this.deadline - Date.now()) / 1000));
    setText(byId("offer-countdown"), String(left));
    if (left === 0) clearInterval(this.timer);
  }

  /** @param {Offer} offer */
  notify(offer) {
    const patient = offer.patient || {};
    const notification = notify(t("agent.offer.notification"), {
      body: t("agent.offer.notification_body", {
        name: patient.name || t("agent.offer.a_patient"),
        queue: offer.queue,
        seconds: Math.round((offer.expires_in_ms || 0) / 1000),
      }),
      tag: "videodesk-offer",
      focus: "offer-accept",
    });
    if (notification) this.notification = notification;
  }

  /**
   * The offer is over: accepted, declined, expired, cancelled (with a note to show).
   * @param {string} [outcome]
   */
  close(outcome = "") {
    this.offer = null;
    clearInterval(this.timer);
    show(this.panel, false);
    if (this.notification) this.notification.close();
    this.notification = null;
    const note = byId("offer-outcome");
    setText(note, outcome);
    show(note, Boolean(outcome));
  }
}
