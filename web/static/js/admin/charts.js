// @ts-check
// Small charts drawn as inline SVG with DOM APIs (no library, no canvas): a line chart
// of values over time (one line per series) and a bar chart. Each chart is an image
// with an accessible name (<title>) and a description (<desc>) written by the caller;
// the page puts a table of the same data next to it. Colours and dash patterns come
// from console.css (.series-N), so a line is told apart by more than its colour.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 260;
const MARGIN = { top: 26, right: 16, bottom: 34, left: 44 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const MINUTE_MS = 60_000;
// Steps between time ticks, in minutes: the smallest giving at most about six ticks.
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360];

let charts = 0;

/**
 * An SVG element with attributes (as text) and text.
 * @param {string} tag
 * @param {Record<string, string | number>} [attrs]
 * @param {string} [text]
 * @returns {SVGElement}
 */
function svg(tag, attrs = {}, text = "") {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  if (text) element.textContent = text;
  return element;
}

/**
 * A step of 1, 2 or 5 × 10^n giving about `count` ticks up to `max`.
 * @param {number} max
 * @param {number} [count]
 */
export function niceStep(max, count = 4) {
  const raw = Math.max(max, 1) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  // 10 × power ≥ raw always: one is found.
  const step = /** @type {number} */ ([1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw));
  return Math.max(1, step); // whole patients
}

/**
 * The time between tick marks (ms) for an axis `span` ms long: about `count` ticks.
 * @param {number} span
 * @param {number} [count]
 */
export function timeStep(span, count = 6) {
  const minutes = span / MINUTE_MS / count;
  const step = TIME_STEPS.find((s) => s >= minutes) ?? TIME_STEPS[TIME_STEPS.length - 1];
  return step * MINUTE_MS;
}

/**
 * The <svg> frame: role img, named by its <title>, described by its <desc>.
 * @param {string} title
 * @param {string} description
 * @param {string} className
 */
function frame(title, description, className) {
  charts += 1;
  const titleId = `chart-title-${charts}`;
  const descId = `chart-desc-${charts}`;
  const root = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-labelledby": titleId,
    "aria-describedby": descId,
    class: `chart ${className}`,
    preserveAspectRatio: "xMidYMid meet",
  });
  root.append(svg("title", { id: titleId }, title), svg("desc", { id: descId }, description));
  return root;
}

/**
 * Horizontal grid lines and value labels from 0 to `top`; returns y(value).
 * @param {SVGElement} root
 * @param {number} top
 * @returns {(value: number) => number}
 */
function valueAxis(root, top) {
  const step = niceStep(top);
  /** @param {number} value */
  const y = (value) => MARGIN.top + PLOT_H - (value / top) * PLOT_H;
  const axis = svg("g", { class: "chart-axis", "aria-hidden": "true" });
  for (let value = 0; value <= top; value += step) {
    axis.append(
      svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value) }),
      svg("text", { x: MARGIN.left - 8, y: y(value) + 4, "text-anchor": "end" }, String(value)),
    );
  }
  root.append(axis);
  return y;
}

/** @param {number} max */
function roundedTop(max) {
  const step = niceStep(max);
  return Math.max(step, Math.ceil(Math.max(max, 1) / step) * step);
}

/**
 * A line chart over time.
 * @param {object} chart
 * @param {{name: string, points: number[][]}[]} chart.series  points are [t_ms, value]
 * @param {number} chart.from  start of the time axis (ms)
 * @param {number} chart.to  end of the time axis (ms)
 * @param {string} chart.title
 * @param {string} chart.description
 * @param {(ms: number) => string} chart.timeLabel
 */
export function lineChart({ series, from, to, title, description, timeLabel }) {
  const root = frame(title, description, "chart-line");
  const max = Math.max(0, ...series.flatMap((s) => s.points.map(([, v]) => v)));
  const top = roundedTop(max);
  const y = valueAxis(root, top);
  const span = Math.max(1, to - from);
  const x = (/** @type {number} */ t) => MARGIN.left + ((t - from) / span) * PLOT_W;
  const ticks = svg("g", { class: "chart-axis chart-time", "aria-hidden": "true" });
  const step = timeStep(span);
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
    ticks.append(
      svg("line", { x1: x(t), x2: x(t), y1: MARGIN.top + PLOT_H, y2: MARGIN.top + PLOT_H + 5 }),
      svg("text", { x: x(t), y: HEIGHT - 10, "text-anchor": "middle" }, timeLabel(t)),
    );
  }
  root.append(ticks);
  series.forEach(({ name, points }, index) => {
    const group = svg("g", { class: `chart-series series-${index % 6}`, "data-series": name });
    const inside = points.filter(([t]) => t >= from && t <= to).sort((a, b) => a[0] - b[0]);
    if (inside.length > 1) {
      const coordinates = inside.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`);
      group.append(svg("polyline", { points: coordinates.join(" "), fill: "none" }));
    }
    const last = inside[inside.length - 1];
    if (last) group.append(svg("circle", { cx: x(last[0]), cy: y(last[1]), r: 4 }));
    root.append(group);
  });
  return root;
}

/**
 * A bar chart.
 * @param {object} chart
 * @param {{label: string, value: number}[]} chart.bars
 * @param {string} chart.title
 * @param {string} chart.description
 */
export function barChart({ bars, title, description }) {
  const root = frame(title, description, "chart-bars");
  const top = roundedTop(Math.max(0, ...bars.map((b) => b.value)));
  const y = valueAxis(root, top);
  const band = PLOT_W / Math.max(1, bars.length);
  const group = svg("g", { class: "chart-series series-0" });
  bars.forEach(({ label, value }, index) => {
    const left = MARGIN.left + index * band + band * 0.15;
    const width = band * 0.7;
    const height = MARGIN.top + PLOT_H - y(value);
    const bar = svg("rect", { x: left, y: y(value), width, height: Math.max(0, height) });
    bar.dataset.value = String(value);
    group.append(bar);
    const labels = svg("g", { class: "chart-axis", "aria-hidden": "true" });
    labels.append(
      svg("text", { x: left + width / 2, y: HEIGHT - 10, "text-anchor": "middle" }, label),
      svg("text", { x: left + width / 2, y: y(value) - 5, "text-anchor": "middle", class: "chart-value" }, String(value)),
    );
    root.append(labels);
  });
  root.append(group);
  return root;
}

/**
 * A small legend swatch (the series' line style) for an HTML legend.
 * @param {number} index  the series'
 */
export function swatch(index) {
  const root = svg("svg", { viewBox: "0 0 28 10", class: "chart-swatch", "aria-hidden": "true" });
  const group = svg("g", { class: `chart-series series-${index % 6}` });
  group.append(svg("polyline", { points: "1,5 27,5", fill: "none" }));
  root.append(group);
  return root;
}
