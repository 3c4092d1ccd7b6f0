// @ts-check
// The waiting room: place in the queue and an honest estimate (a range), what is
// happening now, messages from the desk, "leave the queue". Call-backs are in
// callback.js, self-help in selfhelp.js, the assistant in assistant.js.
// The place and estimate sit in a polite live region and change only when their text
// changes, so a screen reader announces real news, not every push. An estimate that
// went up comes with why, in the same region (docs/queue.md).

import { byId, clock, make, show, timeOfDay } from "../lib/dom.js";
import { render, t } from "../lib/i18n.js";

/** @typedef {import("../lib/protocol.js").QueueState} QueueState */

/** @type {Record<string, string>} */
const STATUS_KEYS = {
  waiting: "waiting.status.waiting",
  offered: "waiting.status.offered",
  on_hold: "waiting.status.on_hold",
};
// An accepted call-back before the video call starts: the agent phones, or rings here.
/** @type {Record<string, string>} */
const CALLBACK_DUE_KEYS = {
  phone: "waiting.status.callback_phone",
  page: "waiting.status.callback_page",
  declined: "waiting.status.ring_declined",
  missed: "waiting.status.ring_missed",
};

const WHY_UP = ["fewer_agents", "moved_back", "calls_longer"];

/**
 * Why the estimate went up since the patient was last told, in plain words (a
 * catalogue key), or null when it did not.
 * @param {import("../lib/protocol.js").Estimate | undefined} estimate
 * @returns {string | null}
 */
export function whyKey(estimate) {
  const why = estimate?.why || "";
  return WHY_UP.includes(why) ? `waiting.why.${why}` : null;
}

/**
 * The words of an estimate: a catalogue key and its parameters.
 * @param {import("../lib/protocol.js").Estimate | undefined} estimate
 * @returns {[string, import("../lib/i18n.js").Params]}
 */
export function estimateKey(estimate) {
  if (!estimate || !estimate.known) {
    const reason = estimate?.reason;
    if (reason === "not_measured" || reason === "beyond_range") {
      return [`waiting.estimate_unknown_${reason}`, {}];
    }
    return ["waiting.estimate_unknown", {}];
  }
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
   */
  constructor({ protocol, sent }) {
    this.protocol = protocol;
    this.sent = sent;
    this.transferred = false;
    /** @type {number | undefined} */
    this.waitedTimer = 0;
    this.position = byId("queue-position");
    this.estimate = byId("queue-estimate");
    this.why = byId("queue-estimate-why");
    this.status = byId("queue-status");
    this.leaveConfirm = byId("leave-confirm");

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

  /**
   * A queue.state for waiting, offered, on_hold or callback_pending; or in_call for an
   * accepted call-back before its video call (`due`: "phone", "page", "declined" or
   * "missed").
   * @param {QueueState} state
   * @param {{due?: string}} [options]
   */
  update(state, { due = "" } = {}) {
    let heading = "waiting.heading";
    if (state.state === "on_hold") heading = "waiting.heading_hold";
    else if (state.state === "in_call") heading = "waiting.heading_turn";
    render(byId("waiting-heading"), heading);
    const queued = state.position > 0;
    if (!queued) render(this.position, null);
    else if (state.position === 1) render(this.position, "waiting.next");
    else render(this.position, "waiting.position", { position: state.position });
    if (queued && state.state !== "on_hold") {
      const [key, params] = estimateKey(state.estimate);
      render(this.estimate, key, params);
      render(this.why, whyKey(state.estimate));
    } else {
      render(this.estimate, null);
      render(this.why, null);
    }
    show(byId("queue-place"), queued);
    this.showWaited(state);
    // Nobody answering this queue: the call-back is the first thing offered.
    const unstaffed = state.state === "waiting" && state.agents_staffed === 0;
    const callbackButton = byId("callback-open");
    callbackButton.classList.toggle("button-primary", unstaffed);
    callbackButton.classList.toggle("button-secondary", !unstaffed);
    const queuedAgain = state.state === "waiting" || state.state === "offered";
    if (!queuedAgain) this.transferred = false;
    let status = STATUS_KEYS[state.state] || null;
    if (queuedAgain && this.transferred) status = "waiting.status.transferred";
    if (state.state === "in_call") status = CALLBACK_DUE_KEYS[due] || null;
    render(this.status, status);
    show(byId("queue-returning"), Boolean(state.returning) && state.state === "waiting");
    show(byId("leave-open"), !["on_hold", "in_call"].includes(state.state));
    if (["on_hold", "in_call"].includes(state.state)) show(this.leaveConfirm, false);
    // Self-help and the assistant are for waiting, not for a call on hold or starting.
    const helping = ["waiting", "offered", "callback_pending"].includes(state.state);
    show(byId("self-help"), helping);
    show(byId("assistant"), helping);
  }

  /**
   * The time waited so far, counting on from the desk's figure once a second. It is
   * outside the live region: a clock read out every second would drown everything.
   * @param {QueueState} state
   */
  showWaited(state) {
    const waiting = ["waiting", "offered", "callback_pending"].includes(state.state);
    clearInterval(this.waitedTimer);
    show(byId("queue-waited"), waiting);
    if (!waiting) return;
    const since = Date.now() - (state.waited_s || 0) * 1000;
    const draw = () => {
      const seconds = Math.max(0, (Date.now() - since) / 1000);
      const element = byId("queue-waited-clock", HTMLTimeElement);
      element.textContent = clock(seconds);
      element.dateTime = `PT${Math.floor(seconds)}S`;
    };
    draw();
    this.waitedTimer = setInterval(draw, 1000);
  }

  /**
   * The call was handed to another queue or agent (true), or a call started (false).
   * @param {boolean} [transferred]
   */
  markTransferred(transferred = true) {
    this.transferred = transferred;
  }

  /**
   * queue.notice: a message from the desk (text, never markup), kept in the list and
   * announced through a status line that is always on the page (a live region that
   * only appears with its first message may not be read).
   * @param {{text: string, at?: number}} notice
   */
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
    byId("notice-announce").textContent = t("waiting.notices.announce", { text: String(text || "") });
  }
}
