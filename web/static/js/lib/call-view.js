// @ts-check
// What the patient's and the agent's call views share: the peer connection wired to
// the protocol, the remote video, the chat, device lists and switches, mute, camera
// off, hold, relayed SDP/ICE/chat, and the states that decide the "Reconnecting…" line.
// Each page's call view extends it and draws its own controls and words (patient text
// comes from the catalogue). callHandlers() gives both pages the call messages they
// handle alike.

import { ChatView } from "./chat.js";
import { byId, show } from "./dom.js";
import { fillDevices, LocalMedia, play } from "./media.js";
import { CallPeer } from "./peer.js";

/** @typedef {import("./media.js").Kind} Kind */

export class CallView {
  /**
   * @param {object} options
   * @param {import("./protocol.js").Protocol} options.protocol
   * @param {LocalMedia} options.media
   * @param {string} options.self  this page's role in the chat ("patient" or "agent")
   * @param {(from: string) => string} options.who  a chat label for "patient" / "agent"
   * @param {{camera: string, microphone: string}} options.devices  the ids of the
   *   camera and microphone pickers
   */
  constructor({ protocol, media, self, who, devices }) {
    this.protocol = protocol;
    this.media = media;
    /** @type {CallPeer | null} */
    this.peer = null;
    this.callId = "";
    this.socketDown = false;
    this.peerAway = false;
    // What the person chose (microphone muted, camera off, sound only: a button of the
    // patient's page), and whether the call is on hold.
    this.muted = false;
    this.cameraOff = false;
    this.audioOnly = false;
    this.onHold = false;
    this.remote = byId("remote-video", HTMLVideoElement);
    this.self = byId("self-video", HTMLVideoElement);
    this.cameraSelect = byId(devices.camera, HTMLSelectElement);
    this.microphoneSelect = byId(devices.microphone, HTMLSelectElement);
    this.chatView = new ChatView({
      log: byId("chat-log"),
      form: byId("chat-form", HTMLFormElement),
      input: byId("chat-input", HTMLInputElement),
      send: (text) => this.protocol.callChat(text) !== null,
      who,
      self,
    });
    byId("mute-button").addEventListener("click", () => this.setMuted(!this.muted));
    byId("camera-button").addEventListener("click", () => this.setCameraOff(!this.cameraOff));
    byId("play-button").addEventListener("click", () => this.showRemote(this.remoteStream()));
    this.cameraSelect.addEventListener("change", () =>
      this.switchDevice("video", this.cameraSelect.value),
    );
    this.microphoneSelect.addEventListener("change", () =>
      this.switchDevice("audio", this.microphoneSelect.value),
    );
  }

  get active() {
    return this.peer !== null;
  }

  /**
   * A peer connection for a call.started message, wired to the protocol.
   * @param {import("./protocol.js").CallStarted} message
   * @param {{tracks?: import("./peer.js").Tracks}} [extra]
   */
  createPeer(message, extra = {}) {
    return new CallPeer({
      ice: message.ice,
      polite: message.polite,
      initiator: message.initiator,
      signal: (kind, payload) => {
        if (kind === "description") {
          this.protocol.callSdp(/** @type {RTCSessionDescription} */ (payload));
        } else {
          this.protocol.callIce(/** @type {RTCIceCandidate | null} */ (payload));
        }
      },
      onRemoteStream: (stream) => this.showRemote(stream),
      onState: (state) => this.connectionState(state),
      onQuality: (quality) => this.showQuality(quality),
      ...extra,
    });
  }

  /**
   * Fill the camera and microphone pickers ("none" when a kind has no device).
   * @param {string} noneKey  the catalogue's word for "none"
   */
  async listDevices(noneKey) {
    await fillDevices(this.cameraSelect, this.microphoneSelect, this.media.deviceIds, noneKey);
  }

  /** What the remote video shows (the other party's stream, or nothing yet). */
  remoteStream() {
    return /** @type {MediaStream | null} */ (this.remote.srcObject);
  }

  /**
   * Play the other party's video (a play button when the browser wants a gesture).
   * @param {MediaStream | null} stream
   */
  async showRemote(stream) {
    const playing = await play(this.remote, stream);
    show(byId("play-button"), !playing);
  }

