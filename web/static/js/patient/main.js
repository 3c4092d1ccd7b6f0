// @ts-check
// The patient page: link → lobby → waiting room (self-help, the assistant, call-back)
// → call → survey; or waiting room → "this answered my question" → thanks.
//
// This module owns the session and the socket, and is the one place where each
// message from the desk is handled (the `handlers` table below mirrors the
// server → client half of docs/protocol.md); the views do the rest.

import { ApiError } from "../lib/api.js";
import { callHandlers } from "../lib/call-view.js";
import { byId, show, Views } from "../lib/dom.js";
import * as i18n from "../lib/i18n.js";
import { LocalMedia } from "../lib/media.js";
import { Chime } from "../lib/chime.js";
import { dispatch, Protocol } from "../lib/protocol.js";
import { openSession, takeFragmentToken } from "../lib/session.js";
import { DeskSocket } from "../lib/socket.js";
import { Assistant } from "./assistant.js";
import { PatientCall } from "./call.js";
import { CallbackChoice } from "./callback.js";
import { Lobby } from "./lobby.js";
import { RingDialog } from "./ring.js";
import { SelfHelp } from "./selfhelp.js";
import { Survey } from "./survey.js";
import { WaitingRoom } from "./waiting.js";

/** @typedef {import("../lib/protocol.js").ServerMessages} ServerMessages */
/** @typedef {import("../lib/protocol.js").QueueState} QueueState */
/** @typedef {{name: string, reason?: string, language?: string, needs?: string[]}} Details */

// Take the token out of the address bar before anything else happens.
const linkToken = takeFragmentToken();

const page = {
  /** @type {import("../lib/protocol.js").Session | null} */
  session: null,
  /** @type {import("../lib/protocol.js").IceConfig | null} */
  ice: null,
  /** @type {Details | null} */
  details: null, // what the patient joined with (to join again after the call)
  /** @type {ServerMessages["welcome"]["desk"] | null} */
  desk: null, // welcome.desk: anyone answering the queue, opening hours
  /** @type {QueueState | null} */
  queueState: null,
  callbackMode: "", // the pending call-back's mode, kept for when it is accepted
  due: "", // an accepted call-back before its video call: phone, page, declined, missed
  resolving: false, // "this answered my question" was sent: `left` means thanks
  suggest: false, // ask for self-help suggestions (a page opened while already queued)
  /** @type {Map<string, string>} */
  replies: new Map(), // message id → what it was for (errors come back with `ref`)
  fatal: false,
};

const views = new Views({ quiet: ["link"] });
const chime = new Chime();
const media = new LocalMedia();
const socket = new DeskSocket({
  role: "patient",
  onMessage: (message) => dispatch(handlers, message),
  onStatus: (status, detail) => connectionStatus(status, detail),
});
const protocol = new Protocol(socket);

/**
 * A message was sent (its id), or not (null: not connected): an error will say what
 * it was for.
 * @param {string | null} id
 * @param {string} purpose
 */
function sent(id, purpose) {
  if (id === null) {
    showProblem(purpose, "connection.reconnecting");
    return;
  }
  page.replies.set(id, purpose);
}

const lobby = new Lobby({
  protocol,
  media,
  ice: () => page.ice,
  onJoin: (details) => join(details),
});
const waiting = new WaitingRoom({ protocol, sent });
const callback = new CallbackChoice({ protocol, sent, onGesture: () => chime.unlock() });
const selfHelp = new SelfHelp({ onResolved: (slug) => resolved(slug) });
const assistant = new Assistant({
  protocol,
  sent,
  onResolved: (slug) => resolved(slug),
  onJoin: () => rejoin(),
});
const ring = new RingDialog({ protocol, sent, chime, onAnswer: (accept) => ringAnswered(accept) });
const call = new PatientCall({ protocol, media, chime });
const survey = new Survey({ protocol, sent, onRejoin: () => rejoin() });

views.onChange((name, previous) => {
  if (previous === "lobby") lobby.leave();
  if (name === "lobby") lobby.enter();
  if (name === "survey") survey.show();
});

// Diagnostics for support staff (and the browser tests): the call's peer connection.
globalThis.videodesk = Object.freeze({
  peerConnection: () => (call.peer ? call.peer.pc : null),
  peerConnections: () => call.peerConnections(),
  files: () => (call.files ? call.files.share.received.map(({ name, type, size, sha256 }) => ({ name, type, size, sha256 })) : []),
  fileChannel: () => (call.files ? call.files.share.channel : null),
});

// -- messages from the desk -------------------------------------------------------

