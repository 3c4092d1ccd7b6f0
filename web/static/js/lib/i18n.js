// @ts-check
// Patient-facing text: message catalogues in /static/i18n/<lang>.json, picked from
// navigator.languages, switchable on the page. The template is rendered in English;
// elements marked data-i18n="key" (text) or data-i18n-label="key" (aria-label) are
// re-filled when the language changes. Dynamic text goes through t().
// The staff consoles name their own catalogue (<html data-catalogue="staff">: files in
// /static/i18n/staff/), so the patient page never downloads staff text.

export const LANGUAGES = ["en", "es"];
const STORAGE_KEY = "vd.language";

/** @typedef {Record<string, string | number>} Params  a message's {placeholders} */

/** @type {Record<string, string>} the catalogue: key → message */
let messages = {};
let current = "en";
/** @type {((lang: string) => void)[]} */
const listeners = [];
// Elements whose text was set from code: [key, params], redrawn on a language change.
/** @type {Map<HTMLElement, [string, Params]>} */
const rendered = new Map();

/** The reader's language: their earlier choice on this tab, else the browser's list. */
export function preferredLanguage() {
  const saved = sessionStorage.getItem(STORAGE_KEY);
  if (saved && LANGUAGES.includes(saved)) return saved;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

export function language() {
  return current;
}

/**
 * Load a catalogue and re-translate the page (sets <html lang>).
 * @param {string} lang
 * @param {{remember?: boolean}} [options]  keep the choice for this tab
 */
export async function setLanguage(lang, { remember = false } = {}) {
  if (!LANGUAGES.includes(lang)) lang = "en";
  const folder = document.documentElement.dataset.catalogue;
  const url = folder ? `/static/i18n/${folder}/${lang}.json` : `/static/i18n/${lang}.json`;
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`catalogue ${lang}: ${response.status}`);
  messages = await response.json();
  current = lang;
  if (remember) sessionStorage.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = lang;
  translate(document);
  for (const [element, [key, params]] of rendered) {
    if (element.isConnected) element.textContent = t(key, params);
    else rendered.delete(element); // removed from the page since
  }
  // A page names its title's key (<html data-title-key>); an empty key keeps the title
  // (a help article is titled by the article).
  const titleKey = document.documentElement.dataset.titleKey ?? "page.title";
  if (titleKey) document.title = `${t(titleKey)} · videodesk`;
  for (const listener of listeners) listener(lang);
}

/**
 * A message with {placeholders} filled in (values are text, shown with textContent).
 * @param {string} key
 * @param {Params} [params]
 * @returns {string}
 */
export function t(key, params = {}) {
  const template = Object.hasOwn(messages, key) ? messages[key] : key;
  return template.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}

/**
 * Show a catalogue message in an element (textContent), kept in the reader's language
 * when it changes; key null empties the element. The DOM is touched only when the text
 * changes, so a live region announces changes, not repeats.
 * @param {HTMLElement} element
 * @param {string | null} key
 * @param {Params} [params]
 */
export function render(element, key, params = {}) {
  delete element.dataset.i18n;
  if (key === null) {
    rendered.delete(element);
    if (element.textContent !== "") element.textContent = "";
    return;
  }
  rendered.set(element, [key, params]);
  const text = t(key, params);
  if (element.textContent !== text) element.textContent = text;
}

/**
 * A catalogue message without parameters for an element made from code: marked
 * data-i18n, so translate() re-fills it on a language change (and nothing holds on to
 * the element once it leaves the page).
 * @template {HTMLElement} E
 * @param {E} element
 * @param {string} key
 * @returns {E}
 */
export function label(element, key) {
  delete element.dataset.i18nLabel;
  element.dataset.i18n = key;
  element.textContent = t(key);
  return element;
}

/** @param {string} key */
export function has(key) {
  return Object.hasOwn(messages, key);
}

/** @param {Document | HTMLElement} root */
export function translate(root) {
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(/** @type {HTMLElement} */ (element).dataset.i18n ?? "");
  }
  for (const element of root.querySelectorAll("[data-i18n-label]")) {
    element.setAttribute("aria-label", t(/** @type {HTMLElement} */ (element).dataset.i18nLabel ?? ""));
  }
}

/**
 * Called after every language change (to redraw text set from code).
 * @param {(lang: string) => void} listener
 */
export function onLanguageChange(listener) {
  listeners.push(listener);
}

/**
 * A page's start: the reader's language (the page stays in English, as rendered, when
 * its catalogue cannot be read), and `select` as the page's language switch.
 * @param {HTMLSelectElement} select
 */
export async function startLanguage(select) {
  try {
    await setLanguage(preferredLanguage());
  } catch {
    // The page is rendered in English already.
  }
  bindSwitch(select);
}

/**
 * Wire a <select> as the page's language switch.
 * @param {HTMLSelectElement} select
 */
export function bindSwitch(select) {
  select.value = current;
  select.addEventListener("change", () => {
    setLanguage(select.value, { remember: true }).catch(() => {
      select.value = current;
    });
  });
  onLanguageChange((lang) => {
    select.value = lang;
  });
}
