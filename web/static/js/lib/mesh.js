// @ts-check
// The other parties of a call with more than two: one CallPeer (perfect negotiation,
// peer.js) per pair, addressed by the party's handle (call.sdp `to` / `from`). Which
// side of a pair makes the offers follows call.parties: the party with the greater
// `seq` (the one who joined later) is the initiator and the impolite side. A party
// whose `seq` changes joined again (a reload): its old connection is closed and a new
// one waits for, or makes, the offer. Each remote party gets a tile: its video and a
// caption with its first name and part in the call.
//
// The patient's and the agent's pages keep their connection to each other as before
// (CallView.peer) and give that handle as `principal`; the guest page has none.
//
// A supervisor is a party too: `visible` says whether this page shows them (a monitoring
// supervisor is connected but not shown), and a supervisor's own page sends per party
// (`tracks(party)`: whispering, its microphone goes to the agent only) and offers
// receive-only while it has nothing to send.

import { play } from "./media.js";
import { CallPeer } from "./peer.js";

/** @typedef {import("./protocol.js").CallParty} CallParty */
/** @typedef {import("./media.js").Kind} Kind */
/** @typedef {{peer: CallPeer, party: CallParty, tile: HTMLElement, video: HTMLVideoElement, caption: HTMLElement}} Member */

export class Mesh {
  /**
   * @param {object} options
   * @param {import("./protocol.js").Protocol} options.protocol
   * @param {HTMLElement} options.container  where the tiles go
   * @param {string} [options.principal]  the handle CallView.peer already talks to
   * @param {(party: CallParty) => import("./peer.js").Tracks} options.tracks  what this
   *   page sends that party now
   * @param {(party: CallParty) => string} options.label  a tile's caption
   * @param {(party: CallParty) => boolean} [options.visible]  whether to show a tile
   * @param {(handle: string, state: string) => void} [options.onState]
   * @param {RTCRtpTransceiverDirection} [options.direction]  the offers' transceivers
   *   while nothing is sent ("recvonly": a monitoring supervisor)
   */
  constructor({ protocol, container, principal, tracks, label, visible, onState, direction }) {
    this.protocol = protocol;
    this.container = container;
    this.principal = principal || "";
    this.tracks = tracks;
    this.label = label;
    this.visible = visible || (() => true);
    this.onState = onState || (() => {});
    this.direction = direction;
    /** @type {Map<string, Member>} */
    this.members = new Map();
    /** @type {import("./protocol.js").IceConfig | null} */
    this.ice = null;
    this.call = "";
    this.you = "";
    this.mySeq = -1;
    /** @type {CallParty[]} */
    this.parties = [];
  }

  /**
   * call.parties: connect to newcomers, drop those who left, restart rejoined ones.
   * @param {import("./protocol.js").CallParties} message
   * @param {import("./protocol.js").IceConfig | null} ice
   */
  update(message, ice) {
    this.ice = ice;
    if (message.call !== this.call) this.close(); // another call: nobody carries over
    this.call = message.call;
    this.you = message.you;
    this.parties = message.parties;
    const me = message.parties.find((p) => p.handle === message.you);
    const seq = me ? me.seq : -1;
    // This page took the call again (a reload elsewhere, a reconnect): the others
    // start their connections to it afresh, so it does too.
    if (this.mySeq !== -1 && seq !== this.mySeq) this.dropAll();
    this.mySeq = seq;
    const others = message.parties.filter(
      (p) => p.handle !== message.you && p.handle !== this.principal,
    );
    const present = new Set(others.map((p) => p.handle));
    for (const handle of [...this.members.keys()]) {
      if (!present.has(handle)) this.drop(handle);
    }
    for (const party of others) {
      const member = this.members.get(party.handle);
      if (member && member.party.seq === party.seq) {
        member.party = party; // the same connection; a supervisor's mode may differ
        this.draw(member);
        continue;
      }
      if (member) this.drop(party.handle);
      this.connect(party);
    }
  }

  /** @param {CallParty} party */
  connect(party) {
    const tile = document.createElement("figure");
    tile.className = "video-frame video-party";
    tile.dataset.handle = party.handle;
    const video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    const caption = document.createElement("figcaption");
    tile.append(video, caption);
    this.container.append(tile);
    const initiator = this.mySeq > party.seq;
    const handle = party.handle;
    const peer = new CallPeer({
      ice: this.ice,
      polite: !initiator,
      initiator,
      tracks: this.tracks(party),
      direction: this.direction,
      signal: (kind, payload) => {
        if (kind === "description") {
          this.protocol.callSdp(/** @type {RTCSessionDescription} */ (payload), handle);
        } else {
          this.protocol.callIce(/** @type {RTCIceCandidate | null} */ (payload), handle);
        }
      },
      onRemoteStream: (stream) => {
        play(video, stream);
      },
      onState: (state) => {
        tile.dataset.state = state;
        this.onState(handle, state);
      },
    });
    const member = { peer, party, tile, video, caption };
    this.members.set(handle, member);
    this.draw(member);
  }

  /**
   * A tile's caption and whether it shows.
   * @param {Member} member
   */
  draw(member) {
    member.caption.textContent = this.label(member.party);
    member.video.setAttribute("aria-label", member.caption.textContent);
    member.tile.hidden = !this.visible(member.party);
  }

  /** Send each party what `tracks(party)` says now (a supervisor's mode changed). */
  async retrack() {
    await Promise.all(
      [...this.members.values()].flatMap((member) => {
        const tracks = this.tracks(member.party);
        return [member.peer.setTrack("audio", tracks.audio), member.peer.setTrack("video", tracks.video)];
      }),
    );
  }

  /** @param {string} handle */
  drop(handle) {
    const member = this.members.get(handle);
    if (!member) return;
    member.peer.close();
    member.video.srcObject = null;
    member.tile.remove();
    this.members.delete(handle);
  }

  /**
   * Whether a message from this handle is for the mesh (not the principal peer).
   * @param {string | undefined} from
   */
  owns(from) {
    return Boolean(from) && from !== this.principal;
  }

  /**
   * call.sdp from a party of the mesh.
   * @param {string} from
   * @param {RTCSessionDescriptionInit} description
   */
  description(from, description) {
    const member = this.members.get(from);
    if (member) member.peer.handleDescription(description);
  }

  /**
   * call.ice from a party of the mesh.
   * @param {string} from
   * @param {RTCIceCandidateInit | null} candidate
   */
  candidate(from, candidate) {
    const member = this.members.get(from);
    if (member) member.peer.handleCandidate(candidate);
  }

  /** @returns {CallPeer[]} */
  peers() {
    return [...this.members.values()].map((member) => member.peer);
  }

  /**
   * A party by handle (for chat labels and announcements).
   * @param {string} handle
   * @returns {CallParty | undefined}
   */
  party(handle) {
    return this.parties.find((p) => p.handle === handle);
  }

  /**
   * Send this track to everyone in the mesh.
   * @param {Kind} kind
   * @param {MediaStreamTrack | null} track
   */
  async setTrack(kind, track) {
    await Promise.all(this.peers().map((peer) => peer.setTrack(kind, track)));
  }

  /** Relabel the tiles (a language change). */
  relabel() {
    for (const member of this.members.values()) this.draw(member);
  }

  dropAll() {
    for (const handle of [...this.members.keys()]) this.drop(handle);
  }

  close() {
    this.dropAll();
    this.parties = [];
    this.call = "";
    this.you = "";
    this.mySeq = -1;
  }
}