/** @type {import("../lib/protocol.js").Handlers} */
const handlers = {
  ...callHandlers(call),
  welcome(message) {
    if (!page.details) page.suggest = true; // not joined from this page: ask for them
    page.session = message.session;
    page.ice = message.ice;
    lobby.setSession(message.session);
    lobby.setDesk(message.desk);
    page.desk = message.desk || null;
  },
  error(message) {
    deskError(message);
  },
  pong() {},
  "queue.state"(message) {
    queueState(message);
  },
  "queue.joined"() {},
  "queue.notice"(message) {
    waiting.notice(message);
  },
  "queue.slots"(message) {
    callback.setSlots(message.slots);
  },
  "help.suggestions"(message) {
    selfHelp.suggest(message.articles);
  },
  "assistant.reply"(message) {
    assistant.reply(message);
  },
  "call.ring"(message) {
    ring.ring(message);
  },
  "survey.thanks"() {
    survey.thanked();
  },
  "lobby.test_answer"(message) {
    lobby.testAnswer(message.description);
  },
  "call.started"(message) {
    ring.close();
    page.due = "";
    waiting.markTransferred(false);
    call.start(message);
    views.show(message.on_hold ? "waiting" : "call");
  },
  "call.ended"(message) {
    ring.close();
    page.due = "";
    call.end();
    if (message.reason === "transferred") waiting.markTransferred();
  },
};

/**
 * Where the patient stands decides the view.
 * @param {QueueState} state
 */
function queueState(state) {
  page.queueState = state;
  assistant.update(state);
  if (state.state === "callback_pending") page.callbackMode = (state.callback || {}).mode || "";
  switch (state.state) {
    case "waiting":
    case "offered":
    case "callback_pending":
    case "on_hold":
      page.resolving = false;
      showWaiting(state);
      break;
    case "in_call":
      if (call.active || !page.callbackMode) {
        views.show("call");
      } else {
        // An agent took the call-back: they phone, or ring this page (call.ring).
        page.due = page.due || page.callbackMode;
        showWaiting(state);
      }
      break;
    case "done":
      ring.close();
      if (call.active) call.end();
      views.show("survey");
      break;
    case "left":
    case "abandoned":
      ring.close();
      if (call.active) call.end();
      if (state.state === "left" && page.resolving) {
        views.show("resolved");
        break;
      }
      lobby.note(state.state === "left" ? "lobby.left" : "lobby.abandoned");
      views.show("lobby");
      break;
    default: // "": not in the queue yet
      lobby.note(null);
      views.show("lobby");
  }
  if (!["callback_pending", "offered", "in_call"].includes(state.state)) {
    page.callbackMode = "";
    page.due = "";
  }
}

/** @param {QueueState} state */
function showWaiting(state) {
  if (page.suggest && ["waiting", "offered", "callback_pending"].includes(state.state)) {
    // The desk suggests articles when a patient joins; a page opened (or refreshed)
    // later asks for them, matched to the reason given then.
    page.suggest = false;
    protocol.helpSuggest();
  }
  waiting.update(state, { due: page.due });
  callback.update(state, { pendingMode: page.callbackMode });
  views.show("waiting");
}

/**
 * "This answered my question", confirmed: leave the queue, counted as self-help.
 * @param {string} slug
 */
function resolved(slug) {
  page.resolving = true;
  sent(protocol.helpResolved(slug), "resolved");
}

/**
 * The patient answered the ring (true or false), or it expired (null).
 * @param {boolean | null} accept
 */
function ringAnswered(accept) {
  if (accept === true) return; // call.started follows
  page.due = accept === false ? "declined" : "missed";
  if (page.queueState && page.queueState.state === "in_call" && !call.active) {
    showWaiting(page.queueState);
  }
}

// What the patient joined with, kept for this tab only (sessionStorage: gone when the
// tab closes), so a page reloaded in the waiting room still has it for the lobby after
// "Leave the queue" and for joining again after the call.
const DETAILS_KEY = "vd.details";

/**
 * Which link the details belong to (another link opened in this tab gets none).
 * @param {import("../lib/protocol.js").Session | null} session
 */
function linkOf(session) {
  return session ? `${session.queue}:${session.expires_at}` : "";
}

/**
 * @param {import("../lib/protocol.js").Session} session
 * @returns {Details | null}
 */
function savedDetails(session) {
  try {
    const saved = JSON.parse(sessionStorage.getItem(DETAILS_KEY) || "null");
    const ok = saved && saved.link === linkOf(session) && typeof saved.details.name === "string";
    return ok ? saved.details : null;
  } catch {
    return null;
  }
}

/** @param {Details} details */
function join(details) {
  page.details = details;
  sessionStorage.setItem(DETAILS_KEY, JSON.stringify({ link: linkOf(page.session), details }));
  page.suggest = false; // the desk sends suggestions with the join
  chime.unlock();
  sent(protocol.queueJoin(details), "join");
}

