// The admin console: issue and revoke links (REST, bearer token), watch the queues
// live (the `dashboard` pushes on a socket authenticated with an `auth` message), the
// charts of the last hours, report downloads, and messages to waiting patients. The admin token is read from the URL fragment and kept in memory and in
// this tab's sessionStorage (so a refresh works); nothing else is stored.

import { requestJson } from "../lib/api.js";
import { byId, setText, show } from "../lib/dom.js";
import { Protocol } from "../lib/protocol.js";
import { takeFragmentToken } from "../lib/session.js";
import { DeskSocket } from "../lib/socket.js";
import { StaffMessageForm } from "../lib/staff-message.js";
import { renderDashboard } from "./dashboard.js";
import { HistoryCharts } from "./history.js";
import { ReportDownloads } from "./reports.js";
import { TokenAdmin } from "./tokens.js";

const STORAGE_KEY = "vd.admin";
const fromLink = takeFragmentToken();
if (fromLink) sessionStorage.setItem(STORAGE_KEY, fromLink);
const token = fromLink || sessionStorage.getItem(STORAGE_KEY);

let fatalShown = false;
const socket = new DeskSocket({
  role: "admin",
  auth: () => ({ type: "auth", role: "admin", token }),
  onMessage: (message) => receive(message),
  onStatus: (status, detail) => connectionStatus(status, detail),
});
const protocol = new Protocol(socket);
function onAuthError(error) {
  if (error.status !== 401) return false;
  fatal("This admin link is no longer valid (expired or revoked). Issue a new one.");
  return true;
}
const tokens = new TokenAdmin({ token, onAuthError });
const charts = new HistoryCharts({ token, onAuthError });
const reports = new ReportDownloads({ token, onAuthError });
const staff = new StaffMessageForm({
  protocol,
  sent: (id) => {
    if (id === null) staff.failed("Not connected. Try again in a moment.");
  },
});
let queueNames = [];

const handlers = {
  welcome(message) {
    if (message.role !== "admin") {
      // The socket was authenticated by this browser's agent or patient session
      // cookie (another tab), which the desk prefers to the admin's auth message.
      fatal(
        "This browser is signed in to the agent or patient page in another tab, so the " +
          "live dashboard cannot open here. Use a private window for the admin console.",
        { forget: false },
      );
    }
  },
  error(message) {
    if (["token_revoked", "token_expired", "unauthorized"].includes(message.code)) {
      fatal(`The desk refused this admin link: ${message.message}`);
    } else {
      staff.failed(message.message || "Something went wrong.");
    }
  },
  pong() {},
  dashboard(message) {
    setQueues((message.queues || []).map((queue) => queue.name));
    renderDashboard(message);
  },
  "staff.sent"(message) {
    staff.delivered(message.queue);
  },
};

function receive(message) {
  const handler = Object.hasOwn(handlers, message.type) ? handlers[message.type] : null;
  if (handler) handler(message);
}

function setQueues(names) {
  if (names.join() === queueNames.join()) return;
  queueNames = names;
  tokens.setQueues(names);
  staff.setQueues(names);
}

function connectionStatus(status, detail) {
  const badge = byId("live-badge");
  const live = status === "open";
  setText(badge, live ? "Live" : "Reconnecting…");
  badge.dataset.state = live ? "available" : "away";
  if (status === "closed" && !fatalShown) {
    fatal(`The desk closed the connection (${detail && detail.error ? detail.error : "refused"}).`);
  }
}

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

async function start() {
  if (!token) {
    fatal("Open the admin link (with its token) to use the admin console.");
    return;
  }
  try {
    const snapshot = await requestJson("GET", "/api/v1/dashboard", { token });
    setQueues((snapshot.queues || []).map((queue) => queue.name));
    renderDashboard(snapshot);
  } catch (error) {
    if (error.status === 401) {
      fatal("This admin link is not valid (expired or revoked). Issue a new one.");
    } else {
      fatal(`The desk could not be reached: ${error.message}`);
    }
    return;
  }
  show(byId("admin"), true);
  tokens.refresh();
  charts.start();
  socket.start();
}

start();
