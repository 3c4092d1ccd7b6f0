// The live dashboard: per queue (waiting, oldest wait, agents by state, service
// level, abandon rate, handle time, CSAT) and per agent, from the `dashboard`
// message the desk pushes every 2 s over the admin's socket.

import { byId, clock, make, setText } from "../lib/dom.js";

const STATES = ["available", "offered", "in_call", "wrap_up", "away"];

function percent(value) {
  return value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`;
}

function cell(text, numeric = false) {
  return make("td", { className: numeric ? "number" : "", text: String(text) });
}

export function renderDashboard(message) {
  const queues = byId("dashboard-queues").tBodies[0];
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
  const agents = byId("dashboard-agents").tBodies[0];
  const rows = (message.agents || []).map((agent) => {
    const row = make("tr");
    row.append(
      make("th", { text: agent.name || "—", attrs: { scope: "row" } }),
      cell(agent.id || ""),
      cell(agent.state.replaceAll("_", " ")),
      cell(agent.reason || ""),
      cell(agent.since_ms ? clock((now - agent.since_ms) / 1000) : "—", true),
      cell((agent.queues || []).join(", ")),
    );
    return row;
  });
  if (!rows.length) {
    const row = make("tr");
    row.append(make("td", { text: "No agents signed in.", attrs: { colspan: "6" } }));
    rows.push(row);
  }
  agents.replaceChildren(...rows);
  setText(byId("dashboard-updated"), `Updated at ${new Date(now).toLocaleTimeString()}`);
}
