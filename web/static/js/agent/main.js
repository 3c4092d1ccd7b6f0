// @ts-check
// The agent console: status, offers, the call, wrap-up, the queues served.
//
// This module owns the session and the socket and is the one place where each
// message from the desk is handled (the `handlers` table mirrors the server →
// client half of docs/protocol.md for agents).

import { ApiError } from "../lib/api.js";
import { callHandlers } from "../lib/call-view.js";
import { Chime } from "../lib/chime.js";
import { byId, setText, show } from "../lib/dom.js";
import * as i18n from "../lib/i18n.js";
import { t } from "../lib/i18n.js";
import { dispatch, Protocol } from "../lib/protocol.js";
import { openSession, takeFragmentToken } from "../lib/session.js";
import { DeskSocket } from "../lib/socket.js";
import { StaffMessageForm } from "../lib/staff-message.js";
import { AgentCall } from "./call.js";
import { CallbackTask } from "./callback.js";
import { OfferPanel } from "./offer.js";
import { renderQueues } from "./queues.js";
import { StatusPanel } from "./status.js";
import { WrapupForm } from "./wrapup.js";

const linkToken = takeFragmentToken();

/** @typedef {import("../lib/protocol.js").ServerMessages} ServerMessages */

const page = {
  /** @type {import("../lib/protocol.js").Session | null} */
  session: null,
  state: "offline",
  /** @type {Map<string, string>} message id → what it was for (errors come back with `ref`) */
  replies: new Map(),
  fatal: false,
};
const chime = new Chime();
const socket = new DeskSocket({
  role: "agent",
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
    problem(purpose, t("agent.error.not_connected"));
    return;
  }
  page.replies.set(id, purpose);
}

const status = new StatusPanel({ protocol, sent, onGesture: () => userGesture() });
const offer = new OfferPanel({ protocol, sent, chime });
const call = new AgentCall({ protocol, sent });
const wrapup = new WrapupForm({ protocol, sent });
const callback = new CallbackTask({ protocol, sent });
const staff = new StaffMessageForm({ protocol, sent, prefix: "staff" });

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
    page.session = message.session;
    setText(byId("agent-name"), message.session.name || "");
    call.setQueues(message.session.queues || []);
    staff.setQueues(message.session.queues || []);
  },
  error(message) {
    deskError(message);
  },
  pong() {},
  "agent.state"(message) {
    agentState(message);
  },
  "agent.offer"(message) {
    offer.show(message);
  },
  "agent.offer_cancelled"(message) {
    /** @type {Record<string, string>} */
    const reasons = { patient_left: "agent.cancelled.patient_left", revoked: "agent.cancelled.revoked" };
    offer.close(t(reasons[message.reason] ?? "agent.cancelled.expired"));
  },
  "agent.queues"(message) {
    renderQueues(message.queues || []);
  },
  "agent.note_saved"() {
    call.noteSaved();
  },
  "agent.callback"(message) {
    offer.close();
    callback.show(message);
    layout();
  },
  "agent.ringing"() {
    callback.ringing();
  },
  "agent.ring_declined"() {
    callback.declined();
  },
  "staff.sent"(message) {
    staff.delivered(message.queue);
  },
  "call.started"(message) {
    offer.close();
    callback.close();
    call.start(message);
    layout();
  },
  "call.invite_link"(message) {
    call.guests.showLink(message);
  },
  "call.ended"() {
    callback.close();
    call.end();
    layout();
  },
};

/** @param {ServerMessages["agent.state"]} message */
function agentState(message) {
  const previous = page.state;
  page.state = message.state;
  status.update(message);
  wrapup.setCodes(message.outcome_codes || []);
  if (message.queues && message.queues.length) {
    call.setQueues(message.queues);
    staff.setQueues(message.queues);
  }
  if (message.state !== "offered" && offer.open) offer.close();
  if (message.state !== "in_call" && callback.open) callback.close();
  if (message.state === "wrap_up" && previous !== "wrap_up") wrapup.open();
  layout();
  if (message.state === "wrap_up" && previous !== "wrap_up") byId("wrapup-outcome").focus();
}

/** Which panels show: a call-back task until its video call starts (or it ends), the
 * call while one is on, wrap-up after it. */
