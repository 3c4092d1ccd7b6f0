// @ts-check
// What a page may send to the desk: one method per client message type of
// docs/protocol.md (signaling/messages.py is the schema; docs/protocol.schema.json its
// JSON Schema). Required fields are always sent, optional ones only when set, and no
// other: the server refuses unknown fields. tests/test_protocol_schema.py reads this file
// and checks each sender against the schema, so build messages the way it can read:
// this.socket.send("type", { field, name: value, ...defined({ optional }) }).
// Each method returns the message id (echoed as `ref` in an error), or null when the
// socket is not connected.
//
// The typedefs below are the server → client half of docs/protocol.md, as the pages
// read it: `ServerMessages` maps each type to its message, and a page's `handlers`
// table (a `Handlers`) takes the ones it handles.

/**
 * What a page knows of its own session (as from /api/v1/session).
 * @typedef {object} Session
 * @property {string} role  "patient", "agent", "admin" or "guest"
 * @property {string} name
 * @property {string} queue
 * @property {string[]} queues
 * @property {string[]} languages
 * @property {string} reason
 * @property {number} expires_at  epoch seconds
 * @property {string} [party]  guests: interpreter, carer or clinician
 */

/**
 * ICE servers for a peer connection (welcome, call.started).
 * @typedef {{iceServers?: RTCIceServer[], iceTransportPolicy?: RTCIceTransportPolicy}} IceConfig
 */

/** @typedef {{type: RTCSdpType, sdp: string}} Description  an SDP offer or answer */

/**
 * A candidate in the protocol's shape (null: the end of candidates).
 * @typedef {{candidate: string, sdpMid?: string, sdpMLineIndex?: number, usernameFragment?: string}} Candidate
 */

/**
 * The desk's opening hours (welcome.desk.hours).
 * @typedef {object} OpeningHours
 * @property {{days: number[], start: string, end: string}[]} periods  days 0–6 from Monday
 * @property {string} [timezone]
 * @property {boolean} [open_now]
 */

/**
 * @typedef {object} Welcome
 * @property {"welcome"} type
 * @property {number} v  the protocol version
 * @property {string} [role]
 * @property {Session} session
 * @property {IceConfig} ice
 * @property {{staffed: boolean, hours: OpeningHours | null}} [desk]  patients only
 */

/** @typedef {{type: "error", code: string, message: string, ref?: string}} ErrorMessage */

/**
 * The wait estimate: unknown (`known` false) with a `reason` (nobody_staffed,
 * not_measured, beyond_range); `why` says why it went up (fewer_agents, moved_back,
 * calls_longer).
 * @typedef {{known: boolean, low_minutes: number, high_minutes: number,
 *   reason?: string, why?: string}} Estimate
 */

/**
 * Where a patient stands (queue.state).
 * @typedef {object} QueueState
 * @property {"queue.state"} [type]
 * @property {string} state  "waiting", "offered", "in_call", "on_hold", "callback_pending",
 *   "done", "left", "abandoned", or "" before joining
 * @property {string} [queue]
 * @property {number} position  1 = next; 0 when not queued
 * @property {number} [waiting]
 * @property {number} [agents_staffed]
 * @property {Estimate} [estimate]
 * @property {{mode: string, slot?: number | null} | null} [callback]
 * @property {boolean} [returning]
 * @property {number} [waited_s]
 */

/**
 * @typedef {object} ArticleSummary  a self-help article's title and summary
 * @property {string} slug
 * @property {string} title
 * @property {string} summary
 * @property {string} lang
 */

/**
 * What an agent sees of a patient (agent.offer, agent.callback, call.started).
 * @typedef {object} PatientContext
 * @property {string} [name]  first name
 * @property {string} [reason]
 * @property {string} [language]
 * @property {string[]} [needs]
 * @property {number} [waited_s]
 * @property {string[]} [flags]  emergency, urgent, returning, callback, transferred
 * @property {string[]} [emergency_words]
 * @property {string} [handoff_note]
 * @property {{mode?: string, phone?: string}} [callback]
 */

