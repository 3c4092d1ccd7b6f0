// @ts-check
// Photos and documents shared in a call, peer to peer over the call's RTCDataChannel
// ("files", made by the offering side with the connection: lib/peer.js). Nothing goes
// through the desk: it only sees the chat line that says a file was shared (its name,
// type and size; web/static/js/lib/call-view.js sends it).
//
// On the channel, one transfer at a time each way:
//   {kind: "file", id, name, type, size}   then the bytes in binary chunks, then
//   {kind: "end", id, sha256}              the receiver answers
//   {kind: "received", id} or {kind: "refused", id, reason}
// Both ends check the type (JPEG, PNG, WebP or PDF, by its first bytes too) and the size
// (≤ 10 MB); the receiver also checks the SHA-256 of what arrived. An image is shown
// re-encoded (drawn to a canvas and saved again: whatever else the file held is not
// rendered); a PDF is only offered for download, never opened in the page. "Save" gives
// back the original bytes.

export const MAX_FILE_BYTES = 10 * 1024 * 1024;
const CHUNK_BYTES = 16 * 1024;
const HIGH_WATER_BYTES = 1024 * 1024; // pause sending above this much buffered
const NAME_CHARS = 120;

/**
 * The types a call accepts, with the bytes each kind of file has where (offset, bytes).
 * @type {Record<string, [number, number[]][]>}
 */
const SIGNATURES = {
  "image/jpeg": [[0, [0xff, 0xd8, 0xff]]],
  "image/png": [[0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]]],
  "image/webp": [
    [0, [0x52, 0x49, 0x46, 0x46]],
    [8, [0x57, 0x45, 0x42, 0x50]],
  ],
  "application/pdf": [[0, [0x25, 0x50, 0x44, 0x46, 0x2d]]],
};
export const FILE_TYPES = Object.keys(SIGNATURES);

/**
 * Why a file was not shared: too_large, wrong_type, corrupt (it did not arrive whole),
 * closed (the connection went), busy (another file is on its way).
 */