function layout() {
  const onCallback = callback.open && !call.active;
  const inCall = !onCallback && (page.state === "in_call" || call.active);
  show(byId("call-panel"), inCall);
  show(byId("call-side"), inCall);
  byId("console").classList.toggle("in-call", inCall);
  show(byId("wrapup-panel"), page.state === "wrap_up" && !inCall);
}

function userGesture() {
  chime.unlock();
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().then(drawNotifications);
  }
}

function drawNotifications() {
  const supported = "Notification" in window;
  const permission = supported ? Notification.permission : "unsupported";
  i18n.render(byId("notify-state"), `agent.notify.${permission}`);
  show(byId("notify-enable"), permission === "default");
}

// -- errors -----------------------------------------------------------------------

/** @param {ServerMessages["error"]} message */
function deskError(message) {
  const purpose = message.ref ? page.replies.get(message.ref) : undefined;
  if (message.ref) page.replies.delete(message.ref);
  if (["token_revoked", "token_expired", "unauthorized"].includes(message.code)) {
    fatal(message.message || t("agent.error.session_ended"));
    return;
  }
  if (purpose === "ring") {
    callback.ringFailed(message.code, message.message);
    return;
  }
  problem(purpose, message.message || t("error.generic"));
}

/**
 * Say what went wrong where it went wrong (else in the banner, for a moment).
 * @param {string | undefined} purpose  what the message was for
 * @param {string} text
 */
function problem(purpose, text) {
  if (purpose === "status") status.failed(text);
  else if (purpose === "transfer") call.transferFailed(text);
  else if (purpose === "wrapup") wrapup.failed(text);
  else if (purpose === "accept" || purpose === "decline") offer.close(text);
  else if (purpose === "staff") staff.failed(text);
  else if (purpose === "ring") callback.ringFailed("", text);
  else if (purpose === "invite" || purpose === "remove") call.guests.failed(text);
  else banner(text, { passing: true });
}

const BANNER_SHOWN_MS = 8000;
/** @type {number | undefined} */
let bannerTimer = undefined;

/**
 * The connection's state (until it changes), or a passing problem (a few seconds).
 * @param {string} text  "": none
 * @param {{passing?: boolean}} [options]
 */
function banner(text, { passing = false } = {}) {
  const element = byId("connection-banner");
  clearTimeout(bannerTimer);
  setText(element, text || "");
  show(element, Boolean(text));
  if (passing && text) bannerTimer = setTimeout(() => banner(""), BANNER_SHOWN_MS);
}

/**
 * @param {string} state  the socket's
 * @param {import("../lib/socket.js").StatusDetail} [detail]
 */
function connectionStatus(state, detail) {
  if (state === "open") {
    banner("");
    call.socketStatus(false);
  } else if (state === "reconnecting" || state === "offline") {
    banner(t(navigator.onLine === false ? "connection.offline" : "connection.lost"));
    call.socketStatus(true);
  } else if (state === "closed") {
    banner("");
    if (!page.fatal) {
      const idle = detail && detail.code === 1008 && !detail.error;
      fatal(t(idle ? "agent.error.idle" : "agent.error.closed"));
    }
  }
}

/** @param {string} text */
function fatal(text) {
  page.fatal = true;
  socket.stop();
  call.end();
  offer.close();
  status.signedOut();
  show(byId("console"), false);
  const error = byId("fatal-error");
  setText(error, text);
  show(error, true);
}

// -- start ------------------------------------------------------------------------

/** Text written from code, in the page's (new) language. */
function redraw() {
  status.draw();
  offer.draw();
  callback.draw();
  call.redraw();
  wrapup.redraw();
  renderQueues();
}

async function start() {
  await i18n.startLanguage(byId("language-switch", HTMLSelectElement));
  i18n.onLanguageChange(() => redraw());
  byId("notify-enable").addEventListener("click", () => userGesture());
  drawNotifications();
  /** @type {import("../lib/protocol.js").Session} */
  let session;
  try {
    session = await openSession(linkToken, "agent");
    page.session = session;
  } catch (error) {
    let text = t("agent.error.no_link");
    if (error instanceof ApiError && error.status === 0) {
      text = t("error.unreachable");
    } else if (error instanceof ApiError && linkToken) {
      text = t("agent.error.bad_link", { message: error.message });
    }
    fatal(text);
    return;
  }
  if (session.role !== "agent") {
    fatal(t("agent.error.not_agent"));
    return;
  }
  setText(byId("agent-name"), session.name || "");
  show(byId("console"), true);
  socket.start();
}

start();
