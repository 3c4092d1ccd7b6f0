// @ts-check
// The page's session. A link carries its token in the URL fragment (never sent to
// the server by the browser); the page takes it out of the address bar at once and
// exchanges it for an HttpOnly session cookie. A refresh has no fragment: the cookie
// resumes the session.

import { requestJson } from "./api.js";

/**
 * The token in "#token=…", removed from the address bar (and history entry).
 * @returns {string | null}
 */
export function takeFragmentToken() {
  const fragment = window.location.hash.slice(1);
  if (!fragment) return null;
  const token = new URLSearchParams(fragment).get("token");
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  return token || null;
}

/** Exchange a token for a session cookie, or resume the cookie's session of `role`
 * (each role has its own cookie, so an agent and a patient can share a browser).
 * @param {string | null} token
 * @param {string} role
 * @returns {Promise<import("./protocol.js").Session>}
 */
export async function openSession(token, role) {
  /** @type {{session: import("./protocol.js").Session}} */
  const reply = token
    ? await requestJson("POST", "/api/v1/session", { body: { token } })
    : await requestJson("GET", `/api/v1/session?as=${role}`);
  return reply.session;
}
