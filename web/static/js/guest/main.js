// @ts-check
// The guest page (/g#token=…): an interpreter, a carer or a second clinician joins
// the one call their link names. Link → lobby (camera check, first name, consent) →
// call → ended (the call is over, they left and may join again, or they were taken
// out). A reload or a reconnect while in the call goes straight back into it (the
// desk joins the guest again: server/ws/guest.py).
//
// This module owns the session and the socket and is the one place where each
// message from the desk is handled; GuestCall (./call.js) does the call.

import { ApiError } from "../lib/api.js";
import { callHandlers } from "../lib/call-view.js";
import { byId, show, Views } from "../lib/dom.js";
import * as i18n from "../lib/i18n.js";
import { LocalMedia, play } from "../lib/media.js";
import { dispatch, Protocol } from "../lib/protocol.js";
import { openSession, takeFragmentToken } from "../lib/session.js";
import { DeskSocket } from "../lib/socket.js";
import { GuestCall } from "./call.js";

/** @typedef {import("../lib/protocol.js").ServerMessages} ServerMessages */

const linkToken = takeFragmentToken();

const page = {
  /** @type {import("../lib/protocol.js").Session | null} */
  session: null,
  joining: "", // the id of the guest.join sent (its error comes back with `ref`)
  over: false, // the call ended or the guest was taken out: the socket's close is expected
  fatal: false,
};

// Join refusals the lobby explains (the rest: the generic words).
const JOIN_ERRORS = new Set(["call_over", "link_used", "call_full"]);
const LINK_ERRORS = new Set(["token_revoked", "token_expired", "unauthorized", "no_session"]);

const views = new Views({ quiet: ["link"] });
const media = new LocalMedia();
const socket = new DeskSocket({
  role: "guest",
  onMessage: (message) => dispatch(handlers, message),
  onStatus: (status, detail) => connectionStatus(status, detail),
});
const protocol = new Protocol(socket);
const call = new GuestCall({ protocol, media });

// Diagnostics for support staff (and the browser tests): each connection by handle.
globalThis.videodesk = Object.freeze({
  peerConnection: () => null,
  peerConnections: () => call.peerConnections(),
});

/** @type {import("../lib/protocol.js").Handlers} */
const handlers = {
  ...callHandlers(call),
  welcome(message) {
    page.session = message.session;
    drawIntro();
  },
  pong() {},
  error(message) {
    const code = String(message.code || "");
    if (LINK_ERRORS.has(code)) {
      if (!page.over) linkFailed(errorKey(code));
      return;
    }
    if (message.ref && message.ref === page.joining) {
      page.joining = "";
      joinFailed(JOIN_ERRORS.has(code) ? `guest.error.${code}` : errorKey(code));
    }
  },
  "call.started"(message) {
    page.joining = "";
    page.over = false;
    call.start(message);
    views.show("call");
  },
  "call.ended"(message) {
    call.end();
    ended(message.reason || "");
  },
};

// -- the lobby --------------------------------------------------------------------

function drawIntro() {
  const party = page.session && page.session.party ? page.session.party : "guest";
  i18n.render(byId("guest-intro"), "guest.intro", { role: i18n.t(`party.${party}`) });
}

async function enterLobby() {
  views.show("lobby");
  const status = byId("guest-media-status");
  i18n.render(status, "lobby.media.starting");
  const has = media.audio || media.video ? media.has() : await media.start();
  if (has.video) play(byId("guest-preview", HTMLVideoElement), media.stream);
  let key = "lobby.media.ok";
  if (!has.audio && !has.video) key = "lobby.media.none_available";
  else if (!has.video) key = "lobby.media.no_camera";
  else if (!has.audio) key = "lobby.media.no_microphone";
  i18n.render(status, key);
}

/** @param {SubmitEvent} event */
function submitJoin(event) {
  event.preventDefault();
  const input = byId("guest-name", HTMLInputElement);
  const consent = byId("guest-consent", HTMLInputElement);
  const name = input.value.trim();
  show(byId("guest-name-error"), !name);
  input.setAttribute("aria-invalid", String(!name));
  show(byId("guest-consent-error"), !consent.checked);
  consent.setAttribute("aria-invalid", String(!consent.checked));
  show(byId("guest-join-error"), false);
  if (!name) {
    input.focus();
    return;
  }
  if (!consent.checked) {
    consent.focus();
    return;
  }
  const id = protocol.guestJoin(name);
  if (id === null) {
    joinFailed("connection.reconnecting");
    return;
  }
  page.joining = id;
  i18n.render(byId("guest-join"), "guest.joining");
}

/** @param {string} key */
function joinFailed(key) {
  i18n.render(byId("guest-join"), "guest.join");
  const error = byId("guest-join-error");
  i18n.render(error, key);
  show(error, true);
  if (views.current !== "lobby") enterLobby();
}

// -- after the call ---------------------------------------------------------------

/** @param {string} reason  call.ended's */
function ended(reason) {
  const left = reason === "left";
  page.over = !left; // removed or over: the link is dead and the socket will close
  if (page.over) socket.stop();
  media.stop();
  const key = left ? "guest.left" : reason === "removed" ? "guest.removed" : "guest.ended";
  i18n.render(byId("ended-text"), key);
  show(byId("rejoin-button"), left);
  views.show("ended");
}

// -- errors and the connection ----------------------------------------------------

/** @param {string} code */
function errorKey(code) {
  return i18n.has(`error.${code}`) ? `error.${code}` : "error.generic";
}

/** @param {string} key */
function linkFailed(key) {
  page.fatal = true;
  socket.stop();
  call.end();
  views.show("link");
  show(byId("link-status"), false);
  const error = byId("link-error");
  i18n.render(error, key === "error.token_revoked" ? "guest.error.link" : key);
  show(error, true);
}

/**
 * @param {string} status  the socket's
 * @param {import("../lib/socket.js").StatusDetail} [detail]
 */
function connectionStatus(status, detail) {
  const banner = byId("connection-banner");
  if (status === "open") {
    show(banner, false);
    call.socketStatus(false);
  } else if (status === "reconnecting" || status === "offline") {
    i18n.render(banner, navigator.onLine === false ? "connection.offline" : "connection.reconnecting");
    show(banner, true);
    call.socketStatus(true);
  } else if (status === "closed") {
    show(banner, false);
    if (page.over || page.fatal) return;
    linkFailed(errorKey(detail && detail.error ? detail.error : "no_session"));
  }
}

// -- start ------------------------------------------------------------------------

async function start() {
  /** @type {import("../lib/protocol.js").Session} */
  let session;
  try {
    session = await openSession(linkToken, "guest");
  } catch (error) {
    let key = "error.generic";
    if (error instanceof ApiError) {
      if (error.status === 0) key = "error.network";
      else if (error.status === 401 && !linkToken) key = "error.no_link";
      else key = errorKey(error.code);
    }
    linkFailed(key === "error.unauthorized" ? "guest.error.link" : key);
    return;
  }
  if (session.role !== "guest") {
    linkFailed("guest.error.link");
    return;
  }
  page.session = session;
  drawIntro();
  await enterLobby(); // the camera first: a reload in the call goes straight back in with it
  socket.start();
}

async function boot() {
  views.show("link", { focus: false });
  await i18n.startLanguage(byId("language-switch", HTMLSelectElement));
  i18n.onLanguageChange(() => drawIntro());
  byId("guest-form", HTMLFormElement).addEventListener("submit", submitJoin);
  byId("leave-button").addEventListener("click", () => protocol.callBye());
  byId("rejoin-button").addEventListener("click", () => enterLobby());
  await start();
}

boot();
