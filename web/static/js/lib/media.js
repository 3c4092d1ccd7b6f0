// The person's camera and microphone. Getting them must never block joining: when
// both cannot be had, try each alone, and report what is missing (no camera: sound
// only; no microphone: chat, and video if there is a camera; neither: chat).

const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24, max: 30 } };
const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
const DEVICE_KEY = "vd.devices";

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
    this.deviceIds = { audio: saved.audio || "", video: saved.video || "" };
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

  constraints(kind) {
    const base = kind === "video" ? VIDEO : AUDIO;
    const id = this.deviceIds[kind];
    return id ? { ...base, deviceId: { exact: id } } : base;
  }

  async request(kinds) {
    const constraints = {};
    for (const kind of kinds) constraints[kind] = this.constraints(kind);
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch (error) {
      if (error.name === "OverconstrainedError" || error.name === "NotFoundError") {
        // A remembered device that is gone: any device of the kind will do.
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

  /** Get camera and microphone, degrading; returns {audio, video} booleans. */
  async start({ audio = true, video = true } = {}) {
    this.stop();
    this.problem = { audio: "", video: "" };
    const wanted = [audio && "audio", video && "video"].filter(Boolean);
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
          this.problem[kind] = single.name || error.name || "Error";
        }
      }
    }
    this.remember();
    return this.has();
  }

  has() {
    return { audio: this.audio !== null, video: this.video !== null };
  }

  adopt(stream) {
    for (const track of stream.getTracks()) {
      const old = this.stream.getTracks().find((t) => t.kind === track.kind);
      if (old) {
        this.stream.removeTrack(old);
        old.stop();
      }
      this.stream.addTrack(track);
      const settings = track.getSettings ? track.getSettings() : {};
      if (settings.deviceId) this.deviceIds[track.kind] = settings.deviceId;
    }
  }

  /** Use another camera or microphone; returns the new track (or null if it failed). */
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
      this.problem[kind] = error.name || "Error";
      return null;
    }
  }

  /** Stop one kind (camera off, sound only): the light goes off. */
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

  /** Cameras and microphones ({value, label}); labels are known once access is granted. */
  static async devices() {
    const found = { audioinput: [], videoinput: [] };
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return found;
    const devices = await navigator.mediaDevices.enumerateDevices();
    for (const device of devices) {
      if (!(device.kind in found) || !device.deviceId) continue;
      const list = found[device.kind];
      list.push({ value: device.deviceId, label: device.label || `${device.kind} ${list.length + 1}` });
    }
    return found;
  }
}

/** Attach a stream to a video element and start it (autoplay may need a tap). */
export async function play(video, stream) {
  if (video.srcObject !== stream) video.srcObject = stream;
  try {
    await video.play();
    return true;
  } catch (error) {
    // AbortError: a newer srcObject replaced this one; NotAllowedError: needs a tap.
    return error.name === "AbortError";
  }
}
