// @ts-check
// The call view's "Photos and documents" panel (the patient's and the agent's pages):
// take a photo or choose a file to share, see it go (and arrive), and the files the
// other side shared: an image shown re-encoded, a PDF as a download, each with "Save".
// Words come from the page's catalogue under `prefix` ("files." for the patient,
// "agent.files." for the agent). lib/files.js moves the bytes.

import { byId, make, setText, show } from "./dom.js";
import { t } from "./i18n.js";
import { FILE_TYPES, FileShare, MAX_FILE_BYTES } from "./files.js";

/** @param {number} bytes */
export function sizeText(bytes) {
  return bytes >= 1024 * 1024
    ? `${(bytes / (1024 * 1024)).toFixed(1)} MB`
    : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

export class FilePanel {
  /**
   * @param {object} options
   * @param {string} options.prefix  the catalogue's keys
   * @param {(line: string) => void} options.announce  the chat line that says a file
   *   was shared (name, type, size: never its content)
   */
  constructor({ prefix, announce }) {
    this.prefix = prefix;
    this.announce = announce;
    this.share = new FileShare({
      onProgress: (direction, name, fraction) => this.progress(direction, name, fraction),
      onReceived: (file) => this.received(file),
      onSent: (name) => this.status("sent", { name }),
      onFailed: (direction, name, reason) => this.failed(direction, name, reason),
    });
    for (const id of ["file-photo", "file-pick"]) {
      const input = document.getElementById(id);
      if (!(input instanceof HTMLInputElement)) continue;
      input.accept = input.accept || FILE_TYPES.join(",");
      input.addEventListener("change", () => {
        const file = input.files && input.files[0];
        input.value = ""; // the same file may be chosen again
        if (file) this.send(file);
      });
      const button = document.querySelector(`[data-opens="${id}"]`);
      if (button) button.addEventListener("click", () => input.click());
    }
  }

  /** @param {File} file */
  async send(file) {
    this.status("sending", { name: file.name });
    try {
      await this.share.send(file);
      this.announce(
        t(`${this.prefix}shared_line`, { name: file.name, type: file.type, size: sizeText(file.size) }),
      );
    } catch {
      // said by failed()
    }
  }

  /**
   * @param {string} key
   * @param {Record<string, string>} [params]
   */
  status(key, params = {}) {
    setText(byId("file-status"), t(`${this.prefix}${key}`, params));
    if (key !== "sending" && key !== "receiving") show(byId("file-progress"), false);
  }

  /**
   * @param {"send" | "receive"} direction
   * @param {string} name
   * @param {number} fraction
   */
  progress(direction, name, fraction) {
    const bar = byId("file-progress", HTMLProgressElement);
    show(bar, fraction < 1);
    bar.value = Math.round(fraction * 100);
    bar.setAttribute("aria-label", t(`${this.prefix}${direction === "send" ? "sending" : "receiving"}`, { name }));
    if (direction === "receive" && fraction < 1 && bar.value % 25 === 0) this.status("receiving", { name });
  }

  /**
   * @param {"send" | "receive"} direction
   * @param {string} name
   * @param {string} reason
   */
  failed(direction, name, reason) {
    const why = t(`${this.prefix}reason.${reason}`, { limit: sizeText(MAX_FILE_BYTES) });
    const key = direction === "send" ? "not_sent" : "not_received";
    const status = byId("file-status");
    setText(status, t(`${this.prefix}${key}`, { name, why }));
    status.dataset.state = "error";
    show(byId("file-progress"), false);
  }

  /** @param {import("./files.js").SharedFile} file */
  received(file) {
    byId("file-status").dataset.state = "";
    this.status("received", { name: file.name });
    const item = make("li", { className: "shared-file" });
    item.dataset.sha256 = file.sha256;
    item.dataset.size = String(file.size);
    if (file.preview) {
      const image = make("img", { attrs: { src: file.preview, alt: t(`${this.prefix}image_alt`, { name: file.name }) } });
      item.append(image);
    }
    const meta = make("p", { className: "shared-file-meta", text: `${file.name} · ${sizeText(file.size)}` });
    const save = make("a", { className: "button", text: t(`${this.prefix}save`) });
    save.href = URL.createObjectURL(file.blob); // the bytes as sent, to keep
    save.download = file.name;
    save.setAttribute("aria-label", t(`${this.prefix}save_name`, { name: file.name }));
    item.append(meta, save);
    byId("file-list").append(item);
  }

  /** The call is over: nothing of it stays on the page. */
  close() {
    this.share.close();
    for (const link of byId("file-list").querySelectorAll("a[href^='blob:']")) {
      URL.revokeObjectURL(/** @type {HTMLAnchorElement} */ (link).href);
    }
    byId("file-list").replaceChildren();
    setText(byId("file-status"), "");
    show(byId("file-progress"), false);
  }
}
