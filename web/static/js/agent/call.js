// @ts-check
// The agent's side of a call: video, the patient's context, chat, private notes,
// transfer with a hand-off note, hold, end. The agent starts the call and is the
// impolite peer: it makes the offers and restarts ICE when the connection drops or
// the patient comes back after a reconnect.

import { CallView } from "../lib/call-view.js";
import { byId, fillSelect, setText, show } from "../lib/dom.js";
import { language, render, t } from "../lib/i18n.js";
import { LocalMedia, play } from "../lib/media.js";
import { renderContext } from "./context.js";
import { GuestPanel } from "./guests.js";

/** @typedef {import("../lib/protocol.js").CallStarted} CallStarted */

const QUALITY = ["unknown", "good", "fair", "poor"];

export class AgentCall extends CallView {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {(id: string|null, purpose: string) => void} options.sent
   */
  constructor({ protocol, sent }) {
    super({
      protocol,
      media: new LocalMedia(),
      self: "agent",
      who: (from) => (from === "agent" ? t("agent.chat.you") : this.patient.name || t("agent.chat.patient")),
      devices: { camera: "camera-select", microphone: "microphone-select" },
      principal: "patient",
      files: "agent.files.",
      words: "agent.party.",
    });
    this.sent = sent;
    this.guests = new GuestPanel({ protocol, sent, label: (party) => this.partyLabel(party) });
    this.screenToEveryone = true; // a leaflet or a booking page, for everyone in the call
    show(byId("screen-button"), CallView.canShareScreen());
    byId("screen-button").addEventListener("click", () => this.shareScreen());
    byId("screen-stop").addEventListener("click", () => this.stopScreen());
    /** @type {import("../lib/protocol.js").PatientContext} */
    this.patient = {};
    /** @type {number | undefined} when the patient's wait was last measured (ms) */
    this.patientShownAt = undefined;
    /** @type {Promise<void> | null} the media starting for a new call */
    this.starting = null;
    byId("hold-button").addEventListener("click", () => {
      this.sent(this.protocol.agentHold(!this.onHold), "hold");
    });
    byId("end-button").addEventListener("click", () => this.sent(this.protocol.agentEnd(), "end"));
    byId("notes-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = byId("notes-text", HTMLTextAreaElement).value.trim();
      if (text) this.sent(this.protocol.agentNote(text), "note");
    });
    byId("transfer-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.transfer();
    });
  }

  /** @override */
  get active() {
    return this.peer !== null || this.starting !== null;
  }

  /**
   * call.started (new, or the same call again after a reconnect).
   * @param {CallStarted} message
   */
  async start(message) {
    const sameCall = message.call === this.callId && this.peer !== null;
    this.patient = message.patient || { name: (message.peer && message.peer.name) || "" };
    this.patientShownAt = Date.now();
    this.drawPatient();
    this.chatView.reset(message.history || []);
    if (!message.resumed) {
      this.guests.reset(this.patient);
      byId("notes-text", HTMLTextAreaElement).value = "";
      byId("transfer-note", HTMLTextAreaElement).value = "";
      setText(byId("notes-status"), "");
    }
    show(byId("transfer-error"), false);
    if (sameCall && this.peer && !["closed", "failed"].includes(this.peer.pc.connectionState)) {
      // Only the socket dropped: keep the media; restart ICE if it suffered too.
      if (this.peer.pc.iceConnectionState !== "connected") this.peer.restartIce();
      return;
    }
    this.close();
    this.callId = message.call;
    const starting = this.startMedia().then(() => {
      if (this.starting !== starting) return;
      this.starting = null;
      this.connect(message);
    });
    this.starting = starting;
    this.drawStatus(t("agent.call.connecting"));
  }

  /** The heading, the video's name and the context (again after a language change). */
  drawPatient() {
    const name = this.patient.name || t("agent.call.the_patient");
    setText(byId("call-heading"), t("agent.call.with", { name }));
    this.remote.setAttribute("aria-label", t("agent.call.remote_video_of", { name }));
    renderContext(byId("call-context"), this.patient, this.patientShownAt);
  }

  /** Everything this view wrote from code, in the page's (new) language. */
  redraw() {
    if (this.active) this.drawPatient();
    this.chatView.redraw();
    this.mesh.relabel();
    this.guests.redraw();
    this.drawControls();
    this.hold(this.onHold);
    this.showQuality({ level: byId("call-quality").dataset.quality || "unknown" });
    if (this.active) this.drawStatus();
  }

  async startMedia() {
    if (!this.media.audio && !this.media.video) {
      await this.media.start({ audio: true, video: !this.cameraOff });
    }
    if (this.media.audio) this.media.audio.enabled = !this.muted;
    if (this.media.video) play(this.self, this.media.stream);
    this.drawControls();
    this.listDevices("agent.devices.none");
  }

  /** @param {CallStarted} message */
  connect(message) {
    this.peer = this.createPeer(message, {
      tracks: { audio: this.media.audio, video: this.media.video },
    });
    // Guests already in the call (connected before the camera was on) get it now.
    this.mesh.setTrack("audio", this.media.audio);
    this.mesh.setTrack("video", this.media.video);
    this.hold(this.onHold);
  }

  /**
   * A guest's tile and list entry: "Ana, Interpreter".
   * @override
   * @param {import("../lib/protocol.js").CallParty} party
   */
  partyLabel(party) {
    if (party.party === "supervisor" && party.mode === "whisper") {
      return t("agent.party.coaching", { name: party.name || t("agent.party.supervisor") });
    }
    return super.partyLabel(party);
  }

  /**
   * The agent also sees (and hears) a supervisor who whispers to them.
   * @override
   * @param {import("../lib/protocol.js").CallParty} party
   */
  partyVisible(party) {
    return party.party !== "supervisor" || party.mode === "barge" || party.mode === "whisper";
  }

  /** @override */
  drawParties() {
    this.guests.draw(this.mesh.parties, this.mesh.you);
  }

  /**
   * @override
   * @param {{level: string}} quality
   */
  showQuality({ level }) {
    const quality = byId("call-quality");
    const known = QUALITY.includes(level) ? level : "unknown";
    render(quality, `agent.quality.${known}`);
    quality.dataset.quality = known;
  }

  /**
   * @override
   * @param {string} [text]  shown instead of what the states say
   */
  drawStatus(text) {
    const state = this.peer ? this.peer.state : "connecting";
    let status = text || "";
    if (!text) {
      if (this.socketDown) status = t("agent.call.reconnecting_desk");
      else if (this.peerAway) status = t("agent.call.patient_dropped");
      else if (state === "reconnecting" || state === "failed") status = t("agent.call.reconnecting");
      else if (state === "connecting") status = t("agent.call.connecting");
    }
    setText(byId("call-status"), status);
    show(byId("call-status"), Boolean(status));
  }

  /**
   * call.hold: the patient waits in the waiting room; nothing of the agent is sent.
   * @override
   * @param {boolean} on
   */
  hold(on) {
    super.hold(on);
    const button = byId("hold-button");
    setText(button, t(on ? "agent.call.resume" : "agent.call.hold"));
    button.setAttribute("aria-pressed", String(on));
  }

  /**
   * A camera picked while the camera is off is not used (it stays off).
   * @override
   * @param {import("../lib/media.js").Kind} kind
   * @param {string} deviceId
   */
  async switchDevice(kind, deviceId) {
    if (kind === "video" && this.cameraOff) return;
    await super.switchDevice(kind, deviceId);
  }

  /**
   * @override
   * @param {boolean} sharing
   */
  drawScreen(sharing) {
    show(byId("screen-bar"), sharing);
    byId("screen-button", HTMLButtonElement).disabled = sharing;
    if (sharing) byId("screen-stop").focus();
  }

  /**
   * @override
   * @param {boolean} on
   */
  announceScreen(on) {
    const name = this.patient.name || t("agent.call.the_patient");
    byId("party-announce").textContent = t(on ? "agent.screen.their_on" : "agent.screen.their_off", { name });
  }

  /** @override */
  drawControls() {
    const mute = byId("mute-button", HTMLButtonElement);
    setText(mute, t(this.muted ? "agent.call.unmute" : "agent.call.mute"));
    mute.setAttribute("aria-pressed", String(this.muted));
    mute.disabled = this.media.audio === null;
    const camera = byId("camera-button");
    setText(camera, t(this.cameraOff ? "agent.call.camera_on" : "agent.call.camera_off"));
    camera.setAttribute("aria-pressed", String(this.cameraOff));
  }

  /**
   * The queues this agent may transfer to (from agent.state).
   * @param {string[]} queues
   */
  setQueues(queues) {
    fillSelect(
      byId("transfer-queue", HTMLSelectElement),
      queues.map((name) => ({ value: name, label: name })),
    );
  }

  transfer() {
    const target = /** @type {HTMLInputElement} */ (
      byId("transfer-form").querySelector("input[name=target]:checked")
    ).value;
    const note = byId("transfer-note", HTMLTextAreaElement).value.trim() || undefined;
    show(byId("transfer-error"), false);
    if (target === "agent") {
      const agent = byId("transfer-agent", HTMLInputElement).value.trim();
      if (!agent) {
        this.transferFailed(t("agent.transfer.need_agent"));
        byId("transfer-agent").focus();
        return;
      }
      this.sent(this.protocol.agentTransfer({ agent, note }), "transfer");
    } else {
      const queue = byId("transfer-queue", HTMLSelectElement).value;
      this.sent(this.protocol.agentTransfer({ queue, note }), "transfer");
    }
  }

  /** @param {string} message */
  transferFailed(message) {
    const error = byId("transfer-error");
    setText(error, message);
    show(error, true);
  }

  /** agent.note_saved */
  noteSaved() {
    const time = new Date().toLocaleTimeString(language(), { hour: "2-digit", minute: "2-digit" });
    setText(byId("notes-status"), t("agent.notes.saved", { time }));
  }

  /** @override */
  close() {
    this.starting = null;
    super.close();
  }
}
