// @ts-check
// What the patient's and the agent's call views share: the peer connection wired to
// the protocol, the remote video, the chat, device lists and switches, mute, camera
// off, hold, relayed SDP/ICE/chat, and the states that decide the "Reconnecting…" line.
// Each page's call view extends it and draws its own controls and words (patient text
// comes from the catalogue). callHandlers() gives both pages the call messages they
// handle alike.

import { ChatView } from "./chat.js";
import { byId, show } from "./dom.js";
import { FilePanel } from "./file-panel.js";
import { t } from "./i18n.js";
import { fillDevices, LocalMedia, play } from "./media.js";
import { Mesh } from "./mesh.js";
import { CallPeer } from "./peer.js";

/** @typedef {import("./media.js").Kind} Kind */

export class CallView {
  /**
   * @param {object} options
   * @param {import("./protocol.js").Protocol} options.protocol
   * @param {LocalMedia} options.media
   * @param {string} options.self  this page's role in the chat ("patient" or "agent")
   * @param {(from: string) => string} options.who  a chat label for "patient" / "agent"
   *   (a guest's is their tile's caption)
   * @param {{camera: string, microphone: string}} options.devices  the ids of the
   *   camera and microphone pickers
   * @param {string} options.principal  the party `peer` talks to: "agent" or "patient"
   * @param {string} [options.files]  the catalogue prefix of the page's "Photos and
   *   documents" panel (shared with `peer` over its data channel); none: no panel
   * @param {string} [options.words]  the catalogue prefix of the parties' names and
   *   announcements ("party." on the patient's and guests' pages)
   */
  constructor({ protocol, media, self, who, devices, principal, files, words = "party." }) {
    this.protocol = protocol;
    this.media = media;
    /** @type {CallPeer | null} */
    this.peer = null;
    this.callId = "";
    this.principal = principal;
    this.words = words;
    /** @type {import("./protocol.js").IceConfig | null} */
    this.ice = null;
    // Everyone else in a call of more than two (guests: interpreter, carer, clinician).
    this.mesh = new Mesh({
      protocol,
      container: byId("party-videos"),
      principal,
      tracks: () => ({
        audio: this.media.audio,
        video: this.screenTrack && this.screenToEveryone ? this.screenTrack : this.media.video,
      }),
      label: (party) => this.partyLabel(party),
      visible: (party) => this.partyVisible(party),
      onState: () => this.drawStatus(),
    });
    this.files = files
      ? new FilePanel({ prefix: files, announce: (line) => this.sayInChat(line) })
      : null;
    // The screen this page shares (getDisplayMedia) in place of its camera, and with
    // whom: the agent with everyone, the patient with the agent (screenToEveryone).
    /** @type {MediaStreamTrack | null} */
    this.screenTrack = null;
    this.screenToEveryone = false;
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
      who: (from, handle) => {
        if (handle && handle === this.mesh.you) return who(self);
        const party = handle ? this.mesh.party(handle) : undefined;
        if (party) return this.partyLabel(party);
        return handle ? this.partyLabel({ handle, party: "guest", name: "", seq: 0 }) : who(from);
      },
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
    this.ice = message.ice;
    const to = this.peerHandle();
    return new CallPeer({
      ice: message.ice,
      polite: message.polite,
      initiator: message.initiator,
      signal: (kind, payload) => {
        if (kind === "description") {
          this.protocol.callSdp(/** @type {RTCSessionDescription} */ (payload), to);
        } else {
          this.protocol.callIce(/** @type {RTCIceCandidate | null} */ (payload), to);
        }
      },
      onRemoteStream: (stream) => this.showRemote(stream),
      onState: (state) => this.connectionState(state),
      onQuality: (quality) => this.showQuality(quality),
      onChannel: this.files ? (channel) => this.files && this.files.share.attach(channel) : undefined,
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

  /** The handle `call.sdp` to the peer carries ("" between patient and agent: none). */
  peerHandle() {
    return "";
  }

  /**
   * call.sdp: from the peer, or from a party of the mesh (`from`).
   * @param {RTCSessionDescriptionInit} description
   * @param {string} [from]
   */
  description(description, from) {
    if (from && this.mesh.owns(from)) this.mesh.description(from, description);
    else if (this.peer) this.peer.handleDescription(description);
  }

  /**
   * call.ice: as call.sdp.
   * @param {RTCIceCandidateInit | null} candidate
   * @param {string} [from]
   */
  candidate(candidate, from) {
    if (from && this.mesh.owns(from)) this.mesh.candidate(from, candidate);
    else if (this.peer) this.peer.handleCandidate(candidate);
  }

  /**
   * call.parties: who is in the call; the mesh connects to the guests.
   * @param {import("./protocol.js").CallParties} message
   */
  parties(message) {
    if (message.call !== this.callId) return;
    this.chatView.handle = message.you;
    const earlier = this.mesh.call === message.call ? this.mesh.parties : [];
    // Who is news: a party shown now and not before (a guest joining, a supervisor
    // barging in), or shown before and not now. The first list of a call of two that a
    // guest joins: the guest is news; a page that itself just joined (a guest's) is told
    // nobody "joined".
    const first = earlier.length === 0;
    const shown = (/** @type {import("./protocol.js").CallParty} */ p) => this.partyVisible(p);
    const before = new Set(
      first ? [message.you, this.principal] : earlier.filter(shown).map((p) => p.handle),
    );
    const now = new Set(message.parties.filter(shown).map((p) => p.handle));
    this.mesh.update(message, this.ice);
    const joined = message.parties.filter(
      (p) => shown(p) && !before.has(p.handle) && p.handle !== message.you,
    );
    const left = earlier.filter((p) => shown(p) && !now.has(p.handle));
    if (!first || this.principal) this.announceParties(joined, left);
    // A supervisor listening in is not shown; the desk may be set to say so.
    const listening = message.parties.some((p) => p.party === "supervisor" && !shown(p));
    const notice = document.getElementById("supervisor-notice");
    if (notice) show(notice, Boolean(message.notice) && listening);
    this.drawParties();
  }

  /**
   * Whether this page shows a party (a supervisor: only when barging; the agent's page
   * also shows one who whispers to it).
   * @param {import("./protocol.js").CallParty} party
   */
  partyVisible(party) {
    return party.party !== "supervisor" || party.mode === "barge";
  }

  /**
   * A tile's caption and chat label: "Ana, Interpreter" (the page's catalogue).
   * @param {import("./protocol.js").CallParty} party
   * @returns {string}
   */
  partyLabel(party) {
    const role = t(`${this.words}${party.party}`);
    return party.name ? t(`${this.words}named`, { name: party.name, role }) : role;
  }

  /**
   * Say who joined or left, on the status line screen readers read.
   * @param {import("./protocol.js").CallParty[]} joined
   * @param {import("./protocol.js").CallParty[]} left
   */
  announceParties(joined, left) {
    const said = [
      ...joined.map((party) => t(`${this.words}joined`, { who: this.partyLabel(party) })),
      ...left.map((party) => t(`${this.words}left`, { who: this.partyLabel(party) })),
    ];
    if (said.length) byId("party-announce").textContent = said.join(" ");
  }

  /** Overridden: the page's list of who is in the call. */
  drawParties() {}

  /**
   * Every connection of this page: the peer's and the mesh's.
   * @returns {CallPeer[]}
   */
  allPeers() {
    return [...(this.peer ? [this.peer] : []), ...this.mesh.peers()];
  }

  /**
   * Each connection of this page by the handle of the party at its other end
   * (diagnostics for support staff, and the browser tests).
   * @returns {Record<string, RTCPeerConnection>}
   */
  peerConnections() {
    /** @type {Record<string, RTCPeerConnection>} */
    const pcs = {};
    if (this.peer) pcs[this.principal] = this.peer.pc;
    for (const [handle, member] of this.mesh.members) pcs[handle] = member.peer.pc;
    return pcs;
  }

  /**
   * A line from this page in the call's chat (a file shared), shown here as sent.
   * @param {string} text
   */
  sayInChat(text) {
    if (this.protocol.callChat(text) !== null) {
      this.chatView.add({ from: this.chatView.self, text, at: Date.now() });
    }
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
    if (this.screenTrack) this.screenTrack.enabled = !on;
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
      await Promise.all(this.cameraPeers().map((peer) => peer.setTrack("video", null)));
    } else if (!this.audioOnly) {
      await this.cameraBack();
    }
    this.drawControls();
  }

  /** The chosen camera again, sent and shown. */
  async cameraBack() {
    const track = await this.media.switchDevice("video", this.media.deviceIds.video);
    if (track) await Promise.all(this.cameraPeers().map((peer) => peer.setTrack("video", track)));
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
    const peers = kind === "video" ? this.cameraPeers() : this.allPeers();
    await Promise.all(peers.map((peer) => peer.setTrack(kind, track)));
    if (kind === "video") play(this.self, this.media.stream);
  }

  /** Whether this browser can share a screen (phones cannot: no getDisplayMedia). */
  static canShareScreen() {
    return Boolean(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
  }

  /**
   * Who sees this page's screen while it shares: the peer, and the mesh when
   * screenToEveryone (`to`: the handle call.screen names; none for the peer).
   * @returns {{peer: CallPeer, to: string | undefined}[]}
   */
  screenPeers() {
    const peers = this.peer ? [{ peer: this.peer, to: undefined }] : [];
    if (!this.screenToEveryone) return peers;
    return [...peers, ...[...this.mesh.members].map(([to, member]) => ({ peer: member.peer, to }))];
  }

  /** The connections that send the camera now (while sharing: the others). */
  cameraPeers() {
    if (!this.screenTrack) return this.allPeers();
    const sharing = new Set(this.screenPeers().map(({ peer }) => peer));
    return this.allPeers().filter((peer) => !sharing.has(peer));
  }

  /** Share the screen (a window, a tab) in place of the camera: no renegotiation. */
  async shareScreen() {
    if (this.screenTrack) return;
    /** @type {MediaStream} */
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch {
      this.drawScreen(false);
      return; // refused, or nothing picked
    }
    const track = stream.getVideoTracks()[0];
    if (!track) return;
    track.contentHint = "detail"; // text stays sharp rather than motion smooth
    track.addEventListener("ended", () => this.stopScreen()); // the browser's own Stop
    this.screenTrack = track;
    for (const { peer, to } of this.screenPeers()) {
      await peer.setTrack("video", track);
      this.protocol.callScreen(true, to);
    }
    this.drawScreen(true);
  }

  /** Back to the camera (or to nothing, with the camera off). */
  async stopScreen() {
    const track = this.screenTrack;
    if (!track) return;
    const peers = this.screenPeers();
    this.screenTrack = null;
    track.stop();
    const camera = this.cameraOff ? null : this.media.video;
    for (const { peer, to } of peers) {
      await peer.setTrack("video", camera);
      this.protocol.callScreen(false, to);
    }
    this.drawScreen(false);
  }

  /**
   * call.screen: the other party's video is their screen now (shown whole), or not.
   * @param {boolean} on
   * @param {string} [from]
   */
  remoteScreen(on, from) {
    const member = from ? this.mesh.members.get(from) : undefined;
    const frame = member ? member.tile : this.remote.parentElement;
    if (frame) frame.classList.toggle("is-screen", on);
    this.announceScreen(on, member ? this.partyLabel(member.party) : "");
  }

  /**
   * Overridden: say that someone shares their screen (or stopped).
   * @param {boolean} _on
   * @param {string} _who  a guest's label; "" for the peer
   */
  announceScreen(_on, _who) {}

  /**
   * Overridden: the "you are sharing your screen" bar and the share button.
   * @param {boolean} _sharing
   */
  drawScreen(_sharing) {}

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
    if (this.screenTrack) this.screenTrack.stop();
    this.screenTrack = null;
    this.drawScreen(false);
    this.remote.parentElement?.classList.remove("is-screen");
    this.close();
    this.mesh.close();
    if (this.files) this.files.close();
    this.drawParties();
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
      call.description(message.description, message.from);
    },
    "call.ice"(message) {
      call.candidate(message.candidate, message.from);
    },
    "call.parties"(message) {
      call.parties(message);
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
    "call.screen"(message) {
      call.remoteScreen(Boolean(message.on), message.from);
    },
  };
}
