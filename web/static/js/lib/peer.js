// @ts-check
// One WebRTC peer connection of a call, with "perfect negotiation" (MDN's pattern):
// both sides may make offers; on a collision the impolite side (the agent, who also
// starts the call) ignores the other's offer and the polite side (the patient) rolls
// its own back. Candidates trickle both ways through the desk (call.ice; null marks
// the end). When ICE disconnects or fails, the initiator restarts it.
//
// Senders never change in number (one audio and one video transceiver, both
// sendrecv from the initiator): a device switch, camera off and sound only are all
// replaceTrack, so they need no renegotiation and keep the SDP within the desk's
// limit of media sections.

const DISCONNECTED_GRACE_MS = 2500;
const STATS_EVERY_MS = 2000;

/** @typedef {import("./media.js").Kind} Kind */
/** @typedef {{audio: MediaStreamTrack | null, video: MediaStreamTrack | null}} Tracks */
/** @typedef {{rtt: number | null, received: number, lost: number, framesDecoded: number}} Sample */
/**
 * The connection's quality: "good", "fair", "poor" or "unknown", with the figures.
 * @typedef {{level: string, rtt: number | null, loss: number | null, framesDecoded: number}} Quality
 */

/**
 * A transceiver's `stopped` (Chromium still has it; the standard's typings no longer do).
 * @param {RTCRtpTransceiver} transceiver
 */
function isStopped(transceiver) {
  return Boolean(/** @type {{stopped?: boolean}} */ (/** @type {unknown} */ (transceiver)).stopped);
}

export class CallPeer {
  /**
   * @param {object} options
   * @param {import("./protocol.js").IceConfig | null | undefined} options.ice  from call.started
   * @param {boolean} options.polite
   * @param {boolean} options.initiator
   * @param {(kind: "description" | "candidate", payload: RTCSessionDescription | RTCIceCandidate | null) => void} options.signal
   *   sends "description" or "candidate" to the other party
   * @param {(stream: MediaStream) => void} options.onRemoteStream
   * @param {(state: string) => void} options.onState
   *   "connecting", "connected", "reconnecting", "failed", "closed"
   * @param {(quality: Quality) => void} [options.onQuality]
   * @param {Partial<Tracks>} [options.tracks]
   *   what to send from the start (more can follow with setTrack)
   * @param {RTCRtpTransceiverDirection} [options.direction]  the initiator's transceivers
   *   for a kind it has no track for ("sendrecv" unless said: a receive-only watcher
   *   says "recvonly", and a later setTrack makes it sendrecv)
   * @param {(channel: RTCDataChannel) => void} [options.onChannel]  the connection's
   *   "files" data channel (lib/files.js): made by the initiator with its first offer,
   *   announced to the other side
   */
  constructor({
    ice,
    polite,
    initiator,
    signal,
    onRemoteStream,
    onState,
    onQuality,
    tracks,
    direction,
    onChannel,
  }) {
    this.polite = polite;
    this.initiator = initiator;
    this.signal = signal;
    this.onState = onState;
    this.onQuality = onQuality || (() => {});
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingRemoteAnswer = false;
    /** @type {Tracks} */
    this.localTracks = { audio: null, video: null, ...tracks };
    // Remote descriptions and candidates are applied one at a time, in order.
    /** @type {Promise<unknown>} */
    this.chain = Promise.resolve();
    this.remoteStream = new MediaStream();
    this.state = "connecting";
    /** @type {number | undefined} */
    this.restartTimer = undefined;
    /** @type {Sample | null} */
    this.lastSample = null;
    this.pc = new RTCPeerConnection({
      iceServers: (ice && ice.iceServers) || [],
      iceTransportPolicy: (ice && ice.iceTransportPolicy) || "all",
    });
    const pc = this.pc;
    pc.addEventListener("track", ({ track }) => {
      for (const old of this.remoteStream.getTracks().filter((t) => t.kind === track.kind)) {
        this.remoteStream.removeTrack(old);
      }
      this.remoteStream.addTrack(track);
      onRemoteStream(this.remoteStream);
    });
    pc.addEventListener("negotiationneeded", () => this.negotiate());
    pc.addEventListener("icecandidate", ({ candidate }) => this.signal("candidate", candidate));
    pc.addEventListener("iceconnectionstatechange", () => this.iceChanged());
    pc.addEventListener("connectionstatechange", () => this.connectionChanged());
    if (onChannel) {
      pc.addEventListener("datachannel", ({ channel }) => {
        if (channel.label === "files") onChannel(channel);
      });
    }
    if (initiator) {
      if (onChannel) onChannel(pc.createDataChannel("files", { ordered: true }));
      // The initiator decides the shape of the call: audio and video, both ways.
      for (const kind of /** @type {Kind[]} */ (["audio", "video"])) {
        const track = this.localTracks[kind];
        pc.addTransceiver(track || kind, { direction: track ? "sendrecv" : direction || "sendrecv" });
      }
    }
    this.statsTimer = setInterval(() => this.sample(), STATS_EVERY_MS);
  }

