// The patient's side of a call: the agent's video, self view, mute, camera, sound
// only, device switch, chat, connection quality, "Reconnecting…", end.
// The patient is the polite peer: the agent offers, this page answers.

import { CallView } from "../lib/call-view.js";
import { ChatView } from "../lib/chat.js";
import { byId, show } from "../lib/dom.js";
import { onLanguageChange, render, t } from "../lib/i18n.js";
import { LocalMedia, play } from "../lib/media.js";

export class PatientCall extends CallView {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {LocalMedia} options.media
   * @param {import("../lib/chime.js").Chime} options.chime  for new messages, if wanted
   */
  constructor({ protocol, media, chime }) {
    super({ protocol, media });
    this.peerName = "";
    this.muted = false;
    this.cameraOff = false;
    this.audioOnly = false;
    this.onHold = false;
    this.status = byId("call-status");
    this.quality = byId("call-quality");
    this.chatView = new ChatView({
      log: byId("chat-log"),
      form: byId("chat-form"),
      input: byId("chat-input"),
      send: (text) => this.protocol.callChat(text) !== null,
      who: (from) => (from === "patient" ? t("chat.you") : this.peerName || t("chat.agent")),
      self: "patient",
    });
    onLanguageChange(() => {
      this.chatView.redraw();
      this.labelRemote();
    });
    // New messages while the chat is off screen (a phone: it is below the video): a
    // count on the "Chat" button, read out by screen readers, and a chime only when the
    // patient turned it on.
    this.unread = 0;
    this.chatVisible = true;
    this.chime = chime;
    const panel = byId("chat-heading").closest("section");
    if (panel && "IntersectionObserver" in window) {
      new IntersectionObserver(([entry]) => {
        this.chatVisible = entry.isIntersecting;
        if (this.chatVisible) this.markRead();
      }).observe(panel);
    }
    byId("chat-sound").addEventListener("change", (event) => {
      if (event.target.checked) this.chime.unlock();
    });
    byId("mute-button").addEventListener("click", () => this.setMuted(!this.muted));
    byId("camera-button").addEventListener("click", () => this.setCameraOff(!this.cameraOff));
    byId("audio-only-button").addEventListener("click", () => this.setAudioOnly(!this.audioOnly));
    byId("end-button").addEventListener("click", () => this.protocol.callBye());
    byId("play-button").addEventListener("click", () => this.playRemote());
    byId("call-camera-select").addEventListener("change", (event) =>
      this.switchDevice("video", event.target.value),
    );
    byId("call-microphone-select").addEventListener("change", (event) =>
      this.switchDevice("audio", event.target.value),
    );
    this.drawControls();
  }

  /** call.started (a new call, or the same call again after a reconnect). */
  start(message) {
    const sameCall = message.call === this.callId && this.peer !== null;
    this.peerName = (message.peer && message.peer.name) || "";
    if (this.peerName) {
      render(byId("call-heading"), "call.heading_named", { name: this.peerName });
    } else {
      render(byId("call-heading"), "call.heading");
    }
    this.labelRemote();
    this.chatView.reset(message.history || []);
    this.hold(Boolean(message.on_hold));
    if (sameCall && !["closed", "failed"].includes(this.peer.pc.connectionState)) {
      return; // the socket came back; the media connection may never have dropped
    }
    if (!message.resumed) sessionStorage.removeItem("vd.surveyed");
    this.close();
    this.callId = message.call;
    this.peer = this.createPeer(message);
    // The agent's offer waits until the camera and microphone are ready, so the
    // answer sends them at once.
    const peer = this.peer;
    peer.enqueue(() => this.startMedia(peer));
    render(this.status, "call.connecting");
    show(this.status, true);
  }

  /** call.chat: shown, announced, and counted while the chat is out of sight. */
  chat(message) {
    super.chat(message);
    if (message.from === "patient") return;
    const who = this.peerName || t("chat.agent");
    byId("chat-announce").textContent = t("chat.announce", { name: who, text: message.text });
    if (byId("chat-sound").checked) this.chime.ring();
    if (this.chatVisible) return;
    this.unread += 1;
    this.drawUnread();
  }

  markRead() {
    this.unread = 0;
    this.drawUnread();
  }