export class FileProblem extends Error {
  /** @param {string} reason */
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

/**
 * @typedef {object} SharedFile
 * @property {string} id
 * @property {string} name
 * @property {string} type
 * @property {number} size
 * @property {Blob} blob  the bytes as they arrived
 * @property {string} sha256  hex
 * @property {string} [preview]  an object URL of the re-encoded image (images only)
 */

/**
 * @typedef {object} Incoming
 * @property {string} id
 * @property {string} name
 * @property {string} type
 * @property {number} size
 * @property {ArrayBuffer[]} chunks
 * @property {number} received
 * @property {boolean} refused
 */

/**
 * Whether these first bytes are what a file of this type starts with.
 * @param {string} type
 * @param {Uint8Array} head
 */
export function looksLike(type, head) {
  if (!Object.hasOwn(SIGNATURES, type)) return false;
  const signature = SIGNATURES[type];
  return signature.every(([offset, bytes]) => bytes.every((b, i) => head[offset + i] === b));
}

/**
 * What is wrong with sharing a file of this type and size ("" when nothing).
 * @param {string} type
 * @param {number} size
 */
export function problemWith(type, size) {
  if (!FILE_TYPES.includes(type)) return "wrong_type";
  if (size <= 0 || size > MAX_FILE_BYTES) return "too_large";
  return "";
}

/** @param {ArrayBuffer | Blob} data */
async function sha256(data) {
  const buffer = data instanceof Blob ? await data.arrayBuffer() : data;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The image drawn afresh: a PNG of its pixels only (no metadata, nothing else the file
 * held), or null when it does not decode.
 * @param {Blob} blob
 * @returns {Promise<Blob | null>}
 */
async function reencode(blob) {
  try {
    const bitmap = await createImageBitmap(blob);
    const canvas = document.createElement("canvas");
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const context = canvas.getContext("2d");
    if (!context) return null;
    context.drawImage(bitmap, 0, 0);
    bitmap.close();
    return await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  } catch {
    return null;
  }
}

/** @param {string} name  a file's name, as a person sees it (no folders, short) */
export function cleanName(name) {
  const base = String(name || "").split(/[\\/]/).pop() || "";
  const printable = [...base].filter((c) => c >= " " && c !== "\u007f").join("");
  return printable.slice(0, NAME_CHARS) || "file";
}

export class FileShare {
  /**
   * @param {object} options
   * @param {(direction: "send" | "receive", name: string, fraction: number) => void} options.onProgress
   * @param {(file: SharedFile) => void} options.onReceived  a file arrived whole
   * @param {(name: string) => void} options.onSent  the other side has it
   * @param {(direction: "send" | "receive", name: string, reason: string) => void} options.onFailed
   */
  constructor({ onProgress, onReceived, onSent, onFailed }) {
    this.onProgress = onProgress;
    this.onReceived = onReceived;
    this.onSent = onSent;
    this.onFailed = onFailed;
    /** @type {RTCDataChannel | null} */
    this.channel = null;
    /** @type {Incoming | null} */
    this.incoming = null;
    /** @type {{id: string, name: string, settle: (reason: string) => void} | null} */
    this.outgoing = null;
    /** @type {SharedFile[]} */
    this.received = [];
    this.count = 0;
  }

  /** @param {RTCDataChannel} channel  the call's "files" channel (a new one: a new call) */
  attach(channel) {
    this.fail("closed");
    this.channel = channel;
    channel.binaryType = "arraybuffer";
    channel.bufferedAmountLowThreshold = HIGH_WATER_BYTES / 2;
    channel.addEventListener("message", (event) => this.message(event.data));
    channel.addEventListener("close", () => {
      if (this.channel === channel) this.fail("closed");
    });
  }

  get ready() {
    return this.channel !== null && this.channel.readyState === "open";
  }

  /**
   * Share a file: checked here first, then sent; resolves once the other side has it.
   * @param {File} file
   */
  async send(file) {
    const name = cleanName(file.name);
    const type = file.type;
    let reason = problemWith(type, file.size);
    if (!reason && !looksLike(type, new Uint8Array(await file.slice(0, 16).arrayBuffer()))) {
      reason = "wrong_type";
    }
    if (!reason && this.outgoing) reason = "busy";
    if (!reason && !this.ready) reason = "closed";
    if (reason) {
      this.onFailed("send", name, reason);
      throw new FileProblem(reason);
    }
    const channel = /** @type {RTCDataChannel} */ (this.channel);
    const id = `f${++this.count}`;
    /** @type {Promise<string>} */
    const settled = new Promise((resolve) => {
      this.outgoing = { id, name, settle: resolve };
    });
    const bytes = await file.arrayBuffer();
    try {
      channel.send(JSON.stringify({ kind: "file", id, name, type, size: bytes.byteLength }));
      for (let at = 0; at < bytes.byteLength; at += CHUNK_BYTES) {
        if (!this.outgoing || this.outgoing.id !== id) break; // refused or closed meanwhile
        if (channel.bufferedAmount > HIGH_WATER_BYTES) await drained(channel);
        channel.send(bytes.slice(at, at + CHUNK_BYTES));
        this.onProgress("send", name, Math.min(1, (at + CHUNK_BYTES) / bytes.byteLength));
      }
      if (this.outgoing && this.outgoing.id === id) {
        channel.send(JSON.stringify({ kind: "end", id, sha256: await sha256(bytes) }));
      }
    } catch {
      this.fail("closed");
    }
    const outcome = await settled;
    if (outcome) {
      this.onFailed("send", name, outcome);
      throw new FileProblem(outcome);
    }
    this.onSent(name);
  }

  /** @param {string | ArrayBuffer} data */
  message(data) {
    if (typeof data !== "string") {
      this.chunk(data);
      return;
    }
    /** @type {Record<string, unknown>} */
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!message || typeof message !== "object") return;
    const id = String(message.id || "");
    if (message.kind === "file") this.begin(id, message);
    else if (message.kind === "end") this.finish(id, String(message.sha256 || ""));
    else if (message.kind === "received" && this.outgoing && this.outgoing.id === id) {
      this.settle("");
    } else if (message.kind === "refused" && this.outgoing && this.outgoing.id === id) {
      this.settle(String(message.reason || "refused"));
    }
  }

  /**
   * @param {string} id
   * @param {Record<string, unknown>} header
   */
  begin(id, header) {
    const name = cleanName(String(header.name || ""));
    const type = String(header.type || "");
    const size = Number(header.size);
    this.incoming = { id, name, type, size, chunks: [], received: 0, refused: false };
    const reason = problemWith(type, Number.isFinite(size) ? size : 0);
    if (reason) this.refuse(reason);
  }

  /** @param {ArrayBuffer} data */
  chunk(data) {
    const incoming = this.incoming;
    if (!incoming || incoming.refused) return; // the rest of a refused file: dropped
    incoming.received += data.byteLength;
    if (incoming.received > incoming.size) {
      this.refuse("too_large"); // more than it said: never past the limit in memory
      return;
    }
    incoming.chunks.push(data);
    this.onProgress("receive", incoming.name, incoming.received / incoming.size);
  }

  /**
   * @param {string} id
   * @param {string} expected  the sender's SHA-256
   */
  async finish(id, expected) {
    const incoming = this.incoming;
    if (!incoming || incoming.id !== id || incoming.refused) return;
    this.incoming = null;
    const blob = new Blob(incoming.chunks, { type: incoming.type });
    const head = new Uint8Array(await blob.slice(0, 16).arrayBuffer());
    const digest = await sha256(blob);
    if (blob.size !== incoming.size || digest !== expected) {
      this.refuseFile(incoming, "corrupt");
      return;
    }
    if (!looksLike(incoming.type, head)) {
      this.refuseFile(incoming, "wrong_type");
      return;
    }
    /** @type {SharedFile} */
    const file = { id, name: incoming.name, type: incoming.type, size: blob.size, blob, sha256: digest };
    if (incoming.type.startsWith("image/")) {
      const image = await reencode(blob);
      if (!image) {
        this.refuseFile(incoming, "wrong_type");
        return;
      }
      file.preview = URL.createObjectURL(image);
    }
    this.sendControl({ kind: "received", id });
    this.received.push(file);
    this.onReceived(file);
  }

  /** @param {string} reason */
  refuse(reason) {
    const incoming = this.incoming;
    if (!incoming) return;
    incoming.refused = true;
    incoming.chunks = [];
    this.refuseFile(incoming, reason);
  }

  /**
   * @param {Incoming} incoming
   * @param {string} reason
   */
  refuseFile(incoming, reason) {
    this.sendControl({ kind: "refused", id: incoming.id, reason });
    this.onFailed("receive", incoming.name, reason);
  }

  /** @param {Record<string, string>} message */
  sendControl(message) {
    if (this.ready) /** @type {RTCDataChannel} */ (this.channel).send(JSON.stringify(message));
  }

  /** @param {string} reason  "" when the other side has the file */
  settle(reason) {
    const outgoing = this.outgoing;
    this.outgoing = null;
    if (outgoing) outgoing.settle(reason);
  }

  /** The connection went: whatever was on its way is lost. @param {string} reason */
  fail(reason) {
    this.settle(reason);
    if (this.incoming && !this.incoming.refused) this.onFailed("receive", this.incoming.name, reason);
    this.incoming = null;
  }

  /** The call is over: drop the channel and the previews. */
  close() {
    this.fail("closed");
    this.channel = null;
    for (const file of this.received) if (file.preview) URL.revokeObjectURL(file.preview);
    this.received = [];
  }
}

/**
 * Until the channel's buffer has room again.
 * @param {RTCDataChannel} channel
 * @returns {Promise<void>}
 */
function drained(channel) {
  return new Promise((resolve) => {
    const done = () => {
      channel.removeEventListener("bufferedamountlow", done);
      channel.removeEventListener("close", done);
      resolve();
    };
    channel.addEventListener("bufferedamountlow", done);
    channel.addEventListener("close", done);
  });
}
