// @ts-check
// The person's camera and microphone. Getting them must never block joining: when
// both cannot be had, try each alone, and report what is missing (no camera: sound
// only; no microphone: chat, and video if there is a camera; neither: chat).

import { fillSelect } from "./dom.js";
import { t } from "./i18n.js";

const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24, max: 30 } };
const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
const DEVICE_KEY = "vd.devices";

/** @typedef {"audio" | "video"} Kind */
/** @typedef {{audio: boolean, video: boolean}} Has  which kinds there are */
/** @typedef {import("./dom.js").Choice} Device  a device's id and label */

/** @returns {{audio?: string, video?: string}} */
function savedDevices() {
  try {
    return JSON.parse(sessionStorage.getItem(DEVICE_KEY) || "{}");
  } catch {
    return {};
  }
}

export class LocalMedia {
  constructor() {
    this.stream = new MediaStream();
    const saved = savedDevices();
    /** @type {Record<Kind, string>} the chosen devices ("": any) */
    this.deviceIds = { audio: saved.audio || "", video: saved.video || "" };
    /** @type {Record<Kind, string>} why a kind could not be had (an error's name) */
    this.problem = { audio: "", video: "" };
  }

  get audio() {
    return this.stream.getAudioTracks()[0] || null;
  }

  get video() {
    return this.stream.getVideoTracks()[0] || null;
  }

  static supported() {
    return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  /**
   * @param {Kind} kind
   * @returns {MediaTrackConstraints}
   */
  constraints(kind) {
    const base = kind === "video" ? VIDEO : AUDIO;
    const id = this.deviceIds[kind];
    return id ? { ...base, deviceId: { exact: id } } : base;
  }

  /**
   * @param {Kind[]} kinds
   * @returns {Promise<MediaStream>}
   */
  async request(kinds) {
    /** @type {MediaStreamConstraints} */
    const constraints = {};
    for (const kind of kinds) constraints[kind] = this.constraints(kind);
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch (error) {
      const name = errorName(error);
      if (name === "OverconstrainedError" || name === "NotFoundError") {
        // A remembered device that is gone: any device of the kind will do.
        /** @type {MediaStreamConstraints} */
        const loose = {};
        for (const kind of kinds) loose[kind] = kind === "video" ? VIDEO : AUDIO;
        if (kinds.some((kind) => this.deviceIds[kind])) {
          for (const kind of kinds) this.deviceIds[kind] = "";
          return navigator.mediaDevices.getUserMedia(loose);
        }
      }
      throw error;
    }
  }

  /**
   * Get camera and microphone, degrading; returns {audio, video} booleans.
   * @param {{audio?: boolean, video?: boolean}} [wanted]  the kinds to ask for
   * @returns {Promise<Has>}
   */
  async start({ audio = true, video = true } = {}) {
    this.stop();
    this.problem = { audio: "", video: "" };
    /** @type {Kind[]} */
    const wanted = [];
    if (audio) wanted.push("audio");
    if (video) wanted.push("video");
    if (!LocalMedia.supported()) {
      for (const kind of wanted) this.problem[kind] = "NotSupportedError";
      return this.has();
    }
    try {
      this.adopt(await this.request(wanted));
    } catch (error) {
      for (const kind of wanted) {
        try {
          this.adopt(await this.request([kind]));
        } catch (single) {
          this.problem[kind] = errorName(single) || errorName(error) || "Error";
        }
      }
    }
    this.remember();
    return this.has();
  }

  /** @returns {Has} */
  has() {
    return { audio: this.audio !== null, video: this.video !== null };
  }

  /** @param {MediaStream} stream */
  adopt(stream) {
    for (const track of stream.getTracks()) {
      const old = this.stream.getTracks().find((t) => t.kind === track.kind);
      if (old) {
        this.stream.removeTrack(old);
        old.stop();
      }
      this.stream.addTrack(track);
      const settings = track.getSettings ? track.getSettings() : {};
      if (settings.deviceId) this.deviceIds[/** @type {Kind} */ (track.kind)] = settings.deviceId;
    }
  }

  /**
   * Use another camera or microphone; returns the new track (or null if it failed).
   * @param {Kind} kind
   * @param {string} deviceId
   * @returns {Promise<MediaStreamTrack | null>}
   */
  async switchDevice(kind, deviceId) {
    this.deviceIds[kind] = deviceId;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        [kind]: this.constraints(kind),
      });
      this.adopt(stream);
      this.problem[kind] = "";
      this.remember();
      return kind === "video" ? this.video : this.audio;
    } catch (error) {
      this.problem[kind] = errorName(error) || "Error";
      return null;
    }
  }

  /**
   * Stop one kind (camera off, sound only): the light goes off.
   * @param {Kind} kind
   */
  stopKind(kind) {
    for (const track of this.stream.getTracks().filter((t) => t.kind === kind)) {
      this.stream.removeTrack(track);
      track.stop();
    }
  }

  stop() {
    for (const track of this.stream.getTracks()) {
      track.stop();
      this.stream.removeTrack(track);
    }
  }

  remember() {
    // Device ids are not personal data, and let a refresh pick the same devices.
    sessionStorage.setItem(DEVICE_KEY, JSON.stringify(this.deviceIds));
  }

  /**
   * Cameras and microphones ({value, label}); labels are known once access is granted.
   * @returns {Promise<{audioinput: Device[], videoinput: Device[]}>}
   */
  static async devices() {
    /** @type {{audioinput: Device[], videoinput: Device[]}} */
    const found = { audioinput: [], videoinput: [] };
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return found;
    const devices = await navigator.mediaDevices.enumerateDevices();
    for (const device of devices) {
      if (!(device.kind in found) || !device.deviceId) continue;
      const list = found[/** @type {"audioinput" | "videoinput"} */ (device.kind)];
      list.push({ value: device.deviceId, label: device.label || `${device.kind} ${list.length + 1}` });
    }
    return found;
  }
}

/**
 * Fill a camera and a microphone picker with the devices there are, keeping the chosen
 * ones (a single "none" choice when a kind has no device).
 * @param {HTMLSelectElement} cameraSelect
 * @param {HTMLSelectElement} microphoneSelect
 * @param {Record<Kind, string>} deviceIds  the chosen devices
 * @param {string} noneKey  the catalogue's word for "none"
 */
export async function fillDevices(cameraSelect, microphoneSelect, deviceIds, noneKey) {
  const devices = await LocalMedia.devices();
  const none = [{ value: "", label: t(noneKey) }];
  fillSelect(cameraSelect, devices.videoinput.length ? devices.videoinput : none, deviceIds.video);
  fillSelect(
    microphoneSelect,
    devices.audioinput.length ? devices.audioinput : none,
    deviceIds.audio,
  );
}

/**
 * The name of an error thrown (a DOMException's: NotAllowedError, …), or "".
 * @param {unknown} error
 * @returns {string}
 */
export function errorName(error) {
  const name = error !== null && typeof error === "object" && "name" in error ? error.name : "";
  return typeof name === "string" ? name : "";
}

/**
 * Attach a stream to a video element and start it (autoplay may need a tap).
 * @param {HTMLVideoElement} video
 * @param {MediaStream | null} stream
 * @returns {Promise<boolean>}  whether it plays
 */
export async function play(video, stream) {
  if (video.srcObject !== stream) video.srcObject = stream;
  try {
    await video.play();
    return true;
  } catch (error) {
    // AbortError: a newer srcObject replaced this one; NotAllowedError: needs a tap.
    return errorName(error) === "AbortError";
  }
}
