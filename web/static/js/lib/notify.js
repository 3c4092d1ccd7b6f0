// @ts-check
// A desktop notification for news that must reach a person whose tab may be in the
// background (an offer to an agent, an agent ringing a patient's page): only when the
// person allowed notifications; a click brings the tab forward and focuses `focus`.

import { byId } from "./dom.js";

/**
 * @param {string} title
 * @param {object} options
 * @param {string} options.body
 * @param {string} options.tag  one notification of the kind at a time
 * @param {string} options.focus  the id of the element a click focuses
 * @returns {Notification | null}  null: not allowed (or not possible here)
 */
export function notify(title, { body, tag, focus }) {
  if (!("Notification" in window) || Notification.permission !== "granted") return null;
  try {
    const notification = new Notification(title, { body, tag, requireInteraction: true });
    notification.addEventListener("click", () => {
      window.focus();
      byId(focus).focus();
    });
    return notification;
  } catch {
    // Some browsers only allow notifications from a service worker.
    return null;
  }
}
