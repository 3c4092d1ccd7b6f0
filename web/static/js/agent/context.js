// What an agent sees of a patient (from agent.offer and call.started): first name,
// reason, language, wait, needs, flags, hand-off note. All of it is text from people
// or the desk, so every value goes in with textContent.

import { clock, make } from "../lib/dom.js";

const FLAGS = {
  urgent: "Urgent",
  returning: "Returning after a dropped call or missed offer",
  callback: "Call-back",
  transferred: "Transferred",
};
const NEEDS = {
  interpreter: "Interpreter",
  caregiver: "A caregiver joins",
  accessibility: "Accessibility support",
};
const LANGUAGES = { en: "English", es: "Spanish" };

export function languageName(code) {
  return LANGUAGES[code] || code || "—";
}

export function flagText(flag) {
  return FLAGS[flag] || flag;
}

/**
 * Fill a <dl> with the patient's context. `waitedAt` is when waited_s was measured
 * (ms); the wait is shown as of now.
 */
export function renderContext(list, patient, waitedAt = Date.now()) {
  const waited = (patient.waited_s || 0) + Math.max(0, (Date.now() - waitedAt) / 1000);
  const rows = [
    ["First name", patient.name || "—"],
    ["Reason", patient.reason || "—"],
    ["Language", languageName(patient.language)],
    ["Waited", clock(waited)],
  ];
  if (patient.needs && patient.needs.length) {
    rows.push(["Needs", patient.needs.map((need) => NEEDS[need] || need).join(", ")]);
  }
  if (patient.flags && patient.flags.length) {
    rows.push(["Flags", patient.flags.map(flagText).join(", ")]);
  }
  if (patient.callback && patient.callback.mode) {
    const how =
      patient.callback.mode === "phone"
        ? `Phone ${patient.callback.phone || "(no number)"}`
        : "Ring the patient's page";
    rows.push(["Call back", how]);
  }
  if (patient.handoff_note) rows.push(["Hand-off note", patient.handoff_note]);
  list.replaceChildren();
  for (const [term, value] of rows) {
    const row = make("div", { className: "context-row" });
    row.append(make("dt", { text: term }), make("dd", { text: String(value) }));
    list.append(row);
  }
  list.classList.toggle("is-urgent", Boolean(patient.flags && patient.flags.includes("urgent")));
}
