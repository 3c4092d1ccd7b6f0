// @ts-check
// "Call me back instead" (virtual hold): by phone when it is the patient's turn, an
// alert on this page when it is their turn, or by phone at a time they choose (the
// desk's half-hour slots, from queue.slots, shown in the patient's local time). The
// place is kept in every case; with a time, the patient leaves the queue until then
// and comes back with their original ticket.

import { byId, fillSelect, show } from "../lib/dom.js";
import { language, onLanguageChange, render, t } from "../lib/i18n.js";

const PHONE = /^\+?[0-9][0-9 ()-]{5,30}$/;
const DIGITS_KEY = "vd.callback_digits";
const SLOT_KEY = "vd.callback_slot"; // the booked time, to show it again after a refresh

export class CallbackChoice {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {(id: string|null, purpose: string) => void} options.sent
   * @param {() => void} options.onGesture  a tap: sound and notifications may be allowed
   */
  constructor({ protocol, sent, onGesture }) {
    this.protocol = protocol;
    this.sent = sent;
    /** @type {number[]} */
    this.slots = [];
    this.form = byId("callback-form", HTMLFormElement);
    this.opener = byId("callback-open");
    this.error = byId("callback-error");
    this.phone = byId("callback-phone", HTMLInputElement);
    this.slot = byId("callback-slot", HTMLSelectElement);
    /** @type {{mode: string, slot?: number} | null} */
    this.requested = null; // {mode, slot} last asked for

    this.opener.addEventListener("click", () => {
      onGesture();
      this.open(this.form.hidden);
    });
    byId("callback-cancel").addEventListener("click", () => {
      this.open(false);
      this.opener.focus();
    });
    for (const radio of this.form.querySelectorAll("input[name=mode]")) {
      radio.addEventListener("change", () => this.drawChoice());
    }
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      onGesture();
      this.request();
    });
    byId("callback-stop").addEventListener("click", () => {
      sessionStorage.removeItem(SLOT_KEY);
      this.sent(this.protocol.queueCallbackCancel(), "callback");
    });
    /** @type {import("../lib/protocol.js").QueueState | null} */
    this.state = null;
    this.pendingMode = "";
    onLanguageChange(() => {
      this.fillSlots();
      // The booked time, in the new language.
      if (this.state) this.update(this.state, { pendingMode: this.pendingMode });
    });
    this.drawChoice();
  }

  /** The way chosen: "phone", "page" or "slot". */
  get mode() {
    return this.checkedMode().value;
  }

  checkedMode() {
    return /** @type {HTMLInputElement} */ (this.form.querySelector("input[name=mode]:checked"));
  }

  /** @param {boolean} open */
  open(open) {
    show(this.form, open);
    show(this.error, false);
    this.opener.setAttribute("aria-expanded", String(open));
    if (open) {
      render(byId("callback-zone"), "waiting.callback.zone", { zone: timeZone() });
      this.sent(this.protocol.queueSlots(), "slots");
      this.checkedMode().focus();
    }
  }

  /** Show the phone number for the phone choices and the times for "at a time". */
  drawChoice() {
    const mode = this.mode;
    show(byId("callback-phone-field"), mode !== "page");
    show(byId("callback-slot-field"), mode === "slot");
    show(byId("callback-page-hint"), mode === "page");
  }

  /**
   * queue.slots: epoch ms of the times on offer.
   * @param {number[]} slots
   */
  setSlots(slots) {
    this.slots = (slots || []).filter((ms) => Number.isFinite(ms));
    this.fillSlots();
  }

  fillSlots() {
    fillSelect(
      this.slot,
      this.slots.map((ms) => ({ value: String(ms), label: slotLabel(ms) })),
    );
  }

  request() {
    const mode = this.mode;
    const phone = this.phone.value.trim();
    if (mode !== "page" && !PHONE.test(phone)) {
      this.failed("error.phone_needed");
      this.phone.focus();
      return;
    }
    if (mode === "page" && "Notification" in window && Notification.permission === "default") {
      // The page alerts the patient when it is their turn, perhaps from another tab.
      Notification.requestPermission().catch(() => {});
    }
    let slot;
    if (mode === "slot") {
      slot = Number(this.slot.value);
      if (!this.slot.value || !Number.isFinite(slot)) {
        this.failed("error.slot_unavailable");
        this.slot.focus();
        return;
      }
      sessionStorage.setItem(SLOT_KEY, String(slot));
    } else {
      sessionStorage.removeItem(SLOT_KEY);
    }
    const wire = mode === "page" ? "page" : "phone";
    if (wire === "phone") {
      // Only the last digits are kept (this tab), to repeat the number back masked.
      sessionStorage.setItem(DIGITS_KEY, phone.replace(/\D/g, "").slice(-3));
    }
    this.requested = { mode: wire, slot };
    this.sent(this.protocol.queueCallback(wire, wire === "phone" ? phone : undefined, slot), "callback");
  }

  /** @param {string} key */
  failed(key) {
    show(this.form, true);
    render(this.error, key);
    show(this.error, true);
  }

  /**
   * queue.state: the pending call-back (with a cancel), or the offer to ask for one.
   * `pendingMode` is set while a call-back is being offered to an agent or taken.
   * @param {import("../lib/protocol.js").QueueState} state
   * @param {{pendingMode?: string}} [options]
   */
  update(state, { pendingMode = "" } = {}) {
    this.state = state;
    this.pendingMode = pendingMode;
    const pending = state.state === "callback_pending";
    show(byId("callback-state"), pending);
    show(this.opener, state.state === "waiting" || (state.state === "offered" && !pendingMode));
    if (!pending) {
      if (state.state === "waiting") sessionStorage.removeItem(SLOT_KEY);
      return;
    }
    this.open(false);
    const mode = (state.callback && state.callback.mode) || "";
    const slot = Number(sessionStorage.getItem(SLOT_KEY) || 0);
    const text = byId("callback-text");
    const digits = sessionStorage.getItem(DIGITS_KEY) || "";
    if (mode === "phone" && slot && state.position === 0) {
      const key = digits ? "waiting.callback.slot_state_number" : "waiting.callback.slot_state";
      render(text, key, { time: slotLabel(slot), digits });
    } else if (mode === "phone") {
      const key = digits ? "waiting.callback.phone_state_number" : "waiting.callback.phone_state";
      render(text, key, { digits });
    } else {
      render(text, "waiting.callback.page_state");
    }
  }
}

/** A slot in the patient's local time and language: "Tuesday 14:30" (en-GB), "Tuesday
 * 2:30 PM" (en-US): the browser's own regional variant of the page's language.
 * @param {number} ms
 */
export function slotLabel(ms) {
  const lang = language();
  const regional = (navigator.languages || []).find(
    (tag) => String(tag).toLowerCase().split("-")[0] === lang,
  );
  return new Intl.DateTimeFormat(regional || lang, {
    weekday: "long",
    hour: "numeric",
    minute: "2-digit",
  }).format(new Date(ms));
}

function timeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || t("waiting.callback.zone_local");
  } catch {
    return t("waiting.callback.zone_local");
  }
}
