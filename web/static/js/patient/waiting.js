// The waiting room: place in the queue and an honest estimate (a range), what is
// happening now, messages from the desk, "call me back instead", "leave the queue".
// The place and estimate sit in a polite live region and change only when their text
// changes, so a screen reader announces real news, not every push.

import { byId, make, show, timeOfDay } from "../lib/dom.js";
import { render } from "../lib/i18n.js";

const STATUS_KEYS = {
  waiting: "waiting.status.waiting",
  offered: "waiting.status.offered",
  on_hold: "waiting.status.on_hold",
};

export function estimateKey(estimate) {
  if (!estimate || !estimate.known) return ["waiting.estimate_unknown", {}];
  const low = estimate.low_minutes;
  const high = estimate.high_minutes;
  if (high <= 1) return ["waiting.estimate_soon", {}];
  if (low <= 0) return ["waiting.estimate_upto", { high }];
  return ["waiting.estimate", { low, high }];
}

export class WaitingRoom {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {(id: string|null, purpose: string) => void} options.sent  tracks replies
   * @param {() => void} options.unlockSound  on a tap: the page may ring later
   */
  constructor({ protocol, sent, unlockSound }) {
    this.protocol = protocol;
    this.sent = sent;
    this.transferred = false;
    this.phone = "";
    this.position = byId("queue-position");
    this.estimate = byId("queue-estimate");
    this.status = byId("queue-status");
    this.callbackForm = byId("callback-form");
    this.callbackOpen = byId("callback-open");
    this.callbackError = byId("callback-error");
    this.leaveConfirm = byId("leave-confirm");

    this.callbackOpen.addEventListener("click", () => {
      unlockSound();
      this.showCallbackForm(this.callbackForm.hidden);
    });
    byId("callback-cancel").addEventListener("click", () => this.showCallbackForm(false));
    this.callbackForm.addEventListener("submit", (event) => {
      event.preventDefault();
      unlockSound();
      this.requestCallback();
    });
    byId("callback-stop").addEventListener("click", () => {
      this.sent(this.protocol.queueCallbackCancel(), "callback");
    });
    byId("leave-open").addEventListener("click", () => {
      show(this.leaveConfirm, true);
      byId("leave-no").focus();
    });
    byId("leave-no").addEventListener("click", () => {
      show(this.leaveConfirm, false);
      byId("leave-open").focus();
    });
    byId("leave-yes").addEventListener("click", () => {
      show(this.leaveConfirm, false);
      this.sent(this.protocol.queueLeave(), "leave");
    });
  }

  /** A queue.state for waiting, offered, on_hold or callback_pending. */
  update(state) {
    render(
      byId("waiting-heading"),
      state.state === "on_hold" ? "waiting.heading_hold" : "waiting.heading",
    );
    const queued = state.position > 0;
    if (!queued) render(this.position, null);
    else if (state.position === 1) render(this.position, "waiting.next");
    else render(this.position, "waiting.position", { position: state.position });
    if (queued && state.state !== "on_hold") {
      const [key, params] = estimateKey(state.estimate);
      render(this.estimate, key, params);
    } else {
      render(this.estimate, null);
    }
    show(byId("queue-place"), queued);
    const queuedAgain = state.state === "waiting" || state.state === "offered";
    if (!queuedAgain) this.transferred = false;
    let status = STATUS_KEYS[state.state] || null;
    if (queuedAgain && this.transferred) status = "waiting.status.transferred";
    render(this.status, status);
    show(byId("queue-returning"), Boolean(state.returning) && state.state === "waiting");
    this.showCallback(state);
  }

  showCallback(state) {
    const pending = state.state === "callback_pending";
    const mode = (state.callback && state.callback.mode) || "";
    show(byId("callback-state"), pending);
    if (pending) {
      render(
        byId("callback-text"),
        mode === "phone" ? "waiting.callback.phone_state" : "waiting.callback.page_state",
      );
      this.showCallbackForm(false);
    }
    show(this.callbackOpen, state.state === "waiting" || state.state === "offered");
    show(byId("leave-open"), state.state !== "on_hold");
    if (state.state === "on_hold") show(this.leaveConfirm, false);
  }

  showCallbackForm(open) {
    show(this.callbackForm, open);
    show(this.callbackError, false);
    this.callbackOpen.setAttribute("aria-expanded", String(open));
    if (open) byId("callback-mode-phone").focus();
  }

  requestCallback() {
    const mode = this.callbackForm.querySelector("input[name=mode]:checked").value;
    const phone = byId("callback-phone").value.trim();
    if (mode === "phone" && !/^\+?[0-9][0-9 ()-]{5,30}$/.test(phone)) {
      this.callbackFailed("error.phone_needed");
      byId("callback-phone").focus();
      return;
    }
    this.phone = phone;
    this.sent(this.protocol.queueCallback(mode, mode === "phone" ? phone : undefined), "callback");
  }

  callbackFailed(key) {
    show(this.callbackForm, true);
    render(this.callbackError, key);
    show(this.callbackError, true);
  }

  /** The call was handed to another queue or agent (true), or a call started (false). */
  markTransferred(transferred = true) {
    this.transferred = transferred;
  }

  /** queue.notice: a message from the desk (text, never markup). */
  notice({ text, at }) {
    const item = make("li", { className: "notice" });
    if (at) {
      const time = make("time", { className: "notice-time", text: timeOfDay(at) });
      time.dateTime = new Date(at).toISOString();
      item.append(time, " ");
    }
    item.append(make("span", { text: String(text || "") }));
    byId("notice-list").append(item);
    show(byId("notices"), true);
  }
}
