// @ts-check
// The admin console: issue and revoke links (REST, bearer token), watch the queues
// live (the `dashboard` pushes on a socket authenticated with an `auth` message), the
// charts of the last hours, report downloads, and messages to waiting patients. The admin token is read from the URL fragment and kept in memory and in
// this tab's sessionStorage (so a refresh works); nothing else is stored.

import { ApiError, messageOf, requestJson } from "../lib/api.js";
import { byId, setText, show } from "../lib/dom.js";
import * as i18n from "../lib/i18n.js";
import { t } from "../lib/i18n.js";
import { authMessage, dispatch, Protocol } from "../lib/protocol.js";
import { takeFragmentToken } from "../lib/session.js";
import { DeskSocket } from "../lib/socket.js";
import { StaffMessageForm } from "../lib/staff-message.js";
import { renderDashboard } from "./dashboard.js";
import { Supervision } from "./supervise.js";
import { HistoryCharts } from "./history.js";
import { ReportDownloads } from "./reports.js";
import { TokenAdmin } from "./tokens.js";
import { WebhookAdmin } from "./webhooks.js";

const STORAGE_KEY = "vd.admin";
const fromLink = takeFragmentToken();
if (fromLink) sessionStorage.setItem(STORAGE_KEY, fromLink);
// Without one the page says so and stops (start() below): "" is never sent.
const token = fromLink || sessionStorage.getItem(STORAGE_KEY) || "";
// An admin's console, or a supervisor's: the live view of its queues and their calls,
// nothing of the admin API (the desk decides; this only chooses what to show).
const role = roleOf(token);

/**
 * The role a console token is for, from its (unverified) claims.
 * @param {string} value
 * @returns {"admin" | "supervisor"}
 */
function roleOf(value) {
  try {
    const part = value.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    return JSON.parse(atob(part)).typ === "supervisor" ? "supervisor" : "admin";
  } catch {
    return "admin";
  }
}

let fatalShown = false;
const socket = new DeskSocket({
  role,
  auth: () => authMessage(role, token),
  onMessage: (message) => dispatch(handlers, message),
  onStatus: (status, detail) => connectionStatus(status, detail),
});
const protocol = new Protocol(socket);
/**
 * A refused bearer token ends the page: true when the error was that.
 * @param {unknown} error
 */
function onAuthError(error) {
  if (!(error instanceof ApiError) || error.status !== 401) return false;
  fatal(t("admin.error.no_longer_valid"));
  return true;
}
const tokens = new TokenAdmin({ token, onAuthError });
const charts = new HistoryCharts({ token, onAuthError });
const reports = new ReportDownloads({ token, onAuthError });
const webhooks = new WebhookAdmin({ token, onAuthError });
const staff = new StaffMessageForm({
  protocol,
  sent: (id) => {
    if (id === null) staff.failed(t("admin.error.not_connected"));
  },
});
const supervision = new Supervision({ protocol });
// Diagnostics for support staff (and the browser tests): the supervised call's connections.
globalThis.videodesk = Object.freeze({
  peerConnection: () => null,
  peerConnections: () => supervision.peerConnections(),
});
// Refusals of supervisor.* (the rest go to the message-to-patients form).
const SUPERVISION_ERRORS = new Set(["call_over", "call_full", "not_in_call"]);
/** @type {string[]} */
let queueNames = [];
/** @type {import("../lib/protocol.js").Dashboard | null} */
let lastDashboard = null;

/** @type {import("../lib/protocol.js").Handlers} */
const handlers = {
  welcome(message) {
    if (message.role !== role) {
      // The socket was authenticated by this browser's agent or patient session
      // cookie (another tab), which the desk prefers to the admin's auth message.
      fatal(t("admin.error.other_session"), { forget: false });
    }
  },
  error(message) {
    if (["token_revoked", "token_expired", "unauthorized"].includes(message.code)) {
      fatal(t("admin.error.refused", { message: message.message }));
    } else if (SUPERVISION_ERRORS.has(message.code)) {
      supervision.failed(message.message || t("error.generic"));
    } else {
      staff.failed(message.message || t("error.generic"));
    }
  },
  pong() {},
  dashboard(message) {
    setQueues((message.queues || []).map((queue) => queue.name));
    lastDashboard = message;
    renderDashboard(message);
    supervision.setCalls(message.agents || []);
  },
  "call.started"(message) {
    supervision.started(message);
  },
  "call.parties"(message) {
    supervision.parties(message);
  },
  "call.sdp"(message) {
    if (message.from) supervision.description(message.from, message.description);
  },
  "call.ice"(message) {
    if (message.from) supervision.candidate(message.from, message.candidate);
  },
  "call.chat"() {}, // the call's chat is not shown to a supervisor
  "call.ended"() {
    supervision.ended();
  },
  "staff.sent"(message) {
    staff.delivered(message.queue);
  },
};

/** @param {string[]} names */
function setQueues(names) {
  if (names.join() === queueNames.join()) return;
  queueNames = names;
  tokens.setQueues(names);
  staff.setQueues(names);
}

/**
 * @param {string} status  the socket's
 * @param {import("../lib/socket.js").StatusDetail} [detail]
 */
function connectionStatus(status, detail) {
  const badge = byId("live-badge");
  const live = status === "open";
  if (live && badge.dataset.state !== "available") supervision.reconnected();
  i18n.render(badge, live ? "admin.live.live" : "admin.live.reconnecting");
  badge.dataset.state = live ? "available" : "away";
  if (status === "closed" && !fatalShown) {
    const why = detail && detail.error ? detail.error : t("admin.error.refused_word");
    fatal(t("admin.error.closed", { why }));
  }
}

/**
 * @param {string} text
 * @param {{forget?: boolean}} [options]  forget the token (the default)
 */
function fatal(text, { forget = true } = {}) {
  fatalShown = true;
  socket.stop();
  charts.stop();
  if (forget) sessionStorage.removeItem(STORAGE_KEY);
  show(byId("admin"), false);
  const error = byId("fatal-error");
  setText(error, text);
  show(error, true);
}

/** Text written from code, in the page's (new) language. */
function redraw() {
  if (lastDashboard) renderDashboard(lastDashboard);
  supervision.redraw();
  charts.redraw();
  tokens.redraw();
  webhooks.redraw();
}

async function start() {
  await i18n.startLanguage(byId("language-switch", HTMLSelectElement));
  i18n.onLanguageChange(() => redraw());
  if (!token) {
    fatal(t("admin.error.no_token"));
    return;
  }
  try {
    /** @type {import("../lib/protocol.js").Dashboard} */
    const snapshot = await requestJson("GET", "/api/v1/dashboard", { token });
    setQueues((snapshot.queues || []).map((queue) => queue.name));
    lastDashboard = snapshot;
    renderDashboard(snapshot);
    supervision.setCalls(snapshot.agents || []);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      fatal(t("admin.error.not_valid"));
    } else {
      fatal(t("admin.error.unreachable", { message: messageOf(error) }));
    }
    return;
  }
  show(byId("admin"), true);
  if (role === "supervisor") {
    for (const section of document.querySelectorAll("[data-admin-only]")) {
      /** @type {HTMLElement} */ (section).hidden = true;
    }
    i18n.render(byId("console-heading"), "admin.supervisor_heading");
  } else {
    tokens.refresh();
    webhooks.refresh();
    charts.start();
  }
  socket.start();
}

start();
