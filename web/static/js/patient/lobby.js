// The lobby: greeting, camera preview, microphone level, device pickers, the
// connection test, and the details the patient joins with. Nothing here blocks
// joining: a missing camera or microphone is explained, not required.

import { byId, fillSelect, show } from "../lib/dom.js";
import { ConnectionTest } from "../lib/echo-test.js";
import { language, onLanguageChange, render, t } from "../lib/i18n.js";
import { LocalMedia, play } from "../lib/media.js";
import { LevelMeter } from "../lib/meter.js";

const SLOW_RTT_MS = 400;
const ECHO_SHOWN_MS = 4000;

export class Lobby {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {LocalMedia} options.media  shared with the call
   * @param {() => object|null} options.ice  the desk's ICE configuration (from welcome)
   * @param {(details: object) => void} options.onJoin
   */
  constructor({ protocol, media, ice, onJoin }) {
    this.media = media;
    this.onJoin = onJoin;
    this.active = false;
    this.preview = byId("lobby-preview");
    this.meter = new LevelMeter(byId("mic-level"));
    this.status = byId("media-status");
    this.cameraSelect = byId("camera-select");
    this.microphoneSelect = byId("microphone-select");
    this.testResult = byId("test-result");
    this.testButton = byId("test-button");
    this.echoFrame = byId("test-echo-frame");
    this.test = new ConnectionTest({ protocol, ice: null, video: byId("test-echo") });
    this.ice = ice;
    this.session = null;
    this.form = byId("join-form");
    this.name = byId("patient-name");
    this.reason = byId("patient-reason");
    this.language = byId("patient-language");
    this.joinButton = byId("join-button");
    this.joinError = byId("join-error");
    this.greeting = byId("lobby-greeting");
    this.echoTimer = null;

    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.name.addEventListener("input", () => this.nameProblem(false));
    byId("media-retry").addEventListener("click", () => this.startMedia());
    this.testButton.addEventListener("click", () => this.runTest());
    this.cameraSelect.addEventListener("change", () => this.switchDevice("video"));
    this.microphoneSelect.addEventListener("change", () => this.switchDevice("audio"));
    this.language.value = language();
    onLanguageChange((lang) => {
      if (!this.language.dataset.touched) this.language.value = lang;
    });
    this.language.addEventListener("change", () => {
      this.language.dataset.touched = "1";
    });
  }

  /** The session's name and reason prefill the form (from the invite). */
  setSession(session) {
    this.session = session;
    const firstName = (session.name || "").trim().split(/\s+/)[0] || "";
    if (!this.name.value && session.name) this.name.value = session.name;
    if (!this.reason.value && session.reason) this.reason.value = session.reason;
    if (firstName) render(this.greeting, "lobby.greeting_named", { name: firstName });
    else render(this.greeting, "lobby.greeting");
  }

  /** A note at the top of the lobby (left the queue, place released). */
  note(key) {
    const note = byId("lobby-note");
    render(note, key);
    show(note, key !== null);
  }

  enter() {
    this.active = true;
    this.joinButton.disabled = false;
    this.startMedia();
  }

  leave() {
    this.active = false;
    clearTimeout(this.echoTimer);
    this.test.stop();
    show(this.echoFrame, false);
    this.meter.stop();
    this.preview.srcObject = null;
    this.media.stop();
  }

  async startMedia() {
    render(this.status, "lobby.media.starting");
    const has = await this.media.start();
    if (!this.active) {
      this.media.stop();
      return;
    }
    this.showMedia(has);
    await this.listDevices();
  }

  showMedia(has) {
    if (has.video) play(this.preview, this.media.stream);
    else this.preview.srcObject = null;
    this.preview.classList.toggle("is-off", !has.video);
    this.meter.start(this.media.audio);
    let key = "lobby.media.ok";
    if (!has.audio && !has.video) key = "lobby.media.none_available";
    else if (!has.video) key = "lobby.media.no_camera";
    else if (!has.audio) key = "lobby.media.no_microphone";
    render(this.status, key);
    show(byId("media-retry"), !(has.audio && has.video));
  }

  async listDevices() {
    const devices = await LocalMedia.devices();
    const none = [{ value: "", label: t("lobby.media.none") }];
    fillSelect(
      this.cameraSelect,
      devices.videoinput.length ? devices.videoinput : none,
      this.media.deviceIds.video,
    );
    fillSelect(
      this.microphoneSelect,
      devices.audioinput.length ? devices.audioinput : none,
      this.media.deviceIds.audio,
    );
  }

  async switchDevice(kind) {
    const select = kind === "video" ? this.cameraSelect : this.microphoneSelect;
    if (!select.value) return;
    await this.media.switchDevice(kind, select.value);
    if (this.active) this.showMedia(this.media.has());
  }

  async runTest() {
    if (!this.media.audio && !this.media.video) {
      render(this.testResult, "lobby.test.no_media");
      return;
    }
    clearTimeout(this.echoTimer);
    this.testButton.disabled = true;
    render(this.testResult, "lobby.test.running");
    show(this.echoFrame, true);
    this.test.ice = this.ice();
    try {
      const rtt = await this.test.run(this.media.stream);
      render(this.testResult, rtt > SLOW_RTT_MS ? "lobby.test.slow" : "lobby.test.ok", {
        ms: rtt,
      });
      this.testResult.dataset.rtt = String(rtt);
      // Leave the echoed video up a moment so the person sees themselves come back.
      this.echoTimer = setTimeout(() => {
        this.test.stop();
        show(this.echoFrame, false);
      }, ECHO_SHOWN_MS);
    } catch (error) {
      this.test.stop();
      show(this.echoFrame, false);
      const key = `error.${error.message}`;
      const known = ["error.test_busy", "error.rate_limited"].includes(key);
      render(this.testResult, known ? key : "lobby.test.failed");
    } finally {
      this.testButton.disabled = false;
    }
  }

  /** lobby.test_answer */
  testAnswer(description) {
    this.test.answer(description);
  }

  /** Whether an error (by its ref) is about the connection test. */
  isAboutTest(ref) {
    return Boolean(ref) && ref === this.test.offerId;
  }

  /** An error about the connection test. */
  testFailed(code) {
    this.test.fail(code);
  }

  nameProblem(problem) {
    show(byId("name-error"), problem);
    if (problem) this.name.setAttribute("aria-invalid", "true");
    else this.name.removeAttribute("aria-invalid");
  }

  submit() {
    const name = this.name.value.trim();
    if (!name) {
      this.nameProblem(true);
      this.name.focus();
      return;
    }
    const needs = [...this.form.querySelectorAll("input[name=needs]:checked")].map(
      (input) => input.value,
    );
    show(this.joinError, false);
    this.joinButton.disabled = true;
    this.onJoin({
      name,
      reason: this.reason.value.trim(),
      language: this.language.value,
      needs,
    });
  }

  /** The join did not go through: say why (already in the reader's language). */
  joinFailed(key, params = {}) {
    this.joinButton.disabled = false;
    render(this.joinError, key, params);
    show(this.joinError, true);
  }
}
