// @ts-check
// The supervisor's charts of the last hours (GET /api/v1/dashboard/history?hours=6,
// refreshed every minute): patients waiting over time per queue (a line chart), and how
// long answered patients waited (a bar chart over the desk's wait buckets). Each chart
// has a table of the same data under "Show the data as a table". The time axis runs
// from the first sample to now (at least a quarter hour, at most the six hours asked
// for), so a desk that started minutes ago does not have its data squeezed to the
// right edge; the heading says the span. Under them, how the last day's wait estimates
// held up per queue (median error, share of waits inside the range shown).

import { messageOf, requestJson } from "../lib/api.js";
import { byId, fillSelect, make, setText } from "../lib/dom.js";
import { language, t } from "../lib/i18n.js";
import { barChart, lineChart, swatch } from "./charts.js";

const HOURS = 6;
const REFRESH_MS = 60_000;
const PERIOD_MS = 15 * 60_000; // the table gives the most waiting per quarter hour
const MIN_SPAN_MS = 15 * 60_000;

/**
 * GET /api/v1/dashboard/history: patients waiting per queue ([t_ms, count] samples),
 * and how long answered patients waited (counts per wait bucket, per queue).
 * @typedef {object} History
 * @property {Record<string, number[][]>} [waiting]
 * @property {number} [since]  ms
 * @property {number} until  ms (set to when it was read)
 * @property {Record<string, number[]>} [waits]
 * @property {number[]} [wait_buckets_s]  the buckets' upper bounds
 * @property {Record<string, Accuracy>} [accuracy]  the last day's wait estimates, per queue
 */
/**
 * How the wait estimates shown at join held up (calls answered in the last 24 hours).
 * @typedef {object} Accuracy
 * @property {number} answered
 * @property {number} median_error_s
 * @property {number} median_wait_s
 * @property {number} relative_error  median error over median wait
 * @property {number} inside_range  share of waits inside the range shown
 */
/** @typedef {{name: string, points: number[][]}} Series */

/** @param {number} ms */
function timeOfDay(ms) {
  return new Date(ms).toLocaleTimeString(language(), { hour: "2-digit", minute: "2-digit" });
}

/** @param {number} seconds */
function duration(seconds) {
  return seconds < 60
    ? t("admin.duration.seconds", { count: seconds })
    : t("admin.duration.minutes", { count: Math.round(seconds / 60) });
}

/**
 * Where the time axis starts: the first sample, but at least MIN_SPAN_MS before
 * `until` and no earlier than `since` (what the desk was asked for).
 * @param {{points: number[][]}[]} series
 * @param {number} since
 * @param {number} until
 */
export function axisStart(series, since, until) {
  const times = series.flatMap((s) => s.points.map(([at]) => at)).filter((at) => at >= since);
  const first = times.length ? Math.min(...times) : until;
  return Math.max(since, Math.min(first, until - MIN_SPAN_MS));
}

/**
 * A span in words: "the last 40 minutes" up to two hours, then "the last 6 hours".
 * @param {number} ms
 */
export function spanText(ms) {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  if (minutes < 120) return t("admin.span.minutes", { count: minutes });
  return t("admin.span.hours", { count: Math.round(minutes / 60) });
}

/**
 * Short labels of the wait buckets for the chart: "≤30 s", "≤1 min", …, ">30 min".
 * @param {number[]} bounds  seconds
 */
export function bucketLabels(bounds) {
  const labels = bounds.map((bound) => `≤${duration(bound)}`);
  labels.push(`>${duration(bounds[bounds.length - 1] || 0)}`);
  return labels;
}

/**
 * The same buckets in words, for the table and the description.
 * @param {number[]} bounds  seconds
 */
export function bucketNames(bounds) {
  const names = bounds.map((bound, i) =>
    i === 0
      ? t("admin.bucket.up_to", { to: duration(bound) })
      : t("admin.bucket.between", { from: duration(bounds[i - 1]), to: duration(bound) }),
  );
  names.push(t("admin.bucket.over", { from: duration(bounds[bounds.length - 1] || 0) }));
  return names;
}

