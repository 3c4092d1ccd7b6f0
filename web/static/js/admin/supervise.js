// @ts-check
// Supervising a call from the console: pick a call in progress (from the dashboard's
// agents), monitor it (see and hear both, send nothing), whisper (the microphone goes
// to the agent only) or barge (join as a visible party), and stop. The connections are
// one per party (lib/mesh.js); this page joined last, so it makes the offers, receive-
// only while it sends nothing. docs/protocol.md, "Calls with more than two parties".

import { byId, fillSelect, setText, show } from "../lib/dom.js";
import { t } from "../lib/i18n.js";
import { LocalMedia } from "../lib/media.js";
import { Mesh } from "../lib/mesh.js";

/** @typedef {import("../lib/protocol.js").CallParty} CallParty */
/** @typedef {import("../lib/peer.js").Tracks} Tracks */

const NOTHING = { audio: null, video: null };

export class Supervision {
  /** @param {{protocol: import("../lib/protocol.js").Protocol}} options */
  constructor({ protocol }) {
    this.protocol = protocol;
    this.media = new LocalMedia();
    this.callId = ""; // the call this page watches (or asked to)
    this.mode = "monitor";
    /** @type {import("../lib/protocol.js").IceConfig | null} */
    this.ice = null;
    this.agentName = "";
    /** @type {import("../lib/protocol.js").DashboardAgent[]} */
    this.calls = [];
    this.mesh = new Mesh({
      protocol,
      container: byId("watch-videos"),
      tracks: (party) => this.tracksFor(party),
      label: (party) => this.label(party),
      direction: "recvonly",
      onState: () => this.drawStatus(),
    });
    byId("watch-form", HTMLFormElement).addEventListener("submit", (event) => {
      event.preventDefault();
      const call = byId("watch-call", HTMLSelectElement).value;
      if (call) this.watch(call);
    });
    for (const input of this.modeInputs()) {
      input.addEventListener("change", () => {
        if (input.checked) this.setMode(input.value);
      });
    }
    byId("watch-stop").addEventListener("click", () => this.protocol.supervisorStop());
  }

  /** @returns {HTMLInputElement[]} */
  modeInputs() {
    return [...document.querySelectorAll("input[name=watch-mode]")].map(
      (input) => /** @type {HTMLInputElement} */ (input),
    );
  }

  /**
   * What this page sends a party in the current mode.
   * @param {CallParty} party
   * @returns {Tracks}
   */
  tracksFor(party) {
    if (this.mode === "barge") return { audio: this.media.audio, video: this.media.video };
    if (this.mode === "whisper" && party.handle === "agent") {
      return { audio: this.media.audio, video: null };
    }
    return NOTHING;
  }

  /** @param {CallParty} party */
  label(party) {
    const role = t(`admin.watch.party.${party.party}`);
    return party.name ? t("admin.watch.named", { name: party.name, role }) : role;
  }

  /**
   * The calls in progress, from the dashboard (the list changes only when they do, so
   * the choice and the focus stay put).
   * @param {import("../lib/protocol.js").DashboardAgent[]} agents
   */
  setCalls(agents) {
    const calls = agents.filter((agent) => agent.call);
    const same = calls.map((a) => a.call).join() === this.calls.map((a) => a.call).join();
    this.calls = calls;
    if (same && byId("watch-call", HTMLSelectElement).options.length === calls.length) return;
    this.redraw();
  }

  /** Words written from code, in the page's (new) language. */
  redraw() {
    fillSelect(
      byId("watch-call", HTMLSelectElement),
      this.calls.map((agent) => ({
        value: agent.call || "",
        label: t("admin.watch.call_of", {
          agent: agent.name || agent.id || "",
          queues: (agent.queues || []).join(", "),
        }),
      })),
    );
    show(byId("watch-none"), this.calls.length === 0);
    show(byId("watch-form"), this.calls.length > 0);
    this.mesh.relabel();
    if (this.callId) this.drawStatus();
  }

  /** @param {string} call */
  watch(call) {
    show(byId("watch-error"), false);
    this.mode = "monitor";
    this.callId = call;
    this.drawMode();
    if (this.protocol.supervisorWatch(call, "monitor") === null) {
      this.failed(t("admin.error.not_connected"));
    }
  }

  /**
   * call.started: this page is in the call (again, after a reconnect).
   * @param {import("../lib/protocol.js").CallStarted} message
   */
  started(message) {
    if (message.call !== this.callId) this.mesh.close();
    this.callId = message.call;
    this.ice = message.ice;
    this.agentName = (message.peer && message.peer.name) || "";
    show(byId("watch-view"), true);
    this.drawStatus();
  }

  /** @param {import("../lib/protocol.js").CallParties} message */
  parties(message) {
    if (message.call !== this.callId) return;
    this.mesh.update(message, this.ice);
    this.drawStatus();
  }

  /**
   * @param {string} from
   * @param {RTCSessionDescriptionInit} description
   */
  description(from, description) {
    this.mesh.description(from, description);
  }

  /**
   * @param {string} from
   * @param {RTCIceCandidateInit | null} candidate
   */
  candidate(from, candidate) {
    this.mesh.candidate(from, candidate);
  }

  /**
   * Monitor, whisper or barge: the microphone (and camera) first, then the desk is told
   * and every connection sends what the mode says.
   * @param {string} mode
   */
  async setMode(mode) {
    this.mode = mode;
    if (mode !== "monitor") {
      const wanted = { audio: true, video: mode === "barge" };
      if (!this.media.audio || (wanted.video && !this.media.video)) await this.media.start(wanted);
    }
    this.protocol.supervisorMode(mode);
    await this.mesh.retrack();
    if (mode === "monitor") this.media.stop(); // the microphone's light goes off
    this.drawStatus();
  }

  /** call.ended: out of the call (stopped, or the call is over). */
  ended() {
    this.mesh.close();
    this.media.stop();
    this.callId = "";
    this.mode = "monitor";
    show(byId("watch-view"), false);
    this.drawMode();
  }

  /** The socket is back: into the same call again (a new connection to each party). */
  reconnected() {
    if (this.callId) this.protocol.supervisorWatch(this.callId, this.mode);
  }

  /** @param {string} text */
  failed(text) {
    const error = byId("watch-error");
    setText(error, text);
    show(error, true);
  }

  drawMode() {
    for (const input of this.modeInputs()) input.checked = input.value === this.mode;
  }

  drawStatus() {
    const connected = this.mesh.peers().some((peer) => peer.state === "connected");
    const key = connected ? `admin.watch.status.${this.mode}` : "admin.watch.connecting";
    setText(byId("watch-status"), t(key, { agent: this.agentName }));
  }

  /** @returns {Record<string, RTCPeerConnection>} */
  peerConnections() {
    /** @type {Record<string, RTCPeerConnection>} */
    const pcs = {};
    for (const [handle, member] of this.mesh.members) pcs[handle] = member.peer.pc;
    return pcs;
  }
}
