// The supervisor's charts of the last hours (GET /api/v1/dashboard/history?hours=6,
// refreshed every minute): patients waiting over time per queue (a line chart), and how
// long answered patients waited (a bar chart over the desk's wait buckets). Each chart
// has a table of the same data under "Show the data as a table".

import { requestJson } from "../lib/api.js";
import { byId, fillSelect, make, setText, timeOfDay } from "../lib/dom.js";
import { barChart, lineChart, swatch } from "./charts.js";

const HOURS = 6;
const REFRESH_MS = 60_000;
const PERIOD_MS = 15 * 60_000; // the table gives the most waiting per quarter hour

function duration(seconds) {
  return seconds < 60 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}

/** Short labels of the wait buckets for the chart: "≤30 s", "≤1 min", …, ">30 min". */
export function bucketLabels(bounds) {
  const labels = bounds.map((bound) => `≤${duration(bound)}`);
  labels.push(`>${duration(bounds[bounds.length - 1] || 0)}`);
  return labels;
}

/** The same buckets in words, for the table and the description. */
export function bucketNames(bounds) {
  const names = bounds.map((bound, i) =>
    i === 0 ? `up to ${duration(bound)}` : `${duration(bounds[i - 1])} to ${duration(bound)}`,
  );
  names.push(`over ${duration(bounds[bounds.length - 1] || 0)}`);
  return names;
}

function table(caption, head, rows) {
  const element = make("table");
  element.append(make("caption", { text: caption }));
  const thead = make("thead");
  const headRow = make("tr");
  head.forEach((text, i) =>
    headRow.append(make("th", { text, className: i ? "number" : "", attrs: { scope: "col" } })),
  );
  thead.append(headRow);
  const tbody = make("tbody");
  for (const [first, ...cells] of rows) {
    const row = make("tr");
    row.append(make("th", { text: first, attrs: { scope: "row" } }));
    for (const value of cells) row.append(make("td", { text: String(value), className: "number" }));
    tbody.append(row);
  }
  element.append(thead, tbody);
  return element;
}

export class HistoryCharts {
  /**
   * @param {object} options
   * @param {string} options.token  the admin's bearer token
   * @param {(error: Error) => boolean} options.onAuthError  true when it was handled
   */
  constructor({ token, onAuthError }) {
    this.token = token;
    this.onAuthError = onAuthError;
    this.data = null;
    this.timer = null;
    byId("waits-queue").addEventListener("change", () => this.drawWaits());
  }

  start() {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  stop() {
    clearInterval(this.timer);
  }

  async refresh() {
    try {
      this.data = await requestJson("GET", `/api/v1/dashboard/history?hours=${HOURS}`, {
        token: this.token,
      });
    } catch (error) {
      if (!this.onAuthError(error)) {
        setText(byId("history-updated"), `The charts could not be updated: ${error.message}`);
      }
      return;
    }
    this.data.until = Date.now();
    const queues = Object.keys(this.data.waiting || {});
    const chosen = byId("waits-queue").value;
    fillSelect(
      byId("waits-queue"),
      [{ value: "", label: "All queues" }, ...queues.map((q) => ({ value: q, label: q }))],
      chosen,
    );
    this.drawWaiting();
    this.drawWaits();
    setText(byId("history-updated"), `Charts updated at ${timeOfDay(this.data.until)}; every minute.`);
  }

  drawWaiting() {
    const { waiting = {}, since, until } = this.data;
    const from = since || until - HOURS * 3600_000;
    const series = Object.entries(waiting).map(([name, points]) => ({ name, points }));
    const now = series.map(({ name, points }) => {
      const last = points[points.length - 1];
      return `${name} ${last ? last[1] : 0}`;
    });
    let peak = null;
    for (const { name, points } of series) {
      for (const [t, v] of points) if (!peak || v > peak.v) peak = { name, t, v };
    }
    const description =
      `Line chart of the patients waiting in each queue, sampled every minute from ` +
      `${timeOfDay(from)} to ${timeOfDay(until)}. Latest: ${now.join(", ") || "no data"}.` +
      (peak && peak.v > 0 ? ` Most at once: ${peak.v} in ${peak.name} at ${timeOfDay(peak.t)}.` : "");
    byId("waiting-chart").replaceChildren(
      lineChart({
        series,
        from,
        to: until,
        title: `Patients waiting per queue, last ${HOURS} hours`,
        description,
        timeLabel: timeOfDay,
      }),
    );
    byId("waiting-legend").replaceChildren(
      ...series.map(({ name }, index) => {
        const item = make("li");
        item.append(swatch(index), make("span", { text: name }));
        return item;
      }),
    );
    byId("waiting-table").replaceChildren(this.waitingTable(series, from, until));
  }

  waitingTable(series, from, until) {
    const rows = [];
    for (let start = Math.floor(from / PERIOD_MS) * PERIOD_MS; start < until; start += PERIOD_MS) {
      const most = series.map(({ points }) =>
        Math.max(0, ...points.filter(([t]) => t >= start && t < start + PERIOD_MS).map(([, v]) => v)),
      );
      rows.push([`${timeOfDay(start)}–${timeOfDay(start + PERIOD_MS)}`, ...most]);
    }
    return table(
      "Most patients waiting in each quarter hour",
      ["Period", ...series.map((s) => s.name)],
      rows,
    );
  }

  drawWaits() {
    if (!this.data) return;
    const { waits = {}, wait_buckets_s: bounds = [] } = this.data;
    const labels = bucketLabels(bounds);
    const names = bucketNames(bounds);
    const queue = byId("waits-queue").value;
    const counts = labels.map((_, i) =>
      Object.entries(waits)
        .filter(([name]) => !queue || name === queue)
        .reduce((sum, [, values]) => sum + (values[i] || 0), 0),
    );
    const total = counts.reduce((a, b) => a + b, 0);
    const which = queue || "all queues";
    const description =
      `Bar chart of ${total} answered patients in ${which} over the last ${HOURS} hours, ` +
      `by how long they waited: ` +
      names.map((name, i) => `${name}: ${counts[i]}`).join("; ") +
      ".";
    byId("waits-chart").replaceChildren(
      barChart({
        bars: labels.map((label, i) => ({ label, value: counts[i] })),
        title: `How long answered patients waited, ${which}, last ${HOURS} hours`,
        description,
      }),
    );
    // One row per bucket, a column per queue and one for them all.
    const queues = Object.keys(waits);
    const rows = names.map((name, i) => {
      const perQueue = queues.map((q) => waits[q][i] || 0);
      return [name, ...perQueue, perQueue.reduce((a, b) => a + b, 0)];
    });
    byId("waits-table").replaceChildren(
      table(`Answered patients by wait, last ${HOURS} hours`, ["Wait", ...queues, "All queues"], rows),
    );
  }
}
