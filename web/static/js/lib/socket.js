// @ts-check
// The page's one WebSocket to the desk (/ws), kept open: it reconnects with jittered
// backoff after a drop, and the desk resends the full state on every new socket, so
// nothing needs replaying. docs/protocol.md is the contract.
//
// Close codes: 1008 (policy: bad or revoked token, flooding, idle agent) is final;
// everything else (1001 draining, 1006 network, 1013 try again) reconnects.

import { reconnectDelay } from "./backoff.js";

const PING_EVERY_MS = 15_000;
const PONG_WITHIN_MS = 10_000;
const FINAL_CODES = new Set([1008, 1009]);

/**
 * What comes with a status: the close code, and for "closed" the last error code, for
 * "reconnecting" the delay before the next attempt.
 * @typedef {{code: number, error?: string, delay?: number}} StatusDetail
 */

export class DeskSocket {
  /**
   * @param {object} options
   * @param {(message: import("./protocol.js").IncomingMessage) => void} options.onMessage
   *   every message from the desk
   * @param {(status: string, detail?: StatusDetail) => void} [options.onStatus]
   *   "connecting", "open" (after welcome), "reconnecting", "offline" (the browser says
   *   the network is gone), "closed" (final; detail has the close code and the last
   *   error code)
   * @param {() => object|null} [options.auth]  a first message (the admin's auth)
   * @param {string} options.role  "patient", "agent" or "admin": which session cookie
   *   the desk uses (admins authenticate by the first message instead)
   */
  constructor({ onMessage, onStatus = () => {}, auth = () => null, role }) {
    this.role = role;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.auth = auth;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.attempt = 0;
    this.sequence = 0;
    this.stopped = true;
    /** @type {number | undefined} */
    this.timer = undefined;
    /** @type {number | undefined} */
    this.pingTimer = undefined;
    /** @type {number | undefined} */
    this.pongTimer = undefined;
    this.lastError = "";
    this.welcomed = false;
    // Back online: the old socket may be half dead, so open a fresh one (the desk
    // resends the whole state). Going offline is only shown: the socket may survive.
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => {
      if (!this.stopped) this.onStatus("offline");
    };
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN && this.welcomed;
  }

  start() {
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    clearTimeout(this.timer);
    this.stopHeartbeat();
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }

  /**
   * Send a message; returns its id, or null when not connected (the caller says so).
   * @param {string} type
   * @param {Record<string, unknown>} [fields]
   * @returns {string | null}
   */
  send(type, fields = {}) {
    if (this.ws === null || this.ws.readyState !== WebSocket.OPEN) return null;
    this.sequence += 1;
    const id = `m${this.sequence}`;
    this.ws.send(JSON.stringify({ type, id, ...fields }));
    return id;
  }

  /** Drop the current socket (if any) and connect again at once. */
  reconnectNow() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.attempt = 0;
    this.abandon();
    this.connect();
  }

  connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${window.location.host}/ws?as=${this.role}`);
    this.ws = ws;
    this.welcomed = false;
    this.lastError = "";
    this.onStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    ws.addEventListener("open", () => {
      const first = this.auth();
      if (first) ws.send(JSON.stringify(first));
      this.startHeartbeat(ws);
    });
    ws.addEventListener("message", (event) => this.received(ws, event));
    ws.addEventListener("close", (event) => this.closed(ws, event));
  }

  /**
   * @param {WebSocket} ws
   * @param {MessageEvent} event
   */
  received(ws, event) {
    if (ws !== this.ws) return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message === null || typeof message !== "object") return;
    clearTimeout(this.pongTimer);
    if (message.type === "welcome") {
      this.welcomed = true;
      this.attempt = 0;
      this.onStatus("open");
    } else if (message.type === "error") {
      this.lastError = String(message.code || "");
    }
    this.onMessage(message);
  }

  /**
   * @param {WebSocket} ws
   * @param {CloseEvent} event
   */
  closed(ws, event) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.welcomed = false;
    this.stopHeartbeat();
    if (this.stopped) return;
    if (FINAL_CODES.has(event.code)) {
      this.stopped = true;
      this.onStatus("closed", { code: event.code, error: this.lastError });
      return;
    }
    const delay = reconnectDelay(this.attempt);
    this.attempt += 1;
    this.onStatus("reconnecting", { code: event.code, delay });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Forget a socket without waiting for its close event (a dead network may never send one). */
  abandon() {
    const ws = this.ws;
    this.ws = null;
    this.stopHeartbeat();
    if (ws) {
      try {
        ws.close(1000);
      } catch {
        // already closing
      }
    }
  }

  /** @param {WebSocket} ws */
  startHeartbeat(ws) {
    this.stopHeartbeat();
    this.pingTimer = setInterval(() => {
      if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) return;
      this.send("ping");
      clearTimeout(this.pongTimer);
      // No message at all within the window: the connection is dead without knowing it.
      this.pongTimer = setTimeout(() => {
        if (ws !== this.ws) return;
        this.abandon();
        const delay = reconnectDelay(this.attempt);
        this.attempt += 1;
        this.onStatus("reconnecting", { code: 1006, delay });
        this.timer = setTimeout(() => this.connect(), delay);
      }, PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  stopHeartbeat() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = undefined;
    this.pongTimer = undefined;
  }
}
