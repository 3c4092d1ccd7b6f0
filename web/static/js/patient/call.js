// @ts-check
// The patient's side of a call: the agent's video, self view, mute, camera, sound
// only, device switch, chat, connection quality, "Reconnecting…", end.
// The patient is the polite peer: the agent offers, this page answers.

import { CallView } from "../lib/call-view.js";
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
    super({
      protocol,
      media,
      self: "patient",
      who: (from) => (from === "patient" ? t("chat.you") : this.peerName || t("chat.agent")),
      devices: { camera: "call-camera-select", microphone: "call-microphone-select" },
      principal: "agent",
      files: "files.",
    });
    this.peerName = "";
    this.status = byId("call-status");
    this.quality = byId("call-quality");
    onLanguageChange(() => {
      this.chatView.redraw();
      this.labelRemote();
      this.mesh.relabel();
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
    const sound = byId("chat-sound", HTMLInputElement);
    sound.addEventListener("change", () => {
      if (sound.checked) this.chime.unlock();
    });
    byId("audio-only-button").addEventListener("click", () => this.setAudioOnly(!this.audioOnly));
    show(byId("screen-button"), CallView.canShareScreen()); // not on phones
    byId("screen-button").addEventListener("click", () => this.shareScreen());
    byId("screen-stop").addEventListener("click", () => this.stopScreen());
    byId("end-button").addEventListener("click", () => this.protocol.callBye());
    this.drawControls();
  }

  /**
   * call.started (a new call, or the same call again after a reconnect).
   * @param {import("../lib/protocol.js").CallStarted} message
   */
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
    if (sameCall && this.peer && !["closed", "failed"].includes(this.peer.pc.connectionState)) {
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

  /**
   * call.chat: shown, announced, and counted while the chat is out of sight.
   * @override
   * @param {import("../lib/protocol.js").ChatMessage} message
   */
  chat(message) {
    super.chat(message);
    if (message.from === "patient") return;
    const party = message.handle ? this.mesh.party(message.handle) : undefined;
    const who = party ? this.partyLabel(party) : this.peerName || t("chat.agent");
    byId("chat-announce").textContent = t("chat.announce", { name: who, text: message.text });
    if (byId("chat-sound", HTMLInputElement).checked) this.chime.ring();
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

  /** @param {import("../lib/peer.js").CallPeer} peer  the call's, when it started */
  async startMedia(peer) {
    if (!this.media.audio && !this.media.video) {
      await this.media.start({ audio: true, video: !this.audioOnly && !this.cameraOff });
    }
    if (peer !== this.peer) return;
    const has = this.media.has();
    if (this.media.audio) this.media.audio.enabled = !this.muted && !this.onHold;
    await peer.setTrack("audio", this.media.audio);
    await peer.setTrack("video", this.media.video);
    await this.mesh.setTrack("audio", this.media.audio); // guests already in the call
    await this.mesh.setTrack("video", this.media.video);
    if (has.video) play(this.self, this.media.stream);
    else this.self.srcObject = null;
    show(byId("call-no-media"), !has.audio && !has.video);
    this.drawControls();
    this.listDevices("lobby.media.none");
  }

  /** @override */
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

  /**
   * @override
   * @param {{level: string}} quality
   */
  showQuality({ level }) {
    render(this.quality, `call.quality.${level}`);
    this.quality.dataset.quality = level;
  }

  /**
   * Sound only (both ways: a poor network), or video again.
   * @param {boolean} on
   */
  async setAudioOnly(on) {
    this.audioOnly = on;
    if (on) {
      this.media.stopKind("video");
      this.self.srcObject = null;
      await Promise.all(this.allPeers().map((peer) => peer.setVideo(false)));
    } else {
      await Promise.all(this.allPeers().map((peer) => peer.setVideo(true)));
      if (!this.cameraOff) await this.cameraBack();
    }
    this.drawControls();
  }

  /**
   * A camera picked while the camera is off (or sound only) is the one used when it
   * comes back.
   * @override
   * @param {import("../lib/media.js").Kind} kind
   * @param {string} deviceId
   */
  async switchDevice(kind, deviceId) {
    if (deviceId && kind === "video" && (this.cameraOff || this.audioOnly)) {
      this.media.deviceIds.video = deviceId;
      return;
    }
    await super.switchDevice(kind, deviceId);
  }

  /** @override */
  drawControls() {
    const mute = byId("mute-button", HTMLButtonElement);
    render(mute, this.muted ? "call.unmute" : "call.mute");
    mute.setAttribute("aria-pressed", String(this.muted));
    mute.disabled = this.media.audio === null;
    const camera = byId("camera-button", HTMLButtonElement);
    render(camera, this.cameraOff ? "call.camera_on" : "call.camera_off");
    camera.setAttribute("aria-pressed", String(this.cameraOff));
    camera.disabled = this.audioOnly || (this.media.video === null && !this.cameraOff);
    const audioOnly = byId("audio-only-button");
    render(audioOnly, this.audioOnly ? "call.video_again" : "call.audio_only");
    audioOnly.setAttribute("aria-pressed", String(this.audioOnly));
    byId("screen-button", HTMLButtonElement).disabled = this.audioOnly;
  }

  /**
   * "You are sharing your screen" and its Stop button, while it lasts.
   * @override
   * @param {boolean} sharing
   */
  drawScreen(sharing) {
    show(byId("screen-bar"), sharing);
    byId("screen-button", HTMLButtonElement).disabled = sharing || this.audioOnly;
    if (sharing) byId("screen-stop").focus();
  }

  /**
   * @override
   * @param {boolean} on
   */
  announceScreen(on) {
    const name = this.peerName || t("chat.agent");
    byId("party-announce").textContent = t(on ? "screen.their_on" : "screen.their_off", { name });
  }

  /**
   * call.ended, or leaving the call view for good: the camera and microphone stop too.
   * @override
   */
  close() {
    super.close();
    this.media.stop();
    render(this.quality, "call.quality.unknown");
    this.quality.dataset.quality = "unknown";
  }
}