/**
 * A table of the data of a chart: a header row, then a row heading and numbers a row.
 * @param {string} caption
 * @param {string[]} head
 * @param {[string, ...(string | number)[]][]} rows
 */
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
   * @param {(error: unknown) => boolean} options.onAuthError  true when it was handled
   */
  constructor({ token, onAuthError }) {
    this.token = token;
    this.onAuthError = onAuthError;
    /** @type {History | null} */
    this.data = null;
    /** @type {number | undefined} */
    this.timer = undefined;
    byId("waits-queue").addEventListener("change", () => this.drawWaits());
  }

  start() {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  stop() {
    clearInterval(this.timer);
  }

  /** The charts and their text again, in the page's (new) language. */
  redraw() {
    if (!this.data) return;
    this.fillQueues();
    this.drawWaiting();
    this.drawWaits();
    this.drawAccuracy();
    this.drawUpdated();
  }

  /** The data that was read (the methods below are called once it is). */
  get loaded() {
    return /** @type {History} */ (this.data);
  }

  fillQueues() {
    const queues = Object.keys(this.loaded.waiting || {});
    const chosen = byId("waits-queue", HTMLSelectElement).value;
    fillSelect(
      byId("waits-queue", HTMLSelectElement),
      [{ value: "", label: t("admin.all_queues") }, ...queues.map((q) => ({ value: q, label: q }))],
      chosen,
    );
  }

  drawUpdated() {
    setText(byId("history-updated"), t("admin.history.updated", { time: timeOfDay(this.loaded.until) }));
  }

  async refresh() {
    try {
      this.data = await requestJson("GET", `/api/v1/dashboard/history?hours=${HOURS}`, {
        token: this.token,
      });
    } catch (error) {
      if (!this.onAuthError(error)) {
        setText(byId("history-updated"), t("admin.history.failed", { message: messageOf(error) }));
      }
      return;
    }
    this.loaded.until = Date.now();
    this.fillQueues();
    this.drawWaiting();
    this.drawWaits();
    this.drawAccuracy();
    this.drawUpdated();
  }

  /** The last day's estimate accuracy: a row per queue. */
  drawAccuracy() {
    const accuracy = this.loaded.accuracy || {};
    const percent = (/** @type {number} */ share) => `${Math.round(share * 100)}%`;
    /** @type {[string, ...(string | number)[]][]} */
    const rows = Object.entries(accuracy).map(([queue, a]) => [
      queue,
      a.answered,
      duration(a.median_error_s),
      percent(a.relative_error),
      percent(a.inside_range),
    ]);
    const box = byId("accuracy-table");
    if (!rows.length) {
      box.replaceChildren(make("p", { text: t("admin.accuracy.none"), className: "hint" }));
      return;
    }
    box.replaceChildren(
      table(
        t("admin.accuracy.caption"),
        [
          t("staff.queue"),
          t("admin.accuracy.answered"),
          t("admin.accuracy.median_error"),
          t("admin.accuracy.relative_error"),
          t("admin.accuracy.inside"),
        ],
        rows,
      ),
    );
  }

  drawWaiting() {
    const { waiting = {}, since, until } = this.loaded;
    const series = Object.entries(waiting).map(([name, points]) => ({ name, points }));
    const from = axisStart(series, since || until - HOURS * 3600_000, until);
    const span = spanText(until - from);
    // The section's heading is the span itself: "The last 40 minutes".
    setText(byId("history-heading"), span.charAt(0).toUpperCase() + span.slice(1));
    setText(byId("waiting-chart-caption"), t("admin.history.waiting_caption_span", { span }));
    const now = series.map(({ name, points }) => {
      const last = points[points.length - 1];
      return `${name} ${last ? last[1] : 0}`;
    });
    /** @type {{name: string, t: number, v: number} | null} */
    let peak = null;
    for (const { name, points } of series) {
      for (const [t, v] of points) if (!peak || v > peak.v) peak = { name, t, v };
    }
    const description =
      t("admin.chart.waiting_desc", {
        from: timeOfDay(from),
        to: timeOfDay(until),
        latest: now.join(", ") || t("admin.chart.no_data"),
      }) +
      (peak && peak.v > 0
        ? ` ${t("admin.chart.peak", { count: peak.v, queue: peak.name, time: timeOfDay(peak.t) })}`
        : "");
    byId("waiting-chart").replaceChildren(
      lineChart({
        series,
        from,
        to: until,
        title: t("admin.chart.waiting_title", { span }),
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

  /**
   * The most waiting per quarter hour, a column per queue.
   * @param {Series[]} series
   * @param {number} from
   * @param {number} until
   */
  waitingTable(series, from, until) {
    /** @type {[string, ...number[]][]} */
    const rows = [];
    for (let start = Math.floor(from / PERIOD_MS) * PERIOD_MS; start < until; start += PERIOD_MS) {
      const most = series.map(({ points }) =>
        Math.max(0, ...points.filter(([t]) => t >= start && t < start + PERIOD_MS).map(([, v]) => v)),
      );
      rows.push([`${timeOfDay(start)}–${timeOfDay(start + PERIOD_MS)}`, ...most]);
    }
    return table(
      t("admin.chart.waiting_table"),
      [t("admin.chart.period"), ...series.map((s) => s.name)],
      rows,
    );
  }

  drawWaits() {
    if (!this.data) return;
    const { waits = {}, wait_buckets_s: bounds = [] } = this.data;
    const labels = bucketLabels(bounds);
    const names = bucketNames(bounds);
    const queue = byId("waits-queue", HTMLSelectElement).value;
    const counts = labels.map((_, i) =>
      Object.entries(waits)
        .filter(([name]) => !queue || name === queue)
        .reduce((sum, [, values]) => sum + (values[i] || 0), 0),
    );
    const total = counts.reduce((a, b) => a + b, 0);
    const which = queue || t("admin.chart.all_queues");
    const description = t("admin.chart.waits_desc", {
      total,
      queue: which,
      hours: HOURS,
      buckets: names.map((name, i) => `${name}: ${counts[i]}`).join("; "),
    });
    byId("waits-chart").replaceChildren(
      barChart({
        bars: labels.map((label, i) => ({ label, value: counts[i] })),
        title: t("admin.chart.waits_title", { queue: which, hours: HOURS }),
        description,
      }),
    );
    // One row per bucket, a column per queue and one for them all.
    const queues = Object.keys(waits);
    const rows = names.map((name, i) => {
      const perQueue = queues.map((q) => waits[q][i] || 0);
      /** @type {[string, ...number[]]} */
      const row = [name, ...perQueue, perQueue.reduce((a, b) => a + b, 0)];
      return row;
    });
    byId("waits-table").replaceChildren(
      table(
        t("admin.chart.waits_table", { hours: HOURS }),
        [t("admin.chart.wait"), ...queues, t("admin.all_queues")],
        rows,
      ),
    );
  }
}
