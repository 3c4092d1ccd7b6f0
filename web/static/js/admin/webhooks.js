// @ts-check
// Webhooks: the endpoints the desk calls when events happen (docs/records.md, "Webhooks").
// Add one (its signing secret is shown once), see each one's deliveries by status and its
// latest attempts, remove one. GET/POST /api/v1/webhooks, DELETE /api/v1/webhooks/{id},
// GET /api/v1/webhooks/{id}/deliveries.

import { ApiError, messageOf, requestJson } from "../lib/api.js";
import { byId, make, setText, show } from "../lib/dom.js";
import { render, t } from "../lib/i18n.js";

/**
 * An endpoint as GET /api/v1/webhooks lists it.
 * @typedef {object} Endpoint
 * @property {string} id
 * @property {string} url
 * @property {string[]} events
 * @property {number} created_at
 * @property {Record<string, number>} [deliveries]
 * @property {string} [secret]  only in the answer to POST
 */

/**
 * One delivery and its attempts.
 * @typedef {object} Delivery
 * @property {string} id
 * @property {string} type
 * @property {string} status
 * @property {number} attempts
 * @property {string} last_error
 * @property {{at: number, status: number | null, error: string}[]} attempts_made
 */

export class WebhookAdmin {
  /**
   * @param {object} options
   * @param {string} options.token  the admin's bearer token
   * @param {(error: unknown) => boolean} options.onAuthError  true when it was handled
   */
  constructor({ token, onAuthError }) {
    this.token = token;
    this.onAuthError = onAuthError;
    /** @type {Endpoint[] | null} */
    this.endpoints = null;
    byId("webhook-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.add();
    });
    byId("webhooks-refresh").addEventListener("click", () => this.refresh());
  }

  /**
   * @template T
   * @param {string} method
   * @param {string} url
   * @param {unknown} [body]
   * @returns {Promise<T>}
   */
  api(method, url, body) {
    return requestJson(method, url, { body, token: this.token });
  }

  async add() {
    const error = byId("webhook-error");
    show(error, false);
    const url = byId("webhook-url", HTMLInputElement).value.trim();
    const events = [...document.querySelectorAll("#webhook-events input:checked")].map(
      (box) => /** @type {HTMLInputElement} */ (box).value,
    );
    if (!/^https?:\/\/\S+$/.test(url)) {
      setText(error, t("admin.webhooks.bad_url"));
      show(error, true);
      byId("webhook-url").focus();
      return;
    }
    if (!events.length) {
      setText(error, t("admin.webhooks.no_events"));
      show(error, true);
      return;
    }
    try {
      /** @type {Endpoint} */
      const added = await this.api("POST", "/api/v1/webhooks", { url, events });
      byId("webhook-secret", HTMLInputElement).value = added.secret || "";
      show(byId("webhook-added"), true);
      byId("webhook-secret").focus();
      await this.refresh();
    } catch (failure) {
      if (failure instanceof ApiError && this.onAuthError(failure)) return;
      setText(error, messageOf(failure));
      show(error, true);
    }
  }

  async refresh() {
    try {
      /** @type {{webhooks: Endpoint[]}} */
      const { webhooks } = await this.api("GET", "/api/v1/webhooks");
      this.endpoints = webhooks;
      this.draw(webhooks);
      render(byId("webhooks-status"), "admin.webhooks.count", { count: webhooks.length });
    } catch (error) {
      if (error instanceof ApiError && this.onAuthError(error)) return;
      render(byId("webhooks-status"), "admin.webhooks.list_failed", { message: messageOf(error) });
    }
  }

  /** The table again in the page's (new) language. */
  redraw() {
    if (this.endpoints) this.draw(this.endpoints);
  }

  /** @param {Endpoint[]} endpoints */
  draw(endpoints) {
    const body = byId("webhooks-table", HTMLTableElement).tBodies[0];
    body.replaceChildren(
      ...endpoints.map((endpoint) => {
        const row = make("tr");
        row.dataset.id = endpoint.id;
        const counts = endpoint.deliveries || {};
        const tally = ["delivered", "pending", "failed"]
          .map((status) => t(`admin.webhooks.${status}`, { count: counts[status] || 0 }))
          .join(", ");
        row.append(
          make("th", { text: endpoint.url, attrs: { scope: "row" } }),
          make("td", { text: endpoint.events.join(", ") }),
          make("td", { text: tally }),
        );
        const actions = make("td");
        const attempts = make("button", {
          className: "button button-quiet",
          text: t("admin.webhooks.show_attempts"),
          attrs: { type: "button", "aria-label": t("admin.webhooks.attempts_of", { url: endpoint.url }) },
        });
        attempts.addEventListener("click", () => this.showDeliveries(endpoint));
        const remove = make("button", {
          className: "button button-quiet",
          text: t("admin.webhooks.remove"),
          attrs: { type: "button", "aria-label": t("admin.webhooks.remove_label", { url: endpoint.url }) },
        });
        remove.addEventListener("click", () => this.remove(endpoint));
        actions.append(attempts, remove);
        row.append(actions);
        return row;
      }),
    );
  }

  /** @param {Endpoint} endpoint */
  async showDeliveries(endpoint) {
    const list = byId("webhook-deliveries");
    try {
      /** @type {{deliveries: Delivery[]}} */
      const { deliveries } = await this.api(
        "GET",
        `/api/v1/webhooks/${encodeURIComponent(endpoint.id)}/deliveries`,
      );
      setText(byId("webhook-deliveries-heading"), t("admin.webhooks.deliveries_of", { url: endpoint.url }));
      const items = deliveries.slice(0, 20).map((delivery) => {
        const tries = delivery.attempts_made
          .map((attempt) => (attempt.status === null ? attempt.error : String(attempt.status)))
          .join(" → ");
        return make("li", {
          text: `${delivery.type}: ${t(`admin.webhooks.status.${delivery.status}`)} (${tries || "—"})`,
        });
      });
      list.replaceChildren(...(items.length ? items : [make("li", { text: t("admin.webhooks.none_yet") })]));
      show(byId("webhook-deliveries-box"), true);
    } catch (error) {
      if (error instanceof ApiError && this.onAuthError(error)) return;
      render(byId("webhooks-status"), "admin.webhooks.list_failed", { message: messageOf(error) });
    }
  }

  /** @param {Endpoint} endpoint */
  async remove(endpoint) {
    try {
      await this.api("DELETE", `/api/v1/webhooks/${encodeURIComponent(endpoint.id)}`);
      show(byId("webhook-deliveries-box"), false);
      await this.refresh();
      render(byId("webhooks-status"), "admin.webhooks.removed", { url: endpoint.url });
    } catch (error) {
      if (error instanceof ApiError && this.onAuthError(error)) return;
      render(byId("webhooks-status"), "admin.webhooks.list_failed", { message: messageOf(error) });
    }
  }
}
