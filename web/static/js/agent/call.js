// The agent's side of a call: video, the patient's context, chat, private notes,
// transfer with a hand-off note, hold, end. The agent starts the call and is the
// impolite peer: it makes the offers and restarts ICE when the connection drops or
// the patient comes back after a reconnect.

import { CallView } from "../lib/call-view.js";
import { ChatView } from "../lib/chat.js";
import { byId, fillSelect, setText, show } from "../lib/dom.js";
import { language, render, t } from "../lib/i18n.js";
import { LocalMedia, play } from "../lib/media.js";
import { renderContext } from "./context.js";

const QUALITY = ["unknown", "good", "fair", "poor"];

export class AgentCall extends CallView {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {(id: string|null, purpose: string) => void} options.sent
   */
  constructor({ protocol, sent }) {
    super({ protocol, media: new LocalMedia() });
    this.sent = sent;
    this.patient = {};
    this.muted = false;
    this.cameraOff = false;
    this.onHold = false;
    this.starting = null;
    this.chatView = new ChatView({
      log: byId("chat-log"),
      form: byId("chat-form"),
      input: byId("chat-input"),
      send: (text) => this.protocol.callChat(text) !== null,
      who: (from) => (from === "agent" ? t("agent.chat.you") : this.patient.name || t("agent.chat.patient")),
      self: "agent",
    });
    byId("mute-button").addEventListener("click", () => this.setMuted(!this.muted));
    byId("camera-button").addEventListener("click", () => this.setCameraOff(!this.cameraOff));
    byId("hold-button").addEventListener("click", () => {
      this.sent(this.protocol.agentHold(!this.onHold), "hold");
    });
    byId("end-button").addEventListener("click", () => this.sent(this.protocol.agentEnd(), "end"));
    byId("play-button").addEventListener("click", () => this.showRemote(this.remote.srcObject));
    byId("camera-select").addEventListener("change", (event) =>
      this.switchDevice("video", event.target.value),
    );
    byId("microphone-select").addEventListener("change", (event) =>
      this.switchDevice("audio", event.target.value),
    );
    byId("notes-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = byId("notes-text").value.trim();
      if (text) this.sent(this.protocol.agentNote(text), "note");
    });
    byId("transfer-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.transfer();
    });
  }

  get active() {
    return this.peer !== null || this.starting !== null;
  }

  /** call.started (new, or the same call again after a reconnect). */
  async start(message) {
    const sameCall = message.call === this.callId && this.peer !== null;
    this.patient = message.patient || { name: (message.peer && message.peer.name) || "" };
    this.patientShownAt = Date.now();
    this.drawPatient();
    this.chatView.reset(message.history || []);
    if (!message.resumed) {
      byId("notes-text").value = "";
      byId("transfer-note").value = "";
      setText(byId("notes-status"), "");
    }
    show(byId("transfer-error"), false);
    if (sameCall && !["closed", "failed"].includes(this.peer.pc.connectionState)) {
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
    this.listDevices("camera-select", "microphone-select", t("agent.devices.none"));
  }

  connect(message) {
    this.peer = this.createPeer(message, {
      tracks: { audio: this.media.audio, video: this.media.video },
    });
    this.hold(this.onHold);
  }

  showQuality({ level }) {
    const quality = byId("call-quality");
    const known = QUALITY.includes(level) ? level : "unknown";
    render(quality, `agent.quality.${known}`);
    quality.dataset.quality = known;
  }

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

  /** call.hold: the patient waits in the waiting room; nothing of the agent is sent. */
  hold(on) {
    this.onHold = on;
    show(byId("call-hold"), on);
    const button = byId("hold-button");
    setText(button, t(on ? "agent.call.resume" : "agent.call.hold"));
    button.setAttribute("aria-pressed", String(on));
    if (this.media.audio) this.media.audio.enabled = !on && !this.muted;
    if (this.media.video) this.media.video.enabled = !on;
  }

  setMuted(muted) {
    this.muted = muted;
    if (this.media.audio) this.media.audio.enabled = !muted && !this.onHold;
    this.drawControls();
  }

  async setCameraOff(off) {
    this.cameraOff = off;
    if (off) {
      this.media.stopKind("video");
      this.self.srcObject = null;
      if (this.peer) await this.peer.setTrack("video", null);
    } else {
      const track = await this.media.switchDevice("video", this.media.deviceIds.video);
      if (track && this.peer) await this.peer.setTrack("video", track);
      if (track) play(this.self, this.media.stream);
    }
    this.drawControls();
  }

  async switchDevice(kind, deviceId) {
    if (!deviceId || (kind === "video" && this.cameraOff)) return;
    const track = await this.media.switchDevice(kind, deviceId);
    if (!track) return;
    if (kind === "audio") track.enabled = !this.muted && !this.onHold;
    if (this.peer) await this.peer.setTrack(kind, track);
    if (kind === "video") play(this.self, this.media.stream);
  }

  drawControls() {
    const mute = byId("mute-button");
    setText(mute, t(this.muted ? "agent.call.unmute" : "agent.call.mute"));
    mute.setAttribute("aria-pressed", String(this.muted));
    mute.disabled = this.media.audio === null;
    const camera = byId("camera-button");
    setText(camera, t(this.cameraOff ? "agent.call.camera_on" : "agent.call.camera_off"));
    camera.setAttribute("aria-pressed", String(this.cameraOff));
  }

  /** The queues this agent may transfer to (from agent.state). */
  setQueues(queues) {
    fillSelect(
      byId("transfer-queue"),
      queues.map((name) => ({ value: name, label: name })),
    );
  }

  transfer() {
    const target = byId("transfer-form").querySelector("input[name=target]:checked").value;
    const note = byId("transfer-note").value.trim() || undefined;
    show(byId("transfer-error"), false);
    if (target === "agent") {
      const agent = byId("transfer-agent").value.trim();
      if (!agent) {
        this.transferFailed(t("agent.transfer.need_agent"));
        byId("transfer-agent").focus();
        return;
      }
      this.sent(this.protocol.agentTransfer({ agent, note }), "transfer");
    } else {
      this.sent(this.protocol.agentTransfer({ queue: byId("transfer-queue").value, note }), "transfer");
    }
  }

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

  close() {
    this.starting = null;
    if (this.peer) this.peer.close();
    this.peer = null;
    this.peerAway = false;
    this.remote.srcObject = null;
    this.self.srcObject = null;
    show(byId("play-button"), false);
  }

  /** call.ended: hang up, camera off. */
  end() {
    this.close();
    this.callId = "";
    this.media.stop();
    this.hold(false);
  }
}