  /**
   * @param {Kind} kind
   * @returns {RTCRtpTransceiver | null}
   */
  transceiver(kind) {
    return (
      this.pc
        .getTransceivers()
        .find((t) => !isStopped(t) && t.receiver && t.receiver.track.kind === kind) || null
    );
  }

  /** Send this track for its kind (null: send nothing). No renegotiation unless a
   * transceiver must start sending for the first time.
   * @param {Kind} kind
   * @param {MediaStreamTrack | null} track
   */
  async setTrack(kind, track) {
    this.localTracks[kind] = track;
    const transceiver = this.transceiver(kind);
    if (transceiver === null) return; // the polite side waits for the offer's transceivers
    await transceiver.sender.replaceTrack(track);
    if (track && !transceiver.direction.startsWith("send")) {
      transceiver.direction = "sendrecv"; // fires negotiationneeded
    }
  }

  /**
   * Video on or off both ways (sound only on a poor network): renegotiates.
   * @param {boolean} enabled
   */
  async setVideo(enabled) {
    const transceiver = this.transceiver("video");
    if (transceiver === null) return;
    if (!enabled) {
      this.localTracks.video = null;
      await transceiver.sender.replaceTrack(null);
    }
    transceiver.direction = enabled ? "sendrecv" : "inactive";
  }

