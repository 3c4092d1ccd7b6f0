// @ts-check
// The lobby's connection test: camera and microphone go to the desk's echo peer
// (lobby.test_offer) and come back; a data channel labelled "rtt" carries pings the
// echo peer sends straight back, which gives the round-trip time.

const ANSWER_WITHIN_MS = 15_000;
const OPEN_WITHIN_MS = 12_000;
const PINGS = 5;
const PING_GAP_MS = 200;
const PONG_WITHIN_MS = 3_000;

/**
 * A promise that fails after `ms` with "<what> timed out".
 * @param {number} ms
 * @param {string} what
 * @returns {Promise<never>}
 */
function timeout(ms, what) {
  return new Promise((_, reject) => {
    setTimeout(() => reject(new Error(`${what} timed out`)), ms);
  });
}

export class ConnectionTest {
  /**
   * @param {object} options
   * @param {import("./protocol.js").Protocol} options.protocol
   * @param {import("./protocol.js").IceConfig | null} options.ice  from welcome
   * @param {HTMLVideoElement} options.video  shows the echoed video
   */
  constructor({ protocol, ice, video }) {
    this.protocol = protocol;
    this.ice = ice;
    this.video = video;
    /** @type {RTCPeerConnection | null} */
    this.pc = null;
    /** @type {{resolve: (description: RTCSessionDescriptionInit) => void, reject: (error: Error) => void} | null} */
    this.answered = null;
    this.running = false;
    /** @type {string | null} */
    this.offerId = null; // errors about the test refer to it
  }

  /**
   * Run the test; resolves with the median round trip in ms.
   * @param {MediaStream} stream
   * @returns {Promise<number>}
   */
  async run(stream) {
    this.stop();
    this.running = true;
    const pc = new RTCPeerConnection({
      iceServers: (this.ice && this.ice.iceServers) || [],
      iceTransportPolicy: (this.ice && this.ice.iceTransportPolicy) || "all",
    });
    this.pc = pc;
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    const channel = pc.createDataChannel("rtt", { ordered: true });
    pc.addEventListener("track", ({ track }) => {
      if (track.kind !== "video") return;
      this.video.srcObject = new MediaStream([track]);
      this.video.play().catch(() => {});
    });
    /** @type {(RTCIceCandidate | null)[]} */
    const pending = [];
    let offered = false;
    pc.addEventListener("icecandidate", ({ candidate }) => {
      if (offered) this.protocol.lobbyTestCandidate(candidate);
      else pending.push(candidate);
    });
    /** @type {Promise<RTCSessionDescriptionInit>} */
    const answer = new Promise((resolve, reject) => {
      this.answered = { resolve, reject };
    });
    await pc.setLocalDescription(await pc.createOffer());
    this.offerId = this.protocol.lobbyTestOffer(
      /** @type {RTCSessionDescription} set just above */ (pc.localDescription),
    );
    if (this.offerId === null) throw new Error("not connected");
    offered = true;
    for (const candidate of pending) this.protocol.lobbyTestCandidate(candidate);
    const description = await Promise.race([answer, timeout(ANSWER_WITHIN_MS, "answer")]);
    await pc.setRemoteDescription(description);
    if (channel.readyState !== "open") {
      await Promise.race([
        new Promise((resolve) => channel.addEventListener("open", resolve, { once: true })),
        timeout(OPEN_WITHIN_MS, "connection"),
      ]);
    }
    return this.measure(channel);
  }

  /**
   * @param {RTCDataChannel} channel  open
   * @returns {Promise<number>}  the median round trip (ms)
   */
  async measure(channel) {
    /** @type {number[]} */
    const times = [];
    for (let i = 0; i < PINGS && this.running; i += 1) {
      const sent = performance.now();
      const label = `ping:${i}:${sent}`;
      /** @type {Promise<number>} */
      const echoed = new Promise((resolve) => {
        /** @param {MessageEvent} event */
        const listener = (event) => {
          if (event.data === label) {
            channel.removeEventListener("message", listener);
            resolve(performance.now() - sent);
          }
        };
        channel.addEventListener("message", listener);
      });
      channel.send(label);
      times.push(await Promise.race([echoed, timeout(PONG_WITHIN_MS, "ping")]));
      await new Promise((resolve) => setTimeout(resolve, PING_GAP_MS));
    }
    times.sort((a, b) => a - b);
    return Math.round(times[Math.floor(times.length / 2)]);
  }

  /**
   * lobby.test_answer
   * @param {RTCSessionDescriptionInit} description
   */
  answer(description) {
    if (this.answered) this.answered.resolve(description);
  }

  /**
   * An error about the test (test_busy, rate_limited, an SDP code).
   * @param {string} code
   */
  fail(code) {
    if (this.answered) this.answered.reject(new Error(code));
  }

  stop() {
    this.running = false;
    if (this.pc !== null) {
      this.pc.close();
      this.pc = null;
      this.protocol.lobbyTestEnd();
    }
    this.video.srcObject = null;
  }
}