function rejoin() {
  page.resolving = false;
  if (page.details) {
    sent(protocol.queueJoin(page.details), "join");
  } else {
    lobby.note(null);
    views.show("lobby");
  }
}

// -- errors -----------------------------------------------------------------------

/** @param {string} code */
function errorKey(code) {
  return i18n.has(`error.${code}`) ? `error.${code}` : "error.generic";
}

/** @param {ServerMessages["error"]} message */
function deskError(message) {
  const purpose = message.ref ? page.replies.get(message.ref) : undefined;
  if (message.ref) page.replies.delete(message.ref);
  const code = String(message.code || "");
  if (["token_revoked", "token_expired", "unauthorized", "no_session"].includes(code)) {
    linkFailed(errorKey(code));
    return;
  }
  if (lobby.isAboutTest(message.ref)) {
    lobby.testFailed(code);
    return;
  }
  if (purpose) showProblem(purpose, errorKey(code));
}

/**
 * Say what went wrong where it went wrong (else in the banner, for a moment).
 * @param {string | undefined} purpose  what the message was for
 * @param {string} key  the catalogue's words
 */
function showProblem(purpose, key) {
  if (purpose === "join") lobby.joinFailed(key);
  else if (purpose === "callback") callback.failed(key);
  else if (purpose === "assistant") assistant.failed(key);
  else if (purpose === "resolved") {
    page.resolving = false;
    selfHelp.failed(key);
  } else banner(key, { passing: true });
}

const BANNER_SHOWN_MS = 8000;
/** @type {number | undefined} */
let bannerTimer = undefined;

/**
 * A line under the header: the connection's state (until it changes), or a
 * passing problem (for a few seconds).
 * @param {string | null} key  null: none
 * @param {{passing?: boolean}} [options]
 */
function banner(key, { passing = false } = {}) {
  const element = byId("connection-banner");
  clearTimeout(bannerTimer);
  i18n.render(element, key);
  show(element, key !== null);
  if (passing && key !== null) bannerTimer = setTimeout(() => banner(null), BANNER_SHOWN_MS);
}

/**
 * @param {string} status  the socket's
 * @param {import("../lib/socket.js").StatusDetail} [detail]
 */
function connectionStatus(status, detail) {
  if (status === "open") {
    banner(null);
    call.socketStatus(false);
  } else if (status === "reconnecting" || status === "offline") {
    banner(navigator.onLine === false ? "connection.offline" : "connection.reconnecting");
    call.socketStatus(true);
  } else if (status === "closed") {
    call.end();
    banner(null);
    if (!page.fatal) linkFailed(errorKey(detail && detail.error ? detail.error : "no_session"));
  }
}

/** @param {string} key */
function linkFailed(key) {
  page.fatal = true;
  socket.stop();
  call.end();
  views.show("link");
  show(byId("link-status"), false);
  const error = byId("link-error");
  i18n.render(error, key);
  show(error, true);
}

/** @param {unknown} error  why the session could not be opened */
function sessionError(error) {
  let key = "error.generic";
  if (error instanceof ApiError) {
    if (error.status === 0) key = "error.network";
    else if (error.status === 429) key = "error.rate_limited";
    else if (error.status === 403) key = "error.admin_link";
    else if (error.status === 401 && !linkToken) key = "error.no_link";
    else key = errorKey(error.code);
  }
  linkFailed(key);
  show(byId("link-retry"), key === "error.network" || key === "error.rate_limited");
}

// -- start ------------------------------------------------------------------------

async function start() {
  page.fatal = false;
  show(byId("link-retry"), false);
  show(byId("link-error"), false);
  show(byId("link-status"), true);
  /** @type {import("../lib/protocol.js").Session} */
  let session;
  try {
    session = await openSession(linkToken, "patient");
    page.session = session;
  } catch (error) {
    sessionError(error);
    return;
  }
  if (session.role !== "patient") {
    // An agent's session (this browser also has the agent console open, or an agent
    // link was opened here): this page must not act as the agent.
    linkFailed(linkToken ? "error.agent_link" : "error.no_link");
    return;
  }
  lobby.setSession(session);
  const saved = page.details ? null : savedDetails(session);
  if (saved) lobby.restore(saved);
  socket.start();
}

async function boot() {
  views.show("link", { focus: false });
  await i18n.startLanguage(byId("language-switch", HTMLSelectElement));
  byId("link-retry").addEventListener("click", () => start());
  byId("resolved-rejoin").addEventListener("click", () => rejoin());
  await start();
}

boot();
