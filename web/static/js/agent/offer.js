// An offer (agent.offer): who the patient is, a countdown to the deadline, accept or
// decline. It arrives with a chime and, when the agent allowed it, a desktop
// notification (the tab may be in the background).

import { byId, setText, show } from "../lib/dom.js";
import { t } from "../lib/i18n.js";
import { renderContext } from "./context.js";

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
    this.offer = null;
    this.deadline = 0;
    this.timer = null;
    this.notification = null;
    this.panel = byId("offer-panel");
    byId("offer-accept").addEventListener("click", () => {
      if (!this.offer) return;
      chime.unlock();
      sent(protocol.agentAccept(this.offer.token), "accept");
    });
    byId("offer-decline").addEventListener("click", () => {
      if (!this.offer) return;
      sent(protocol.agentDecline(this.offer.token, byId("decline-reason").value), "decline");
    });
  }

  get open() {
    return this.offer !== null;
  }

  /** agent.offer */
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

  notify(offer) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const patient = offer.patient || {};
    try {
      this.notification = new Notification(t("agent.offer.notification"), {
        body: t("agent.offer.notification_body", {
          name: patient.name || t("agent.offer.a_patient"),
          queue: offer.queue,
          seconds: Math.round((offer.expires_in_ms || 0) / 1000),
        }),
        tag: "videodesk-offer",
        requireInteraction: true,
      });
      this.notification.addEventListener("click", () => {
        window.focus();
        byId("offer-accept").focus();
      });
    } catch {
      // Some browsers only allow notifications from a service worker.
    }
  }

  /** The offer is over: accepted, declined, expired, cancelled (with a note to show). */
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
