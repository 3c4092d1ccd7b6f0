// @ts-check
// The lobby: greeting, camera preview, microphone level, device pickers, the
// connection test, and the details the patient joins with. Nothing here blocks
// joining: a missing camera or microphone is explained, not required.

import { byId, show } from "../lib/dom.js";
import { hoursText } from "../lib/hours.js";
import { ConnectionTest } from "../lib/echo-test.js";
import { language, onLanguageChange, render, t } from "../lib/i18n.js";
import { fillDevices, LocalMedia, play } from "../lib/media.js";
import { LevelMeter } from "../lib/meter.js";

const SLOW_RTT_MS = 400;
const WIDE_SCREEN = "(min-width: 48rem)";
const ECHO_SHOWN_MS = 4000;

/** @typedef {import("../lib/protocol.js").Welcome["desk"]} Desk */
/** @typedef {{name: string, reason?: string, language?: string, needs?: string[]}} Details */

/**
 * What a failed connection test says: which step failed, in plain words, and that the
 * person can still join (it does not guess how the call will go).
 */
/** @param {string} message  the test's error */
function failureKey(message) {
  if (message === "test_busy" || message === "rate_limited") return `error.${message}`;
  if (message === "answer timed out" || message === "not connected") {
    return "lobby.test.failed_desk";
  }
  if (message === "connection timed out") return "lobby.test.failed_network";
  if (message === "ping timed out") return "lobby.test.failed_reply";
  return "lobby.test.failed";
}