/**
 * @typedef {object} AgentState
 * @property {"agent.state"} [type]
 * @property {string} state  offline, available, offered, in_call, wrap_up, away
 * @property {string} reason
 * @property {number} since_ms
 * @property {string} [name]
 * @property {string[]} [queues]
 * @property {string[]} [languages]
 * @property {string[]} [outcome_codes]
 */

/**
 * @typedef {object} Offer
 * @property {"agent.offer"} [type]
 * @property {string} token
 * @property {string} kind  call, callback, transfer
 * @property {string} queue
 * @property {number} [deadline_ms]
 * @property {number} expires_in_ms
 * @property {PatientContext} [patient]
 */

/**
 * @typedef {object} CallbackTaskMessage  an accepted call-back (agent.callback)
 * @property {"agent.callback"} [type]
 * @property {string} call
 * @property {PatientContext} [patient]
 * @property {boolean} page_open
 */

/**
 * @typedef {object} QueueSummary  a queue an agent serves (agent.queues)
 * @property {string} name
 * @property {number} waiting
 * @property {number} [oldest_wait_s]
 * @property {{name?: string, reason?: string, language?: string, waited_s?: number, flags?: string[]}[]} [patients]
 */

/** @typedef {{from: string, text: string, at?: number, handle?: string}} ChatMessage  call.chat: from the patient, the agent or a guest (`handle`) */

/**
 * One party of a call (call.parties): of two parties, the greater `seq` makes the offers.
 * @typedef {object} CallParty
 * @property {string} handle  patient, agent, g1, g2…
 * @property {string} party  patient, agent, interpreter, carer or clinician
 * @property {string} name  first name ("" when not given)
 * @property {string} [language]
 * @property {number} seq
 * @property {string} [mode]  a supervisor's: monitor, whisper or barge
 */

/**
 * @typedef {object} CallParties
 * @property {"call.parties"} [type]
 * @property {string} call
 * @property {string} you  this page's own handle
 * @property {CallParty[]} parties  everyone, this page too
 * @property {boolean} [notice]  say when a supervisor monitors or whispers
 */

/**
 * @typedef {object} CallStarted
 * @property {"call.started"} [type]
 * @property {string} call
 * @property {string} [kind]
 * @property {boolean} polite
 * @property {boolean} initiator
 * @property {{name?: string}} [peer]
 * @property {IceConfig} ice
 * @property {boolean} [resumed]
 * @property {ChatMessage[]} [history]  the chat so far, on resume
 * @property {PatientContext} [patient]  agents only
 * @property {boolean} [on_hold]  patients only
 */

/**
 * @typedef {object} DashboardQueue
 * @property {string} name
 * @property {number} [target_s]
 * @property {number} waiting
 * @property {number} [oldest_wait_s]
 * @property {Record<string, number>} [agents]  state → how many
 * @property {number | null} [service_level]
 * @property {number | null} [abandon_rate]
 * @property {number | null} [aht_s]
 * @property {number | null} [csat]
 * @property {number} [self_help_resolved]
 * @property {{ticket: number, words?: string[], waited_s?: number}[]} [emergencies]
 */

/**
 * @typedef {object} DashboardAgent
 * @property {string} [id]
 * @property {string} [name]
 * @property {string} state
 * @property {string} [reason]
 * @property {number} [since_ms]
 * @property {string[]} [queues]
 * @property {string} [call]  the call the agent is in ("" when none)
 */

/**
 * The live dashboard (the `dashboard` push, and GET /api/v1/dashboard).
 * @typedef {object} Dashboard
 * @property {"dashboard"} [type]
 * @property {number} [at]
 * @property {DashboardQueue[]} [queues]
 * @property {DashboardAgent[]} [agents]
 */

