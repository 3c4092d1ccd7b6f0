// @ts-check
// Issuing and revoking links through the admin REST API (bearer token; nothing of
// it is kept by the browser beyond this tab's session storage). A new link can be
// copied, or sent by e-mail (./mail.js).

import { ApiError, messageOf, requestJson } from "../lib/api.js";
import { byId, fillSelect, make, setText, show } from "../lib/dom.js";
import { has, language, render, t } from "../lib/i18n.js";
import { MailInvites } from "./mail.js";

/**
 * A link as GET /api/v1/tokens lists it.
 * @typedef {object} Token
 * @property {string} jti
 * @property {string} type  agent, patient, desk, admin
 * @property {string} status  active, used, expired, revoked
 * @property {string} [label]
 * @property {string} subject
 * @property {string[]} [queues]
 * @property {number} issued_at  epoch seconds
 * @property {number} expires_at  epoch seconds
 * @property {number} [used_at]
 * @property {number | null} [revoked_at]
 */

/** @param {string} type */
function kindName(type) {
  return has(`admin.kind.${type}`) ? t(`admin.kind.${type}`) : type;
}

/**
 * What a link's status cell says: used, expired and revoked with when.
 * @param {Token} token
 */
function statusText(token) {
  if (token.status === "revoked") {
    return token.revoked_at
      ? t("admin.status.revoked_at", { when: when(token.revoked_at) })
      : t("admin.status.revoked");
  }
  if (token.status === "used") {
    return t("admin.status.used_at", { when: when(/** @type {number} */ (token.used_at)) });
  }
  if (token.status === "expired") {
    return t("admin.status.expired_at", { when: when(token.expires_at) });
  }
  return t("admin.status.active");
}

/** @param {number} seconds  epoch */
function when(seconds) {
  return new Date(seconds * 1000).toLocaleString(language(), {
    dateStyle: "short",
    timeStyle: "short",
  });
}

