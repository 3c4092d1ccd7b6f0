// @ts-check
// The live dashboard: per queue (waiting, oldest wait, agents by state, service
// level, abandon rate, handle time, CSAT) and per agent, from the `dashboard`
// message the desk pushes every 2 s over the admin's socket.

import { byId, clock, make, setText, show } from "../lib/dom.js";
import { has, language, t } from "../lib/i18n.js";

const STATES = ["available", "offered", "in_call", "wrap_up", "away"];

/** @param {number | null | undefined} value  a share, 0–1 */
function percent(value) {
  return value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`;
}

/**
 * @param {string | number} text
 * @param {boolean} [numeric]
 */
function cell(text, numeric = false) {
  return make("td", { className: numeric ? "number" : "", text: String(text) });
}

/**
 * Waiting patients flagged as possible emergencies, first in the alert box.
 * @param {import("../lib/protocol.js").DashboardQueue[]} queues
 */
function renderEmergencies(queues) {
  const items = [];
  for (const queue of queues) {
    for (const patient of queue.emergencies || []) {
      const words = (patient.words || []).join(", ");
      const text = t("admin.emergencies.item", {
        queue: queue.name,
        ticket: patient.ticket,
        words,
        waited: clock(patient.waited_s || 0),
      });
      items.push(make("li", { text }));
    }
  }
  byId("dashboard-emergency-list").replaceChildren(...items);
  show(byId("dashboard-emergencies"), items.length > 0);
}

/** @param {import("../lib/protocol.js").Dashboard} message */
export function renderDashboard(message) {
  renderEmergencies(message.queues || []);
  const queues = byId("dashboard-queues", HTMLTableElement).tBodies[0];
  queues.replaceChildren(
    ...(message.queues || []).map((queue) => {
      const row = make("tr");
      row.dataset.queue = queue.name;
      const name = make("th", { text: queue.name, attrs: { scope: "row" } });
      row.append(name, cell(queue.waiting, true), cell(clock(queue.oldest_wait_s || 0), true));
      for (const state of STATES) row.append(cell((queue.agents || {})[state] || 0, true));
      row.append(
        cell(percent(queue.service_level), true),
        cell(queue.target_s ? clock(queue.target_s) : "—", true),
        cell(percent(queue.abandon_rate), true),
        cell(queue.self_help_resolved ?? 0, true),
        cell(queue.aht_s ? clock(queue.aht_s) : "—", true),
        cell(queue.csat === null || queue.csat === undefined ? "—" : queue.csat.toFixed(2), true),
      );
      return row;
    }),
  );
  const now = message.at || Date.now();
  const agents = byId("dashboard-agents", HTMLTableElement).tBodies[0];
  const rows = (message.agents || []).map((agent) => {
    const row = make("tr");
    row.append(
      make("th", { text: agent.name || "—", attrs: { scope: "row" } }),
      cell(agent.id || ""),
      cell(has(`admin.state.${agent.state}`) ? t(`admin.state.${agent.state}`) : agent.state.replaceAll("_", " ")),
      cell(agent.reason && has(`agent.away.${agent.reason}`) ? t(`agent.away.${agent.reason}`) : agent.reason || ""),
      cell(agent.since_ms ? clock((now - agent.since_ms) / 1000) : "—", true),
      cell((agent.queues || []).join(", ")),
    );
    return row;
  });
  if (!rows.length) {
    const row = make("tr");
    row.append(make("td", { text: t("admin.agents.none"), attrs: { colspan: "6" } }));
    rows.push(row);
  }
  agents.replaceChildren(...rows);
  const time = new Date(now).toLocaleTimeString(language());
  setText(byId("dashboard-updated"), t("admin.dashboard.updated", { time }));
}