  drawUnread() {
    const badge = byId("chat-unread");
    if (this.unread > 0) render(badge, "chat.unread", { count: this.unread });
    else render(badge, null);
    show(badge, this.unread > 0);
  }

  labelRemote() {
    delete this.remote.dataset.i18nLabel;
    this.remote.setAttribute(
      "aria-label",
      this.peerName ? t("call.remote_named", { name: this.peerName }) : t("call.remote"),
    );
  }

  async startMedia(peer) {
    if (!this.media.audio && !this.media.video) {
      await this.media.start({ audio: true, video: !this.audioOnly && !this.cameraOff });
    }
    if (peer !== this.peer) return;
    const has = this.media.has();
    if (this.media.audio) this.media.audio.enabled = !this.muted && !this.onHold;
    await peer.setTrack("audio", this.media.audio);
    await peer.setTrack("video", this.media.video);
    if (has.video) play(this.self, this.media.stream);
    else this.self.srcObject = null;
    show(byId("call-no-media"), !has.audio && !has.video);
    this.drawControls();
    this.listDevices("call-camera-select", "call-microphone-select", t("lobby.media.none"));
  }

  async playRemote() {
    const playing = await play(this.remote, this.remote.srcObject);
    show(byId("play-button"), !playing);
  }

  drawStatus() {
    const state = this.peer ? this.peer.state : "closed";
    if (this.socketDown || this.peerAway || state === "reconnecting" || state === "failed") {
      render(this.status, "call.reconnecting");
      show(this.status, true);
    } else if (state === "connecting") {
      render(this.status, "call.connecting");
      show(this.status, true);
    } else {
      render(this.status, null);
      show(this.status, false);
    }
  }

  showQuality({ level }) {
    render(this.quality, `call.quality.${level}`);
    this.quality.dataset.quality = level;
  }

  /** call.hold: the agent put the call on hold (the waiting room says so). */
  hold(on) {
    this.onHold = on;
    show(byId("call-hold"), on);
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
    } else if (!this.audioOnly) {
      await this.cameraBack();
    }
    this.drawControls();
  }

  async setAudioOnly(on) {
    this.audioOnly = on;
    if (on) {
      this.media.stopKind("video");
      this.self.srcObject = null;
      if (this.peer) await this.peer.setVideo(false);
    } else {
      if (this.peer) await this.peer.setVideo(true);
      if (!this.cameraOff) await this.cameraBack();
    }
    this.drawControls();
  }

  async cameraBack() {
    const track = await this.media.switchDevice("video", this.media.deviceIds.video);
    if (track && this.peer) await this.peer.setTrack("video", track);
    if (track) play(this.self, this.media.stream);
  }

  async switchDevice(kind, deviceId) {
    if (!deviceId) return;
    if (kind === "video" && (this.cameraOff || this.audioOnly)) {
      this.media.deviceIds.video = deviceId;
      return;
    }
    const track = await this.media.switchDevice(kind, deviceId);
    if (!track) return;
    if (kind === "audio") track.enabled = !this.muted && !this.onHold;
    if (this.peer) await this.peer.setTrack(kind, track);
    if (kind === "video") play(this.self, this.media.stream);
  }

  drawControls() {
    const mute = byId("mute-button");
    render(mute, this.muted ? "call.unmute" : "call.mute");
    mute.setAttribute("aria-pressed", String(this.muted));
    mute.disabled = this.media.audio === null;
    const camera = byId("camera-button");
    render(camera, this.cameraOff ? "call.camera_on" : "call.camera_off");
    camera.setAttribute("aria-pressed", String(this.cameraOff));
    camera.disabled = this.audioOnly || (this.media.video === null && !this.cameraOff);
    const audioOnly = byId("audio-only-button");
    render(audioOnly, this.audioOnly ? "call.video_again" : "call.audio_only");
    audioOnly.setAttribute("aria-pressed", String(this.audioOnly));
  }

  /** call.ended, or leaving the call view for good. */
  close() {
    if (this.peer) this.peer.close();
    this.peer = null;
    this.peerAway = false;
    this.remote.srcObject = null;
    this.self.srcObject = null;
    this.media.stop();
    show(byId("play-button"), false);
    render(this.quality, "call.quality.unknown");
    this.quality.dataset.quality = "unknown";
  }

  end() {
    this.close();
    this.callId = "";
    this.hold(false);
  }
}
