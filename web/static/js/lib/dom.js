// @ts-check
// Small DOM helpers. Text from people (names, reasons, chat, notices) only ever goes
// in through textContent: nothing here parses HTML.

/**
 * The element with this id (a missing one is a template bug: fail loudly). With a
 * `kind` (HTMLInputElement, HTMLSelectElement, …) it is checked to be one, and typed so.
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @param {{new (): T}} [kind]
 * @returns {T}
 */
export function byId(id, kind) {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`missing element #${id}`);
  if (kind && !(element instanceof kind)) throw new Error(`#${id} is not a ${kind.name}`);
  return /** @type {T} */ (element);
}

/**
 * Set an element's text, touching the DOM (and live regions) only on a change.
 * @param {Element} element
 * @param {string} text
 */
export function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/**
 * @param {HTMLElement} element
 * @param {boolean} [visible]
 */
export function show(element, visible = true) {
  element.hidden = !visible;
}

/**
 * A new element with a class and text (as text, never as markup).
 * @template {string} K
 * @param {K} tag
 * @param {{className?: string, text?: string, attrs?: Record<string, string>}} [options]
 * @returns {K extends keyof HTMLElementTagNameMap ? HTMLElementTagNameMap[K] : HTMLElement}
 */
export function make(tag, { className = "", text = "", attrs = {} } = {}) {
  const element =
    /** @type {K extends keyof HTMLElementTagNameMap ? HTMLElementTagNameMap[K] : HTMLElement} */ (
      document.createElement(tag)
    );
  if (className) element.className = className;
  if (text) element.textContent = text;
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
  return element;
}

/** @typedef {{value: string, label: string}} Choice  an <option>'s value and text */

/**
 * Replace a select's options: [{value, label}], keeping the choice when it is still there.
 * @param {HTMLSelectElement} select
 * @param {Choice[]} options
 * @param {string} [chosen]
 */
export function fillSelect(select, options, chosen = select.value) {
  select.replaceChildren(
    ...options.map(({ value, label }) => {
      const option = make("option", { text: label });
      option.value = value;
      return option;
    }),
  );
  if (options.some((o) => o.value === chosen)) select.value = chosen;
}

/**
 * Switches between the page's views (sections with class "view"): one is shown at a
 * time; on a change, focus moves to the new view's heading so a screen reader reads
 * where the person is now.
 */
export class Views {
  /**
   * @param {object} [options]
   * @param {string[]} [options.quiet]  views whose replacement does not move focus (a
   *   loading view: the first real view is where the page starts, with the skip link)
   * @param {string} [options.prefix]  the sections' ids are <prefix><name>
   */
  constructor({ prefix = "view-", quiet = [] } = {}) {
    this.prefix = prefix;
    this.quiet = quiet;
    /** @type {string | null} */
    this.current = null;
    /** @type {((name: string, previous: string | null) => void)[]} */
    this.listeners = [];
  }

  /**
   * Show one view (false when it is shown already).
   * @param {string} name
   * @param {{focus?: boolean}} [options]  move focus to its heading (the default)
   * @returns {boolean}
   */
  show(name, { focus = true } = {}) {
    if (this.current === name) return false;
    const previous = this.current;
    this.current = name;
    for (const section of /** @type {NodeListOf<HTMLElement>} */ (
      document.querySelectorAll("section.view")
    )) {
      section.hidden = section.id !== this.prefix + name;
    }
    if (previous !== null) window.scrollTo(0, 0);
    if (focus && previous !== null && !this.quiet.includes(previous)) {
      const heading = byId(this.prefix + name).querySelector("h1");
      if (heading) heading.focus({ preventScroll: true });
    }
    for (const listener of this.listeners) listener(name, previous);
    return true;
  }

  /** @param {(name: string, previous: string | null) => void} listener */
  onChange(listener) {
    this.listeners.push(listener);
  }
}

/**
 * Seconds as "m:ss" (or "h:mm:ss").
 * @param {number} seconds
 */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

/**
 * A time of day for a timestamp in ms ("14:05").
 * @param {number} ms
 */
export function timeOfDay(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
