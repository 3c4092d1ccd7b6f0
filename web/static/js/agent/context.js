// @ts-check
// What an agent sees of a patient (from agent.offer and call.started): first name,
// reason, language, wait, needs, flags, hand-off note. All of it is text from people
// or the desk, so every value goes in with textContent; the labels come from the
// staff catalogue.

import { clock, make } from "../lib/dom.js";
import { has, t } from "../lib/i18n.js";

/** @typedef {import("../lib/protocol.js").PatientContext} PatientContext */

/**
 * A catalogue message for a code (`<prefix>.<code>`), or the code when there is none.
 * @param {string} prefix
 * @param {string} code
 */
function named(prefix, code) {
  return has(`${prefix}.${code}`) ? t(`${prefix}.${code}`) : code;
}

/** @param {string | undefined} code  "": not given */
export function languageName(code) {
  return code ? named("agent.language", code) : "—";
}

/** @param {string} flag */
export function flagText(flag) {
  return named("agent.flag", flag);
}

/**
 * Fill a <dl> with the patient's context. `waitedAt` is when waited_s was measured
 * (ms); the wait is shown as of now.
 * @param {HTMLElement} list  a <dl>
 * @param {PatientContext} patient
 * @param {number} [waitedAt]
 */
export function renderContext(list, patient, waitedAt = Date.now()) {
  const waited = (patient.waited_s || 0) + Math.max(0, (Date.now() - waitedAt) / 1000);
  /** @type {[string, string][]} */
  const rows = [];
  if (patient.emergency_words && patient.emergency_words.length) {
    rows.push([
      t("agent.flag.emergency"),
      t("agent.context.said", { words: patient.emergency_words.join(", ") }),
    ]);
  }
  rows.push(
    [t("agent.context.name"), patient.name || "—"],
    [t("agent.context.reason"), patient.reason || "—"],
    [t("agent.context.language"), languageName(patient.language)],
    [t("agent.context.waited"), clock(waited)],
  );
  if (patient.needs && patient.needs.length) {
    const needs = patient.needs.map((need) => named("agent.need", need));
    rows.push([t("agent.context.needs"), needs.join(", ")]);
  }
  if (patient.flags && patient.flags.length) {
    rows.push([t("agent.context.flags"), patient.flags.map(flagText).join(", ")]);
  }
  if (patient.callback && patient.callback.mode) {
    const how =
      patient.callback.mode === "phone"
        ? t("agent.context.phone", { phone: patient.callback.phone || t("agent.context.no_number") })
        : t("agent.context.ring_page");
    rows.push([t("agent.context.call_back"), how]);
  }
  if (patient.handoff_note) rows.push([t("agent.context.handoff"), patient.handoff_note]);
  list.replaceChildren();
  for (const [term, value] of rows) {
    const row = make("div", { className: "context-row" });
    row.append(make("dt", { text: term }), make("dd", { text: String(value) }));
    list.append(row);
  }
  const flags = patient.flags || [];
  list.classList.toggle("is-urgent", flags.includes("urgent") || flags.includes("emergency"));
  const first = list.firstElementChild;
  if (first && patient.emergency_words && patient.emergency_words.length) {
    first.classList.add("context-emergency");
  }
}