  /**
   * call.sdp
   * @param {RTCSessionDescriptionInit} description
   */
  description(description) {
    if (this.peer) this.peer.handleDescription(description);
  }

  /**
   * call.ice
   * @param {RTCIceCandidateInit | null} candidate
   */
  candidate(candidate) {
    if (this.peer) this.peer.handleCandidate(candidate);
  }

  /**
   * call.chat
   * @param {import("./protocol.js").ChatMessage} message
   */
  chat(message) {
    this.chatView.add(message);
  }

  /**
   * The media connection's state: tell the desk (it records setup time), redraw.
   * @param {string} state
   */
  connectionState(state) {
    if (["connected", "reconnecting", "failed"].includes(state)) this.protocol.callMedia(state);
    this.drawStatus();
  }

  /**
   * call.peer: the other party's socket dropped, or is back (the offerer renegotiates).
   * @param {string} status
   */
  peerStatus(status) {
    this.peerAway = status === "reconnecting";
    if (status === "connected" && this.peer && this.peer.initiator) this.peer.restartIce();
    this.drawStatus();
  }

  /**
   * call.peer_media: the other party's media state.
   * @param {string} state
   */
  peerMedia(state) {
    if (state === "connected") this.peerAway = false;
    this.drawStatus();
  }

  /**
   * This page's own socket is down (or back).
   * @param {boolean} down
   */
  socketStatus(down) {
    this.socketDown = down;
    if (this.active) this.drawStatus();
  }

  /**
   * call.hold: on hold, nothing of this side is sent (each page says so its way).
   * @param {boolean} on
   */
  hold(on) {
    this.onHold = on;
    show(byId("call-hold"), on);
    if (this.media.audio) this.media.audio.enabled = !on && !this.muted;
    if (this.media.video) this.media.video.enabled = !on;
  }

  /** @param {boolean} muted */
  setMuted(muted) {
    this.muted = muted;
    if (this.media.audio) this.media.audio.enabled = !muted && !this.onHold;
    this.drawControls();
  }

  /**
   * Camera off (the light goes off), or on again (unless sound only).
   * @param {boolean} off
   */
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

  /** The chosen camera again, sent and shown. */
  async cameraBack() {
    const track = await this.media.switchDevice("video", this.media.deviceIds.video);
    if (track && this.peer) await this.peer.setTrack("video", track);
    if (track) play(this.self, this.media.stream);
  }

  /**
   * Another camera or microphone, picked: sent (muted and on hold as chosen) and shown.
   * @param {Kind} kind
   * @param {string} deviceId
   */
  async switchDevice(kind, deviceId) {
    if (!deviceId) return;
    const track = await this.media.switchDevice(kind, deviceId);
    if (!track) return;
    if (kind === "audio") track.enabled = !this.muted && !this.onHold;
    if (this.peer) await this.peer.setTrack(kind, track);
    if (kind === "video") play(this.self, this.media.stream);
  }

  /** Hang up this peer connection (the call may go on with another: a restart). */
  close() {
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

  /**
   * Overridden: the page's own status line (a text to show instead, if given).
   * @param {string} [_text]
   */
  drawStatus(_text) {}

  /**
   * Overridden: the page's quality indicator.
   * @param {{level: string}} _quality  "good", "fair", "poor" or "unknown"
   */
  showQuality(_quality) {}

  /** Overridden: the page's mute, camera (and sound only) buttons. */
  drawControls() {}
}

/**
 * The call messages both pages hand to their call view alike, for their `handlers`
 * tables (call.started and call.ended differ by page and stay there).
 * @param {CallView} call
 * @returns {import("./protocol.js").Handlers}
 */
export function callHandlers(call) {
  return {
    "call.sdp"(message) {
      call.description(message.description);
    },
    "call.ice"(message) {
      call.candidate(message.candidate);
    },
    "call.chat"(message) {
      call.chat(message);
    },
    "call.peer"(message) {
      call.peerStatus(message.status);
    },
    "call.peer_media"(message) {
      call.peerMedia(message.state);
    },
    "call.hold"(message) {
      call.hold(Boolean(message.on));
    },
  };
}
