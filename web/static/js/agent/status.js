// @ts-check
// The agent's status (available, away with a reason, offline), shown from
// agent.state and changed with agent.status; the control lives in the page header.
// Choosing "Available" is also the tap that lets the page make sounds and ask for
// desktop notifications.

import { byId, clock, setText, show } from "../lib/dom.js";
import { has, render, t } from "../lib/i18n.js";

const STATES = ["offline", "available", "offered", "in_call", "wrap_up", "away"];

/**
 * A state's label (agent.state.<state>), or the state itself for one the page does not know.
 * @param {string} state
 */
export function stateLabel(state) {
  return STATES.includes(state) ? t(`agent.state.${state}`) : String(state).replaceAll("_", " ");
}

/**
 * An away reason's words (agent.away.<reason>, lower case in the status line).
 * @param {string} reason
 */
export function awayReason(reason) {
  return has(`agent.away.${reason}`) ? t(`agent.away.${reason}`) : reason.replaceAll("_", " ");
}

export class StatusPanel {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {(id: string|null, purpose: string) => void} options.sent
   * @param {() => void} options.onGesture  unlock sound, ask for notifications
   */
  // The buttons start disabled (agent.html) and are enabled by the first agent.state:
  // a choice made before the desk has signed the console in would go nowhere.
  constructor({ protocol, sent, onGesture }) {
    /** @type {import("../lib/protocol.js").AgentState} */
    this.state = { state: "offline", reason: "", since_ms: 0 };
    this.signedOutNow = false;
    this.text = byId("status-text");
    this.buttons = {
      available: byId("status-available", HTMLButtonElement),
      away: byId("status-away", HTMLButtonElement),
      offline: byId("status-offline", HTMLButtonElement),
    };
    for (const [status, button] of Object.entries(this.buttons)) {
      button.addEventListener("click", () => {
        onGesture();
        show(byId("status-error"), false);
        const reason = status === "away" ? byId("away-reason", HTMLSelectElement).value : undefined;
        sent(protocol.agentStatus(status, reason), "status");
      });
    }
    setInterval(() => this.draw(), 1000);
  }

  /**
   * agent.state
   * @param {import("../lib/protocol.js").AgentState} state
   */
  update(state) {
    this.state = state;
    this.draw();
    const badge = byId("agent-badge");
    if (STATES.includes(state.state)) render(badge, `agent.state.${state.state}`);
    else setText(badge, stateLabel(state.state));
    badge.dataset.state = state.state;
    const busy = ["offered", "in_call", "wrap_up"].includes(state.state);
    for (const [status, button] of Object.entries(this.buttons)) {
      button.setAttribute("aria-pressed", String(state.state === status));
      button.disabled = busy;
    }
  }

  /** The session ended (link withdrawn or expired): the badge must not claim a status. */
  signedOut() {
    this.signedOutNow = true;
    const badge = byId("agent-badge");
    render(badge, "agent.state.signed_out");
    badge.dataset.state = "offline";
    for (const button of Object.values(this.buttons)) button.disabled = true;
  }

  draw() {
    const { state, reason, since_ms: since } = this.state;
    // The state is a live region (announced when it changes); the ticking time is not.
    let text = stateLabel(state);
    if (state === "away" && reason) {
      text = t("agent.status.away_because", { reason: awayReason(reason).toLowerCase() });
    }
    if (state === "available") text = t("agent.status.available_line");
    setText(this.text, this.signedOutNow ? "" : text);
    setText(
      byId("status-since"),
      since && !this.signedOutNow ? t("agent.status.since", { time: clock((Date.now() - since) / 1000) }) : "",
    );
  }

  /** @param {string} message */
  failed(message) {
    const error = byId("status-error");
    setText(error, message);
    show(error, true);
  }
}
