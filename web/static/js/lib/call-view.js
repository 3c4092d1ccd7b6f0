// What the patient's and the agent's call views share: the peer connection wired to
// the protocol, the remote video, device lists, relayed SDP/ICE/chat, and the states
// that decide the "Reconnecting…" line. Each page's call view extends it and draws
// its own controls and words (patient text comes from the catalogue).

import { byId, fillSelect, show } from "./dom.js";
import { LocalMedia, play } from "./media.js";
import { CallPeer } from "./peer.js";

export class CallView {
  /**
   * @param {object} options
   * @param {import("./protocol.js").Protocol} options.protocol
   * @param {LocalMedia} options.media
   */
  constructor({ protocol, media }) {
    this.protocol = protocol;
    this.media = media;
    this.peer = null;
    this.callId = "";
    this.socketDown = false;
    this.peerAway = false;
    this.remote = byId("remote-video");
    this.self = byId("self-video");
  }

  get active() {
    return this.peer !== null;
  }

  /** A peer connection for a call.started message, wired to the protocol. */
  createPeer(message, extra = {}) {
    return new CallPeer({
      ice: message.ice,
      polite: message.polite,
      initiator: message.initiator,
      signal: (kind, payload) => {
        if (kind === "description") this.protocol.callSdp(payload);
        else this.protocol.callIce(payload);
      },
      onRemoteStream: (stream) => this.showRemote(stream),
      onState: (state) => this.connectionState(state),
      onQuality: (quality) => this.showQuality(quality),
      ...extra,
    });
  }

  /** Fill the camera and microphone pickers ("none" when a kind has no device). */
  async listDevices(cameraSelect, microphoneSelect, noneLabel) {
    const devices = await LocalMedia.devices();
    const none = [{ value: "", label: noneLabel }];
    fillSelect(
      byId(cameraSelect),
      devices.videoinput.length ? devices.videoinput : none,
      this.media.deviceIds.video,
    );
    fillSelect(
      byId(microphoneSelect),
      devices.audioinput.length ? devices.audioinput : none,
      this.media.deviceIds.audio,
    );
  }

  /** Play the other party's video (a play button when the browser wants a gesture). */
  async showRemote(stream) {
    const playing = await play(this.remote, stream);
    show(byId("play-button"), !playing);
  }

  /** call.sdp */
  description(description) {
    if (this.peer) this.peer.handleDescription(description);
  }

  /** call.ice */
  candidate(candidate) {
    if (this.peer) this.peer.handleCandidate(candidate);
  }

  /** call.chat */
  chat(message) {
    this.chatView.add(message);
  }

  /** The media connection's state: tell the desk (it records setup time), redraw. */
  connectionState(state) {
    if (["connected", "reconnecting", "failed"].includes(state)) this.protocol.callMedia(state);
    this.drawStatus();
  }

  /** call.peer: the other party's socket dropped, or is back (the offerer renegotiates). */
  peerStatus(status) {
    this.peerAway = status === "reconnecting";
    if (status === "connected" && this.peer && this.peer.initiator) this.peer.restartIce();
    this.drawStatus();
  }

  /** call.peer_media: the other party's media state. */
  peerMedia(state) {
    if (state === "connected") this.peerAway = false;
    this.drawStatus();
  }

  /** This page's own socket is down (or back). */
  socketStatus(down) {
    this.socketDown = down;
    if (this.active) this.drawStatus();
  }

  /** Overridden: the page's own status line and quality indicator. */
  drawStatus() {}

  showQuality() {}
}
