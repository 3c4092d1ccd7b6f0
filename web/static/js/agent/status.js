// The agent's status (available, away with a reason, offline), shown from
// agent.state and changed with agent.status. Choosing "Available" is also the tap
// that lets the page make sounds and ask for desktop notifications.

import { byId, clock, setText, show } from "../lib/dom.js";

const LABELS = {
  offline: "Offline",
  available: "Available",
  offered: "Offer waiting",
  in_call: "In a call",
  wrap_up: "Wrap-up",
  away: "Away",
};

export class StatusPanel {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {(id: string|null, purpose: string) => void} options.sent
   * @param {() => void} options.onGesture  unlock sound, ask for notifications
   */
  constructor({ protocol, sent, onGesture }) {
    this.state = { state: "offline", reason: "", since_ms: 0 };
    this.text = byId("status-text");
    this.buttons = {
      available: byId("status-available"),
      away: byId("status-away"),
      offline: byId("status-offline"),
    };
    for (const [status, button] of Object.entries(this.buttons)) {
      button.addEventListener("click", () => {
        onGesture();
        show(byId("status-error"), false);
        const reason = status === "away" ? byId("away-reason").value : undefined;
        sent(protocol.agentStatus(status, reason), "status");
      });
    }
    setInterval(() => this.draw(), 1000);
  }

  /** agent.state */
  update(state) {
    this.state = state;
    this.draw();
    const badge = byId("agent-badge");
    setText(badge, LABELS[state.state] || state.state);
    badge.dataset.state = state.state;
    const busy = ["offered", "in_call", "wrap_up"].includes(state.state);
    for (const [status, button] of Object.entries(this.buttons)) {
      button.setAttribute("aria-pressed", String(state.state === status));
      button.disabled = busy;
    }
  }

  /** The session ended (link withdrawn or expired): the badge must not claim a status. */
  signedOut() {
    const badge = byId("agent-badge");
    setText(badge, "Signed out");
    badge.dataset.state = "offline";
    for (const button of Object.values(this.buttons)) button.disabled = true;
  }

  draw() {
    const { state, reason, since_ms: since } = this.state;
    // The state is a live region (announced when it changes); the ticking time is not.
    let text = LABELS[state] || state;
    if (state === "away" && reason) text += ` (${reason.replaceAll("_", " ")})`;
    if (state === "available") text += ": the next patient will be offered to you here.";
    setText(this.text, text);
    setText(byId("status-since"), since ? `for ${clock((Date.now() - since) / 1000)}` : "");
  }

  failed(message) {
    const error = byId("status-error");
    setText(error, message);
    show(error, true);
  }
}