export class TokenAdmin {
  /**
   * @param {object} options
   * @param {string} options.token  the admin's bearer token
   * @param {(error: ApiError) => boolean} options.onAuthError  true when it was fatal
   */
  constructor({ token, onAuthError }) {
    this.token = token;
    this.onAuthError = onAuthError;
    byId("agent-token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.createAgent();
    });
    byId("invite-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.createInvite();
    });
    byId("copy-link").addEventListener("click", () => this.copy());
    this.mail = new MailInvites({ token, onAuthError });
    /** @type {Token[] | null} */
    this.tokens = null;
    byId("tokens-refresh").addEventListener("click", () => this.refresh());
  }

  /**
   * The admin API's answer, of the shape `T` the caller names.
   * @template [T=unknown]
   * @param {string} method
   * @param {string} url
   * @param {unknown} [body]
   * @returns {Promise<T>}
   */
  api(method, url, body) {
    return requestJson(method, url, { body, token: this.token });
  }

  /**
   * The desk's queue names fill the forms.
   * @param {string[]} names
   */
  setQueues(names) {
    const box = byId("agent-token-queues");
    if (box.dataset.queues === names.join()) return;
    box.dataset.queues = names.join();
    box.replaceChildren(
      ...names.map((name) => {
        const wrap = make("div", { className: "check" });
        const input = make("input", { attrs: { type: "checkbox", id: `agent-queue-${name}` } });
        input.value = name;
        input.checked = true;
        wrap.append(input, make("label", { text: name, attrs: { for: `agent-queue-${name}` } }));
        return wrap;
      }),
    );
    const options = names.map((name) => ({ value: name, label: name }));
    fillSelect(byId("invite-queue", HTMLSelectElement), options);
  }

  async createAgent() {
    const name = byId("agent-token-name", HTMLInputElement).value.trim();
    const queues = [
      .../** @type {NodeListOf<HTMLInputElement>} */ (
        byId("agent-token-queues").querySelectorAll("input:checked")
      ),
    ].map((input) => input.value);
    const error = byId("agent-token-error");
    show(error, false);
    if (!name || !queues.length) {
      setText(error, t(name ? "admin.agent_link.need_queue" : "admin.agent_link.need_name"));
      show(error, true);
      return;
    }
    const ttl = Number(byId("agent-token-expiry", HTMLSelectElement).value);
    const type = byId("agent-token-type", HTMLSelectElement).value === "supervisor" ? "supervisor" : "agent";
    const what = t(`admin.created.${type}`, { name });
    await this.create({ type, name, queues, ttl }, error, what);
  }

  async createInvite() {
    const type = byId("invite-type", HTMLSelectElement).value;
    const name = byId("invite-name", HTMLInputElement).value.trim();
    const queue = byId("invite-queue", HTMLSelectElement).value;
    /** @type {Record<string, string | number>} the POST /api/v1/tokens body */
    const body = {
      type,
      queue,
      reason: byId("invite-reason", HTMLInputElement).value.trim(),
      priority: byId("invite-priority", HTMLSelectElement).value,
      ttl: Number(byId("invite-expiry", HTMLSelectElement).value),
    };
    if (name) body.name = name;
    if (type === "desk") body.label = `desk link: ${queue}`;
    const what =
      type === "desk"
        ? t("admin.created.desk", { queue })
        : t("admin.created.invite", { name: name || t("admin.created.a_patient"), queue });
    await this.create(body, byId("invite-error"), what);
  }

  /**
   * Issue a link (POST /api/v1/tokens) and show it, or why not.
   * @param {Record<string, unknown>} body
   * @param {HTMLElement} errorElement
   * @param {string} what  the words for what was made
   */
  async create(body, errorElement, what) {
    show(errorElement, false);
    try {
      /** @type {{token: string, type: string, link: string}} */
      const issued = await this.api("POST", "/api/v1/tokens", body);
      setText(byId("created-what"), what);
      byId("created-link", HTMLInputElement).value = issued.link;
      setText(byId("copy-status"), "");
      await this.mail.offer(issued);
      show(byId("created"), true);
      byId("created-heading").focus();
      this.refresh();
    } catch (error) {
      if (error instanceof ApiError && this.onAuthError(error)) return;
      setText(errorElement, messageOf(error));
      show(errorElement, true);
    }
  }

  async copy() {
    const input = byId("created-link", HTMLInputElement);
    try {
      await navigator.clipboard.writeText(input.value);
      setText(byId("copy-status"), t("admin.created.copied"));
    } catch {
      input.select();
      setText(byId("copy-status"), t("admin.created.selected"));
    }
  }

  async refresh() {
    try {
      /** @type {{tokens: Token[]}} */
      const { tokens } = await this.api("GET", "/api/v1/tokens");
      this.tokens = tokens;
      this.draw(tokens);
      // render(): the count is said again in the page's language when it changes.
      render(byId("tokens-status"), tokens.length === 1 ? "admin.tokens.one" : "admin.tokens.many", {
        count: tokens.length,
      });
    } catch (error) {
      if (error instanceof ApiError && this.onAuthError(error)) return;
      render(byId("tokens-status"), "admin.tokens.list_failed", { message: messageOf(error) });
    }
  }

  /** The table again in the page's (new) language. */
  redraw() {
    if (this.tokens) this.draw(this.tokens);
  }

  /** @param {Token[]} tokens */
  draw(tokens) {
    const body = byId("tokens-table", HTMLTableElement).tBodies[0];
    body.replaceChildren(
      ...tokens.map((token) => {
        const ended = token.status !== "active" && token.status !== "used";
        const row = make("tr", { className: ended ? "is-revoked" : "" });
        row.dataset.jti = token.jti;
        const label = token.label || token.subject;
        row.append(
          make("th", { text: label, attrs: { scope: "row" } }),
          make("td", { text: kindName(token.type) }),
          make("td", { text: (token.queues || []).join(", ") }),
          make("td", { text: when(token.issued_at) }),
          make("td", { text: when(token.expires_at) }),
          make("td", { text: statusText(token) }),
        );
        const actions = make("td");
        if (!ended) {
          const button = make("button", {
            className: "button button-quiet",
            text: t("admin.tokens.revoke"),
            attrs: { type: "button", "aria-label": t("admin.tokens.revoke_label", { label }) },
          });
          button.addEventListener("click", () => this.revoke(token.jti, label));
          actions.append(button);
        }
        row.append(actions);
        return row;
      }),
    );
  }

  /**
   * @param {string} jti  the link's
   * @param {string} label  its name in the table
   */
  async revoke(jti, label) {
    try {
      await this.api("DELETE", `/api/v1/tokens/${encodeURIComponent(jti)}`);
      await this.refresh();
      render(byId("tokens-status"), "admin.tokens.revoked", { label });
    } catch (error) {
      if (error instanceof ApiError && this.onAuthError(error)) return;
      render(byId("tokens-status"), "admin.tokens.revoke_failed", { message: messageOf(error) });
    }
  }
}