  async negotiate() {
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.signal("description", this.pc.localDescription);
    } catch (error) {
      console.warn("videodesk: could not make an offer", error);
    } finally {
      this.makingOffer = false;
    }
  }

  /**
   * Run after everything queued before (a gate: the polite side queues its media).
   * @param {() => unknown} work
   * @returns {Promise<unknown>}
   */
  enqueue(work) {
    const next = this.chain.then(work).catch((error) => {
      console.warn("videodesk: negotiation step failed", error);
    });
    this.chain = next;
    return next;
  }

  /**
   * A description from the other party (call.sdp).
   * @param {RTCSessionDescriptionInit} description
   */
  handleDescription(description) {
    return this.enqueue(() => this.applyDescription(description));
  }

  /** @param {RTCSessionDescriptionInit} description */
  async applyDescription(description) {
    if (this.pc.signalingState === "closed") return;
    const pc = this.pc;
    const readyForOffer =
      !this.makingOffer && (pc.signalingState === "stable" || this.settingRemoteAnswer);
    const collision = description.type === "offer" && !readyForOffer;
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    this.settingRemoteAnswer = description.type === "answer";
    await pc.setRemoteDescription(description); // rolls back our own offer if polite
    this.settingRemoteAnswer = false;
    if (description.type === "offer") {
      await this.attachToOffer();
      await pc.setLocalDescription();
      this.signal("description", pc.localDescription);
    }
  }

  /** The polite side's transceivers come from the offer: start sending on them. */
  async attachToOffer() {
    for (const kind of /** @type {Kind[]} */ (["audio", "video"])) {
      const track = this.localTracks[kind];
      const transceiver = this.transceiver(kind);
      if (transceiver === null) continue;
      if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
      if (track && !transceiver.direction.startsWith("send")) transceiver.direction = "sendrecv";
    }
  }

  /**
   * A candidate from the other party (call.ice); null or "" marks the end.
   * @param {RTCIceCandidateInit | null} candidate
   */
  handleCandidate(candidate) {
    return this.enqueue(() => this.applyCandidate(candidate));
  }

  /** @param {RTCIceCandidateInit | null} candidate */
  async applyCandidate(candidate) {
    if (this.pc.signalingState === "closed") return;
    try {
      if (candidate && candidate.candidate) {
        await this.pc.addIceCandidate(candidate);
      } else if (this.pc.remoteDescription) {
        await this.pc.addIceCandidate();
      }
    } catch (error) {
      if (!this.ignoreOffer) console.warn("videodesk: candidate not added", error);
    }
  }

  /** Restart ICE (the initiator does this: the other side answers). */
  restartIce() {
    if (this.pc.connectionState === "closed") return;
    this.pc.restartIce();
  }

  iceChanged() {
    const state = this.pc.iceConnectionState;
    clearTimeout(this.restartTimer);
    if (state === "disconnected") {
      this.setState("reconnecting");
      // Often recovers by itself within a second or two (a Wi-Fi blip).
      this.restartTimer = setTimeout(() => {
        if (this.pc.iceConnectionState === "disconnected" && this.initiator) this.restartIce();
      }, DISCONNECTED_GRACE_MS);
    } else if (state === "failed") {
      this.setState("reconnecting");
      if (this.initiator) this.restartIce();
    }
  }

  connectionChanged() {
    const state = this.pc.connectionState;
    if (state === "connected") this.setState("connected");
    else if (state === "disconnected") this.setState("reconnecting");
    else if (state === "failed") this.setState("failed");
    else if (state === "closed") this.setState("closed");
  }

  /** @param {string} state */
  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onState(state);
  }

  /** Round trip, packet loss and decoded video frames, every few seconds. */
  async sample() {
    if (this.pc.connectionState === "closed") return;
    let report;
    try {
      report = await this.pc.getStats();
    } catch {
      return;
    }
    const now = readStats(report);
    const quality = assess(now, this.lastSample);
    this.lastSample = now;
    this.onQuality(quality);
  }

  close() {
    clearInterval(this.statsTimer);
    clearTimeout(this.restartTimer);
    this.pc.close();
    this.setState("closed");
  }
}

/**
 * The numbers that matter from a getStats() report.
 * @param {RTCStatsReport} report
 * @returns {Sample}
 */
export function readStats(report) {
  /** @type {Sample} */
  const sample = { rtt: null, received: 0, lost: 0, framesDecoded: 0 };
  /** @type {string | null} */
  let pairId = null;
  report.forEach((entry) => {
    if (entry.type === "transport" && entry.selectedCandidatePairId) {
      pairId = entry.selectedCandidatePairId;
    }
  });
  report.forEach((entry) => {
    if (entry.type === "candidate-pair") {
      const selected = pairId ? entry.id === pairId : entry.nominated && entry.state === "succeeded";
      if (selected && typeof entry.currentRoundTripTime === "number") {
        sample.rtt = entry.currentRoundTripTime;
      }
    } else if (entry.type === "inbound-rtp") {
      sample.received += entry.packetsReceived || 0;
      sample.lost += Math.max(0, entry.packetsLost || 0);
      if (entry.kind === "video") sample.framesDecoded += entry.framesDecoded || 0;
    }
  });
  return sample;
}

/**
 * "good", "fair", "poor" or "unknown" from round trip and loss since the last sample.
 * @param {Sample} now
 * @param {Sample | null} before
 * @returns {Quality}
 */
export function assess(now, before) {
  /** @type {number | null} */
  let loss = null;
  if (before) {
    const received = now.received - before.received;
    const lost = now.lost - before.lost;
    if (received + lost > 0) loss = Math.max(0, lost) / (received + lost);
  }
  let level = "unknown";
  if (now.rtt !== null || loss !== null) {
    const rtt = now.rtt ?? 0;
    const lossRate = loss ?? 0;
    if (rtt > 0.4 || lossRate > 0.08) level = "poor";
    else if (rtt > 0.15 || lossRate > 0.02) level = "fair";
    else level = "good";
  }
  return { level, rtt: now.rtt, loss, framesDecoded: now.framesDecoded };
}
