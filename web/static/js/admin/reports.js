// @ts-check
// Report downloads: sessions or events for a date range, as CSV or JSON
// (GET /api/v1/reports/{kind}?from=&to=&format=). The API wants the admin's bearer
// header, which a plain link cannot carry, so the page fetches the report and saves
// the response as a file through a temporary object URL.

import { ApiError, messageOf } from "../lib/api.js";
import { byId, make, setText } from "../lib/dom.js";
import { t } from "../lib/i18n.js";

const DAY_MS = 24 * 3600_000;

/**
 * A local date as YYYY-MM-DD (what <input type=date> holds).
 * @param {Date} date
 */
function isoDate(date) {
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export class ReportDownloads {
  /**
   * @param {object} options
   * @param {string} options.token  the admin's bearer token
   * @param {(error: unknown) => boolean} options.onAuthError  true when it was handled
   */
  constructor({ token, onAuthError }) {
    this.token = token;
    this.onAuthError = onAuthError;
    this.status = byId("report-status");
    const today = new Date();
    byId("report-to", HTMLInputElement).value = isoDate(today);
    byId("report-from", HTMLInputElement).value = isoDate(new Date(today.getTime() - 6 * DAY_MS));
    byId("report-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.download();
    });
  }

  async download() {
    const from = byId("report-from", HTMLInputElement).value;
    const to = byId("report-to", HTMLInputElement).value;
    const kind = byId("report-kind", HTMLSelectElement).value;
    const format = byId("report-format", HTMLSelectElement).value;
    if (!from || !to || from > to) {
      setText(this.status, t("admin.reports.bad_range"));
      byId("report-from").focus();
      return;
    }
    setText(this.status, t("admin.reports.preparing"));
    const query = new URLSearchParams({ from, to, format });
    let blob;
    try {
      blob = await this.fetchReport(`/api/v1/reports/${kind}?${query}`);
    } catch (error) {
      if (!this.onAuthError(error)) {
        setText(this.status, t("admin.reports.failed", { message: messageOf(error) }));
      }
      return;
    }
    const name = `videodesk-${kind}-${from}-to-${to}.${format}`;
    save(blob, name);
    setText(this.status, t("admin.reports.downloaded", { name }));
  }

  /**
   * @param {string} url
   * @returns {Promise<Blob>}
   */
  async fetchReport(url) {
    let response;
    try {
      response = await fetch(url, {
        headers: { Authorization: `Bearer ${this.token}` },
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, "network", t("admin.reports.unreachable"));
    }
    if (!response.ok) {
      let body = null;
      try {
        body = await response.json();
      } catch {
        body = null;
      }
      throw new ApiError(
        response.status,
        (body && body.error) || "error",
        (body && body.message) || response.statusText,
      );
    }
    return response.blob();
  }
}

/**
 * Save a blob as a file: a temporary link with `download`, clicked and removed.
 * @param {Blob} blob
 * @param {string} name
 */
function save(blob, name) {
  const href = URL.createObjectURL(blob);
  const link = make("a");
  link.href = href;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}
