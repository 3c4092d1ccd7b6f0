// @ts-check
// The queues an agent serves (agent.queues): how many wait, the oldest wait, and
// who is waiting (first name and reason, as text).

import { byId, clock, make } from "../lib/dom.js";
import { t } from "../lib/i18n.js";
import { flagText, languageName } from "./context.js";

/** @type {import("../lib/protocol.js").QueueSummary[] | null} */
let shown = null;

/**
 * Draw the queues (again with the last ones, after a language change, when none given).
 * @param {import("../lib/protocol.js").QueueSummary[] | null} [queues]
 */
export function renderQueues(queues = shown) {
  if (queues === null) return;
  shown = queues;
  const list = byId("queue-list");
  list.replaceChildren();
  if (!queues.length) {
    list.append(make("p", { className: "hint", text: t("agent.queues.none") }));
    return;
  }
  for (const queue of queues) {
    const section = make("section", { className: "queue" });
    section.dataset.queue = queue.name;
    section.append(make("h3", { text: queue.name }));
    const summary =
      queue.waiting === 0
        ? t("agent.queues.nobody")
        : t("agent.queues.summary", {
            count: queue.waiting,
            oldest: clock(queue.oldest_wait_s || 0),
          });
    section.append(make("p", { className: "queue-summary", text: summary }));
    if (queue.patients && queue.patients.length) {
      const patients = make("ol", { className: "queue-patients" });
      for (const patient of queue.patients) {
        const item = make("li");
        item.append(make("span", { className: "queue-patient-name", text: patient.name || "—" }));
        if (patient.reason) item.append(" — ", make("span", { text: patient.reason }));
        const details = [clock(patient.waited_s || 0)];
        if (patient.language) details.push(languageName(patient.language));
        for (const flag of patient.flags || []) details.push(flagText(flag));
        item.append(make("span", { className: "queue-patient-meta", text: ` (${details.join(", ")})` }));
        patients.append(item);
      }
      section.append(patients);
    }
    list.append(section);
  }
}