export class Lobby {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {LocalMedia} options.media  shared with the call
   * @param {() => import("../lib/protocol.js").IceConfig | null} options.ice  the desk's ICE
   *   configuration (from welcome)
   * @param {(details: Details) => void} options.onJoin
   */
  constructor({ protocol, media, ice, onJoin }) {
    this.media = media;
    this.onJoin = onJoin;
    this.active = false;
    this.preview = byId("lobby-preview", HTMLVideoElement);
    this.meter = new LevelMeter(byId("mic-level", HTMLMeterElement));
    this.status = byId("media-status");
    this.cameraSelect = byId("camera-select", HTMLSelectElement);
    this.microphoneSelect = byId("microphone-select", HTMLSelectElement);
    this.testResult = byId("test-result");
    this.testButton = byId("test-button", HTMLButtonElement);
    this.echoFrame = byId("test-echo-frame");
    this.test = new ConnectionTest({ protocol, ice: null, video: byId("test-echo", HTMLVideoElement) });
    this.ice = ice;
    /** @type {import("../lib/protocol.js").Session | null} */
    this.session = null;
    this.form = byId("join-form", HTMLFormElement);
    this.name = byId("patient-name", HTMLInputElement);
    this.reason = byId("patient-reason", HTMLTextAreaElement);
    this.language = byId("patient-language", HTMLSelectElement);
    this.joinButton = byId("join-button", HTMLButtonElement);
    this.joinError = byId("join-error");
    this.greeting = byId("lobby-body");
    /** @type {Desk | null} */
    this.desk = null;
    /** @type {number | undefined} */
    this.echoTimer = undefined;
    this.mediaRun = 0;

    // The camera check is a step of its own: open at first on a wide screen, closed on
    // a phone (where name, reason and Join come first and fit on one screen).
    this.check = byId("media-check", HTMLDetailsElement);
    this.check.open = window.matchMedia(WIDE_SCREEN).matches;
    this.check.addEventListener("toggle", () => this.checkToggled());
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
      this.showDesk(); // day names come from the browser, in the page's language
    });
    this.language.addEventListener("change", () => {
      this.language.dataset.touched = "1";
    });
  }

  /**
   * The session's name and reason prefill the form (from the invite).
   * @param {import("../lib/protocol.js").Session} session
   */
  setSession(session) {
    this.session = session;
    const firstName = (session.name || "").trim().split(/\s+/)[0] || "";
    if (!this.name.value && session.name) this.name.value = session.name;
    if (!this.reason.value && session.reason) this.reason.value = session.reason;
    if (firstName) render(byId("lobby-hello"), "lobby.hello_named", { name: firstName });
    else render(byId("lobby-hello"), "lobby.hello");
  }

  /**
   * welcome.desk: whether anyone answers the queue now, and the opening hours. The
   * greeting says what is true: a team at work, nobody this minute, or closed (with the
   * hours), and what the patient can do about it.
   * @param {Desk | null | undefined} desk
   */
  setDesk(desk) {
    this.desk = desk || null;
    this.showDesk();
  }

  showDesk() {
    const desk = this.desk;
    const hoursLine = byId("lobby-hours");
    const hours = desk && desk.hours && desk.hours.periods.length ? desk.hours : null;
    if (hours) {
      render(hoursLine, "lobby.hours", { hours: hoursText(hours, language(), t) });
    } else {
      render(hoursLine, null);
    }
    show(hoursLine, hours !== null);
    let body = "lobby.greeting";
    if (desk && !desk.staffed) {
      body = hours && !hours.open_now ? "lobby.greeting_closed" : "lobby.greeting_unstaffed";
    }
    render(this.greeting, body);
  }

  /**
   * The details this tab joined with before (a reloaded page): back in the form.
   * @param {Details} details
   */
  restore(details) {
    this.name.value = details.name || this.name.value;
    this.reason.value = details.reason || this.reason.value;
    if (details.language) {
      this.language.value = details.language;
      this.language.dataset.touched = "1";
    }
    const needs = new Set(details.needs || []);
    for (const input of /** @type {NodeListOf<HTMLInputElement>} */ (
      this.form.querySelectorAll("input[name=needs]")
    )) {
      input.checked = needs.has(input.value);
    }
  }

  /**
   * A note at the top of the lobby (left the queue, place released).
   * @param {string | null} key  null: none
   */
  note(key) {
    const note = byId("lobby-note");
    render(note, key);
    show(note, key !== null);
  }

  enter() {
    this.active = true;
    this.joinButton.disabled = false;
    if (this.check.open) this.startMedia();
  }

  /** "Check camera and sound" opened (the camera starts) or closed (it stops). */
  checkToggled() {
    if (!this.active) return;
    if (this.check.open) {
      this.startMedia();
    } else {
      this.stopMedia();
      render(this.status, "lobby.media.starting");
    }
  }

  stopMedia() {
    this.mediaRun += 1; // a start still under way shows nothing
    clearTimeout(this.echoTimer);
    this.test.stop();
    show(this.echoFrame, false);
    this.meter.stop();
    this.preview.srcObject = null;
    this.media.stop();
  }

  leave() {
    this.active = false;
    this.stopMedia();
  }

  async startMedia() {
    const run = ++this.mediaRun; // a newer start (leave and come back) wins
    render(this.status, "lobby.media.starting");
    const has = await this.media.start();
    if (run !== this.mediaRun) return;
    if (!this.active) {
      this.media.stop();
      return;
    }
    this.showMedia(has);
    await this.listDevices();
  }

  /** @param {import("../lib/media.js").Has} has */
  showMedia(has) {
    // Attached afresh: the stream's tracks were replaced (a new start, another
    // device), and a <video> left on the old srcObject can stay black.
    this.preview.srcObject = null;
    if (has.video) play(this.preview, this.media.stream);
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
    await fillDevices(
      this.cameraSelect,
      this.microphoneSelect,
      this.media.deviceIds,
      "lobby.media.none",
    );
  }

  /** @param {import("../lib/media.js").Kind} kind */
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
      render(this.testResult, failureKey(error instanceof Error ? error.message : ""));
    } finally {
      this.testButton.disabled = false;
    }
  }

  /**
   * lobby.test_answer
   * @param {RTCSessionDescriptionInit} description
   */
  testAnswer(description) {
    this.test.answer(description);
  }

  /**
   * Whether an error (by its ref) is about the connection test.
   * @param {string | undefined} ref
   */
  isAboutTest(ref) {
    return Boolean(ref) && ref === this.test.offerId;
  }

  /**
   * An error about the connection test.
   * @param {string} code
   */
  testFailed(code) {
    this.test.fail(code);
  }

  /** @param {boolean} problem  no name given */
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
    const needs = [
      .../** @type {NodeListOf<HTMLInputElement>} */ (
        this.form.querySelectorAll("input[name=needs]:checked")
      ),
    ].map(
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

  /**
   * The join did not go through: say why (already in the reader's language).
   * @param {string} key
   * @param {import("../lib/i18n.js").Params} [params]
   */
  joinFailed(key, params = {}) {
    this.joinButton.disabled = false;
    render(this.joinError, key, params);
    show(this.joinError, true);
  }
}