/**
 * Every message the desk sends, by type (docs/protocol.md, "Server → client").
 * @typedef {{
 *   welcome: Welcome,
 *   error: ErrorMessage,
 *   pong: {type: "pong", ref?: string},
 *   "queue.state": QueueState,
 *   "queue.joined": {type: "queue.joined", created?: boolean, queue?: string},
 *   "queue.notice": {type: "queue.notice", text: string, at?: number},
 *   "queue.slots": {type: "queue.slots", slots: number[]},
 *   "help.suggestions": {type: "help.suggestions", articles: ArticleSummary[]},
 *   "assistant.reply": {type: "assistant.reply", kind: string, articles?: ArticleSummary[], automated?: boolean, human_queue?: boolean},
 *   "call.ring": {type: "call.ring", call?: string, agent?: {name?: string}, expires_in_ms?: number},
 *   "survey.thanks": {type: "survey.thanks"},
 *   "lobby.test_answer": {type: "lobby.test_answer", description: Description},
 *   "agent.state": AgentState,
 *   "agent.offer": Offer,
 *   "agent.offer_cancelled": {type: "agent.offer_cancelled", reason: string},
 *   "agent.callback": CallbackTaskMessage,
 *   "agent.ringing": {type: "agent.ringing", call?: string, expires_in_ms?: number},
 *   "agent.ring_declined": {type: "agent.ring_declined", call?: string},
 *   "agent.queues": {type: "agent.queues", queues: QueueSummary[]},
 *   "agent.note_saved": {type: "agent.note_saved", call?: string},
 *   "staff.sent": {type: "staff.sent", queue: string},
 *   "call.started": CallStarted,
 *   "call.sdp": {type: "call.sdp", description: Description, from?: string},
 *   "call.ice": {type: "call.ice", candidate: Candidate | null, from?: string},
 *   "call.parties": CallParties,
 *   "call.invite_link": {type: "call.invite_link", party: string, language?: string, link: string, expires_at: number, mailed?: boolean},
 *   "call.chat": ChatMessage & {type: "call.chat"},
 *   "call.peer": {type: "call.peer", status: string},
 *   "call.peer_media": {type: "call.peer_media", state: string},
 *   "call.hold": {type: "call.hold", on: boolean},
 *   "call.screen": {type: "call.screen", on: boolean, from?: string},
 *   "call.ended": {type: "call.ended", call?: string, reason?: string},
 *   dashboard: Dashboard,
 * }} ServerMessages
 */

/** @typedef {{type: string}} IncomingMessage  a message from the desk, of any type */

/**
 * A page's handlers, by message type (those it does not handle are dropped).
 * @typedef {{[K in keyof ServerMessages]?: (message: ServerMessages[K]) => void}} Handlers
 */

/**
 * Hand a message from the desk to its handler, if the page has one for its type.
 * @param {Handlers} handlers
 * @param {IncomingMessage} message
 */
export function dispatch(handlers, message) {
  const handler = Object.hasOwn(handlers, message.type)
    ? handlers[/** @type {keyof ServerMessages} */ (message.type)]
    : null;
  // The type names the message's shape (docs/protocol.md): the one place it is trusted.
  if (handler) /** @type {(message: IncomingMessage) => void} */ (handler)(message);
}

/**
 * The fields that are set (not undefined, not "").
 * @template {Record<string, unknown>} F
 * @param {F} fields
 * @returns {Partial<F>}
 */
function defined(fields) {
  return /** @type {Partial<F>} */ (
    Object.fromEntries(
      Object.entries(fields).filter(([, value]) => value !== undefined && value !== ""),
    )
  );
}

/**
 * An RTCIceCandidate (or null: end of candidates) in the protocol's shape.
 * @param {RTCIceCandidate | RTCIceCandidateInit | null} candidate
 * @returns {Candidate | null}
 */
export function candidateFields(candidate) {
  if (!candidate || !candidate.candidate) return null;
  /** @type {Candidate} */
  const fields = { candidate: candidate.candidate };
  if (candidate.sdpMid !== null && candidate.sdpMid !== undefined) {
    fields.sdpMid = candidate.sdpMid;
  }
  if (candidate.sdpMLineIndex !== null && candidate.sdpMLineIndex !== undefined) {
    fields.sdpMLineIndex = candidate.sdpMLineIndex;
  }
  if (candidate.usernameFragment) fields.usernameFragment = candidate.usernameFragment;
  return fields;
}

/**
 * @param {RTCSessionDescription | Description} description
 * @returns {Description}
 */
