// Small DOM helpers. Text from people (names, reasons, chat, notices) only ever goes
// in through textContent: nothing here parses HTML.

/** The element with this id (a missing one is a template bug: fail loudly). */
export function byId(id) {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`missing element #${id}`);
  return element;
}

/** Set an element's text, touching the DOM (and live regions) only on a change. */
export function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

export function show(element, visible = true) {
  element.hidden = !visible;
}

/** A new element with a class and text (as text, never as markup). */
export function make(tag, { className = "", text = "", attrs = {} } = {}) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text) element.textContent = text;
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
  return element;
}

/** Replace a select's options: [{value, label}], keeping the choice when it is still there. */
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
   */
  constructor({ prefix = "view-", quiet = [] } = {}) {
    this.prefix = prefix;
    this.quiet = quiet;
    this.current = null;
    this.listeners = [];
  }

  show(name, { focus = true } = {}) {
    if (this.current === name) return false;
    const previous = this.current;
    this.current = name;
    for (const section of document.querySelectorAll("section.view")) {
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

  onChange(listener) {
    this.listeners.push(listener);
  }
}

/** Seconds as "m:ss" (or "h:mm:ss"). */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

/** A time of day for a timestamp in ms ("14:05"). */
export function timeOfDay(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
