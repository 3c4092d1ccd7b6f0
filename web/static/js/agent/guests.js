// @ts-check
// The agent's guests panel: make a single-use link for an interpreter, a carer or a
// second clinician (with the language they should speak), copy it, see who is in the
// call, and take a guest out. When the patient said they need an interpreter (or that
// someone will join to help them), the form opens with that part and the patient's
// language already chosen.

import { byId, fillSelect, make, setText, show } from "../lib/dom.js";
import { t } from "../lib/i18n.js";

/** @typedef {import("../lib/protocol.js").CallParty} CallParty */

const PARTIES = ["interpreter", "carer", "clinician"];
const LANGUAGES = ["en", "es"];

export class GuestPanel {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {(id: string|null, purpose: string) => void} options.sent
   * @param {(party: CallParty) => string} options.label
   */
  constructor({ protocol, sent, label }) {
    this.protocol = protocol;
    this.sent = sent;
    this.label = label;
    /** @type {CallParty[]} */
    this.parties = [];
    this.you = "";
    this.form = byId("guest-form", HTMLFormElement);
    this.party = byId("guest-party", HTMLSelectElement);
    this.language = byId("guest-language", HTMLSelectElement);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.invite();
    });
    byId("guest-copy").addEventListener("click", () => this.copy());
    this.redraw();
  }

  /** The selects' words and the list, in the page's (new) language. */
  redraw() {
    fillSelect(
      this.party,
      PARTIES.map((value) => ({ value, label: t(`agent.party.${value}`) })),
    );
    fillSelect(this.language, [
      { value: "", label: t("agent.guests.any_language") },
      ...LANGUAGES.map((value) => ({ value, label: t(`agent.language.${value}`) })),
    ]);
    this.draw(this.parties, this.you);
  }

  /**
   * A new call: no link yet; the form chosen for what the patient said they need.
   * @param {import("../lib/protocol.js").PatientContext} patient
   */
  reset(patient) {
    this.redraw(); // the catalogue is surely in by the first call
    show(byId("guest-link-box"), false);
    show(byId("guest-error"), false);
    byId("guest-link", HTMLInputElement).value = "";
    const needs = patient.needs || [];
    const suggested = needs.includes("interpreter")
      ? "interpreter"
      : needs.includes("caregiver")
        ? "carer"
        : "";
    const hint = byId("guest-suggested");
    if (suggested) {
      this.party.value = suggested;
      this.language.value = suggested === "interpreter" && patient.language ? patient.language : "";
      setText(hint, t(`agent.guests.suggested_${suggested}`));
    }
    show(hint, Boolean(suggested));
    /** @type {HTMLDetailsElement} */ (byId("guest-panel")).open = Boolean(suggested);
  }

  invite() {
    show(byId("guest-error"), false);
    const language = this.language.value || undefined;
    const email = byId("guest-email", HTMLInputElement).value.trim() || undefined;
    this.sent(this.protocol.callInvite(this.party.value, language, email), "invite");
  }

  /**
   * call.invite_link: the link, to copy (or read out) and send to the guest.
   * @param {{party: string, link: string, expires_at: number, mailed?: boolean}} message
   */
  showLink({ party, link, expires_at, mailed }) {
    byId("guest-link", HTMLInputElement).value = link;
    const until = new Date(expires_at * 1000).toLocaleTimeString([], {
      hour: "2-digit",
      minute: "2-digit",
    });
    setText(
      byId("guest-link-hint"),
      t("agent.guests.link_hint", { party: t(`agent.party.${party}`), time: until }),
    );
    setText(byId("guest-copied"), mailed ? t("agent.guests.mailed") : "");
    if (mailed) byId("guest-email", HTMLInputElement).value = "";
    show(byId("guest-link-box"), true);
    byId("guest-link").focus();
    byId("guest-link", HTMLInputElement).select();
  }

  async copy() {
    const input = byId("guest-link", HTMLInputElement);
    try {
      await navigator.clipboard.writeText(input.value);
      setText(byId("guest-copied"), t("agent.guests.copied"));
    } catch {
      input.select(); // no clipboard (an insecure origin, a refusal): select it to copy
      setText(byId("guest-copied"), t("agent.guests.copy_by_hand"));
    }
  }

  /** @param {string} text */
  failed(text) {
    const error = byId("guest-error");
    setText(error, text);
    show(error, true);
  }

  /**
   * Who is in the call, each guest with a Remove button.
   * @param {CallParty[]} parties
   * @param {string} you  this page's handle
   */
  draw(parties, you) {
    this.parties = parties;
    this.you = you;
    const guests = parties.filter((p) => p.handle.startsWith("g"));
    const list = byId("guest-list");
    list.replaceChildren(
      ...guests.map((party) => {
        const item = make("li", { className: "guest-item" });
        const name = make("span", { text: this.label(party) });
        const remove = make("button", {
          className: "button",
          text: t("agent.guests.remove"),
          attrs: { type: "button", "aria-label": t("agent.guests.remove_who", { who: this.label(party) }) },
        });
        remove.addEventListener("click", () => {
          this.sent(this.protocol.callRemove(party.handle), "remove");
        });
        item.append(name, remove);
        return item;
      }),
    );
    show(byId("guest-none"), guests.length === 0);
  }
}