export function descriptionFields(description) {
  return { type: description.type, sdp: description.sdp };
}

/**
 * The `auth` message, the first an admin's or a supervisor's socket sends (no cookie).
 * @param {"patient" | "agent" | "admin" | "supervisor"} role
 * @param {string} token
 */
export function authMessage(role, token) {
  return { type: "auth", role, token };
}

/** @typedef {string | null} Sent  a message's id, or null: not connected */

export class Protocol {
  /** @param {import("./socket.js").DeskSocket} socket */
  constructor(socket) {
    this.socket = socket;
  }

  // -- system
  /** @returns {Sent} */
  ping() {
    return this.socket.send("ping");
  }

  // -- queue (patients)
  /**
   * @param {{name: string, reason?: string, language?: string, needs?: string[]}} details
   * @returns {Sent}
   */
  queueJoin({ name, reason, language, needs = [] }) {
    return this.socket.send("queue.join", { name, ...defined({ reason, language }), needs });
  }
  /** @returns {Sent} */
  queueLeave() {
    return this.socket.send("queue.leave");
  }
  /** @returns {Sent} */
  queueResume() {
    return this.socket.send("queue.resume");
  }
  /**
   * @param {string} mode  "phone" or "page"
   * @param {string} [phone]
   * @param {number} [slot]  epoch ms of a chosen time
   * @returns {Sent}
   */
  queueCallback(mode, phone, slot) {
    return this.socket.send("queue.callback", { mode, ...defined({ phone, slot }) });
  }
  /** @returns {Sent} */
  queueSlots() {
    return this.socket.send("queue.slots");
  }
  /** @returns {Sent} */
  queueCallbackCancel() {
    return this.socket.send("queue.callback_cancel");
  }
  /**
   * @param {number} rating  1–5
   * @param {string} [comment]
   * @returns {Sent}
   */
  surveySubmit(rating, comment) {
    return this.socket.send("survey.submit", { rating, ...defined({ comment }) });
  }
  /**
   * @param {boolean} accept
   * @returns {Sent}
   */
  callRingAnswer(accept) {
    return this.socket.send("call.ring_answer", { accept: Boolean(accept) });
  }

  // -- self-help and the assistant (patients)
  /**
   * @param {string} [text]
   * @returns {Sent}
   */
  helpSuggest(text) {
    return this.socket.send("help.suggest", defined({ text }));
  }
  /**
   * @param {string} slug
   * @returns {Sent}
   */
  helpResolved(slug) {
    return this.socket.send("help.resolved", { slug });
  }
  /**
   * @param {string} text
   * @param {string} [language]
   * @returns {Sent}
   */
  assistantAsk(text, language) {
    return this.socket.send("assistant.ask", { text, ...defined({ language }) });
  }

  // -- lobby connection test (patients)
  /**
   * @param {RTCSessionDescription | Description} description
   * @returns {Sent}
   */
  lobbyTestOffer(description) {
    return this.socket.send("lobby.test_offer", { description: descriptionFields(description) });
  }
  /**
   * @param {RTCIceCandidate | null} candidate
   * @returns {Sent}
   */
  lobbyTestCandidate(candidate) {
    return this.socket.send("lobby.test_candidate", { candidate: candidateFields(candidate) });
  }
  /** @returns {Sent} */
  lobbyTestEnd() {
    return this.socket.send("lobby.test_end");
  }

