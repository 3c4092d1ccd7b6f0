// @ts-check
// The guest's side of a call: no single peer, only the mesh (lib/mesh.js) — one
// connection to each other party, this page making the offers (it joined last). Its
// own video, mute, camera off, chat; tiles with the others' names and parts.

import { CallView } from "../lib/call-view.js";
import { byId, setText, show } from "../lib/dom.js";
import { onLanguageChange, t } from "../lib/i18n.js";
import { play } from "../lib/media.js";

/** @typedef {import("../lib/protocol.js").CallParty} CallParty */

export class GuestCall extends CallView {
  /**
   * @param {object} options
   * @param {import("../lib/protocol.js").Protocol} options.protocol
   * @param {import("../lib/media.js").LocalMedia} options.media  started in the lobby
   */
  constructor({ protocol, media }) {
    super({
      protocol,
      media,
      self: "guest",
      who: (from) => {
        if (from === "guest") return t("chat.you"); // other guests are named by handle
        const party = this.mesh.party(from);
        return party ? this.partyLabel(party) : t(`party.${from}`);
      },
      devices: { camera: "guest-camera-select", microphone: "guest-microphone-select" },
      principal: "",
    });
    onLanguageChange(() => {
      this.chatView.redraw();
      this.mesh.relabel();
      this.drawControls();
      if (this.callId) this.drawStatus();
    });
  }

  /** @override */
  get active() {
    return this.callId !== "";
  }

  /**
   * call.started: this page is in the call (again, after a reload or a reconnect).
   * @param {import("../lib/protocol.js").CallStarted} message
   */
  start(message) {
    this.callId = message.call;
    this.ice = message.ice;
    this.chatView.reset(message.history || []);
    if (this.media.video) play(this.self, this.media.stream);
    this.drawControls();
    this.drawStatus();
    this.listDevices("lobby.media.none");
  }

  /**
   * call.chat: said for screen readers too.
   * @override
   * @param {import("../lib/protocol.js").ChatMessage} message
   */
  chat(message) {
    super.chat(message);
    if (message.handle && message.handle === this.mesh.you) return;
    const who = this.chatView.who(message.from, message.handle);
    byId("chat-announce").textContent = t("chat.announce", { name: who, text: message.text });
  }

  /**
   * "Connecting" until one of the others is connected; "Reconnecting" on a drop.
   * @override
   */
  drawStatus() {
    const states = this.mesh.peers().map((peer) => peer.state);
    let key = "";
    if (this.socketDown) key = "call.reconnecting";
    else if (!states.includes("connected")) key = "call.connecting";
    else if (states.some((state) => state === "reconnecting" || state === "failed")) {
      key = "call.reconnecting";
    }
    const status = byId("call-status");
    setText(status, key ? t(key) : "");
    show(status, Boolean(key));
  }

  /** @override */
  drawControls() {
    const mute = byId("mute-button", HTMLButtonElement);
    setText(mute, t(this.muted ? "call.unmute" : "call.mute"));
    mute.setAttribute("aria-pressed", String(this.muted));
    mute.disabled = this.media.audio === null;
    const camera = byId("camera-button", HTMLButtonElement);
    setText(camera, t(this.cameraOff ? "call.camera_on" : "call.camera_off"));
    camera.setAttribute("aria-pressed", String(this.cameraOff));
  }
}
