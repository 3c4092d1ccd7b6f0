// @ts-check
// Sending a new link by e-mail from the "Link created" panel: the desk writes and
// sends the message in the background (POST /api/v1/mail/invitations); this module
// polls its status and says Sending…, Sent or why not. Shown only when the desk says
// e-mail is set up (GET /api/v1/mail). The address typed is kept in this page only.

import { ApiError, messageOf, requestJson } from "../lib/api.js";
import { byId, setText, show } from "../lib/dom.js";
import { t } from "../lib/i18n.js";

const POLL_MS = 1000;
const POLLS = 90; // the desk bounds a send well within this

/** Roughly one address: the desk checks it properly and says what is wrong. */
const ADDRESS = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>"]+$/;

const wait = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class MailInvites {
  /**
   * @param {object} options
   * @param {string} options.token  the admin's bearer token
   * @param {(error: ApiError) => boolean} options.onAuthError  true when it was fatal
   */
  constructor({ token, onAuthError }) {
    this.token = token;
    this.onAuthError = onAuthError;
    /** @type {boolean | null} whether the desk can send e-mail (null: not asked yet) */
    this.configured = null;
    /** @type {string | null} the link's token, while one is shown */
    this.linkToken = null;
    // A new link (or a new send) makes older polls stop writing to the page.
    this.generation = 0;
    byId("mail-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    byId("mail-to").addEventListener("input", () => this.invalid(false));
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
   * A link was created: offer to send it, when the desk can and the link is one the
   * desk sends (agent and patient links; never an admin link).
   * @param {{token: string, type: string}} issued  the answer of POST /api/v1/tokens
   */
  async offer(issued) {
    this.generation += 1;
    this.linkToken = issued.token;
    byId("mail-to", HTMLInputElement).value = "";
    this.invalid(false);
    this.status("", "");
    byId("mail-send", HTMLButtonElement).disabled = false;
    show(byId("mail-form"), issued.type !== "admin" && (await this.canSend()));
  }

  async canSend() {
    if (this.configured === null) {
      try {
        /** @type {{configured: boolean}} */
        const { configured } = await this.api("GET", "/api/v1/mail");
        this.configured = Boolean(configured);
      } catch (error) {
        if (error instanceof ApiError) this.onAuthError(error);
        return false; // asked again with the next link
      }
    }
    return this.configured;
  }

  async send() {
    const input = byId("mail-to", HTMLInputElement);
    const to = input.value.trim();
    if (!ADDRESS.test(to)) {
      this.invalid(true);
      this.status("failed", t("admin.mail.one_address"));
      input.focus();
      return;
    }
    const generation = ++this.generation;
    const button = byId("mail-send", HTMLButtonElement);
    button.disabled = true;
    this.status("sending", t("admin.mail.sending"));
    try {
      /** @type {{id: string, status: string}} */
      const queued = await this.api("POST", "/api/v1/mail/invitations", {
        token: this.linkToken,
        to,
      });
      await this.follow(queued.id, to, generation);
    } catch (error) {
      if (error instanceof ApiError && this.onAuthError(error)) return;
      if (generation !== this.generation) return;
      if (error instanceof ApiError && error.code === "invalid_address") this.invalid(true);
      this.status("failed", t("admin.mail.failed", { reason: messageOf(error) }));
    } finally {
      if (generation === this.generation) button.disabled = false;
    }
  }

  /**
   * Poll the e-mail's status until it is sent or failed (or the polls run out).
   * @param {string} id  the e-mail's
   * @param {string} to
   * @param {number} generation  the send's (a newer one stops this)
   */
  async follow(id, to, generation) {
    for (let poll = 0; poll < POLLS; poll += 1) {
      await wait(POLL_MS);
      if (generation !== this.generation) return;
      /** @type {{status: string, reason?: string}} */
      let mail;
      try {
        mail = await this.api("GET", `/api/v1/mail/invitations/${encodeURIComponent(id)}`);
      } catch (error) {
        if (error instanceof ApiError && this.onAuthError(error)) return;
        continue; // a lost poll says nothing about the e-mail: ask again
      }
      if (generation !== this.generation) return;
      if (mail.status === "sent") {
        this.status("sent", t("admin.mail.sent", { to }));
        return;
      }
      if (mail.status === "failed") {
        const reason = mail.reason || t("admin.mail.refused");
        this.status("failed", t("admin.mail.failed", { reason }));
        return;
      }
    }
    this.status("failed", t("admin.mail.no_answer"));
  }

  /**
   * @param {string} state  "sending", "sent", "failed" or "" (none)
   * @param {string} text
   */
  status(state, text) {
    const line = byId("mail-status");
    line.dataset.state = state;
    setText(line, text);
  }

  /** @param {boolean} yes */
  invalid(yes) {
    const input = byId("mail-to");
    if (yes) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}