  // -- agents
  /**
   * @param {string} status  available, away, offline
   * @param {string} [reason]  why away
   * @returns {Sent}
   */
  agentStatus(status, reason) {
    return this.socket.send("agent.status", { status, ...defined({ reason }) });
  }
  /**
   * @param {string} token  the offer's
   * @returns {Sent}
   */
  agentAccept(token) {
    return this.socket.send("agent.accept", { token });
  }
  /**
   * @param {string} token  the offer's
   * @param {string} [reason]
   * @returns {Sent}
   */
  agentDecline(token, reason) {
    return this.socket.send("agent.decline", { token, ...defined({ reason }) });
  }
  /** @returns {Sent} */
  agentEnd() {
    return this.socket.send("agent.end");
  }
  /**
   * @param {boolean} on  hold (true) or resume
   * @returns {Sent}
   */
  agentHold(on) {
    return this.socket.send(on ? "agent.hold" : "agent.unhold");
  }
  /**
   * @param {{queue?: string, agent?: string, note?: string}} target  a queue or an agent
   * @returns {Sent}
   */
  agentTransfer({ queue, agent, note }) {
    return this.socket.send("agent.transfer", defined({ queue, agent, note }));
  }
  /**
   * @param {{outcome: string, note?: string, next?: string}} wrapup
   * @returns {Sent}
   */
  agentWrapup({ outcome, note, next }) {
    return this.socket.send("agent.wrapup", { outcome, ...defined({ note, next }) });
  }
  /**
   * @param {string} text
   * @returns {Sent}
   */
  agentNote(text) {
    return this.socket.send("agent.note", { text });
  }
  /** @returns {Sent} */
  agentRing() {
    return this.socket.send("agent.ring");
  }

  // -- staff (agents, admins)
  /**
   * @param {string} queue
   * @param {string} text
   * @returns {Sent}
   */
  staffMessage(queue, text) {
    return this.socket.send("staff.message", { queue, text });
  }

  // -- calls (every party)
  /**
   * @param {RTCSessionDescription | Description} description
   * @param {string} [to]  the party it is for (left out: the other of patient and agent)
   * @returns {Sent}
   */
  callSdp(description, to) {
    return this.socket.send("call.sdp", { description: descriptionFields(description), ...defined({ to }) });
  }
  /**
   * @param {RTCIceCandidate | null} candidate
   * @param {string} [to]  the party it is for (left out: the other of patient and agent)
   * @returns {Sent}
   */
  callIce(candidate, to) {
    return this.socket.send("call.ice", { candidate: candidateFields(candidate), ...defined({ to }) });
  }
  /**
   * @param {string} text
   * @returns {Sent}
   */
  callChat(text) {
    return this.socket.send("call.chat", { text });
  }
  /**
   * @param {string} state  the media connection's: connected, reconnecting, failed
   * @returns {Sent}
   */
  callMedia(state) {
    return this.socket.send("call.media", { state });
  }
  /**
   * This page's video shows its screen now (or the camera again), said to one party.
   * @param {boolean} on
   * @param {string} [to]  a party's handle (left out: the other of patient and agent)
   * @returns {Sent}
   */
  callScreen(on, to) {
    return this.socket.send("call.screen", { on, ...defined({ to }) });
  }
  /**
   * Hang up (a guest: leave the call).
   * @returns {Sent}
   */
  callBye() {
    return this.socket.send("call.bye");
  }
  /**
   * A single-use guest link to this call (the agent).
   * @param {string} party  interpreter, carer or clinician
   * @param {string} [language]
   * @param {string} [email]  also send the link to this address
   * @returns {Sent}
   */
  callInvite(party, language, email) {
    return this.socket.send("call.invite", { party, ...defined({ language, email }) });
  }
  /**
   * Take a guest out of the call (the agent).
   * @param {string} handle
   * @returns {Sent}
   */
  callRemove(handle) {
    return this.socket.send("call.remove", { handle });
  }
  /**
   * A guest joins the call of their link, from the lobby.
   * @param {string} name
   * @returns {Sent}
   */
  guestJoin(name) {
    return this.socket.send("guest.join", { name, consent: true });
  }
  /**
   * A supervisor joins a call in progress (from the live dashboard).
   * @param {string} call
   * @param {string} mode  monitor, whisper or barge
   * @returns {Sent}
   */
  supervisorWatch(call, mode) {
    return this.socket.send("supervisor.watch", { call, mode });
  }
  /**
   * @param {string} mode  monitor, whisper or barge
   * @returns {Sent}
   */
  supervisorMode(mode) {
    return this.socket.send("supervisor.mode", { mode });
  }
  /** @returns {Sent} */
  supervisorStop() {
    return this.socket.send("supervisor.stop", {});
  }
}
