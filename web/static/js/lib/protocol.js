// What a page may send to the desk: one method per client message type of
// docs/protocol.md (signaling/messages.py is the schema). Fields are passed through
// only when set, so the server's "no unknown fields" rule always holds.
// Each method returns the message id (echoed as `ref` in an error), or null when the
// socket is not connected.

function defined(fields) {
  return Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== undefined && value !== ""),
  );
}

/** An RTCIceCandidate (or null: end of candidates) in the protocol's shape. */
export function candidateFields(candidate) {
  if (!candidate || !candidate.candidate) return null;
  const fields = { candidate: candidate.candidate };
  if (candidate.sdpMid !== null && candidate.sdpMid !== undefined) {
    fields.sdpMid = candidate.sdpMid;
  }
  if (candidate.sdpMLineIndex !== null && candidate.sdpMLineIndex !== undefined) {
    fields.sdpMLineIndex = candidate.sdpMLineIndex;
  }
  if (candidate.usernameFragment) fields.usernameFragment = candidate.usernameFragment;
  return fields;
}

export function descriptionFields(description) {
  return { type: description.type, sdp: description.sdp };
}

export class Protocol {
  constructor(socket) {
    this.socket = socket;
  }

  // -- system
  ping() {
    return this.socket.send("ping");
  }

  // -- queue (patients)
  queueJoin({ name, reason, language, needs = [] }) {
    return this.socket.send("queue.join", { ...defined({ name, reason, language }), needs });
  }
  queueLeave() {
    return this.socket.send("queue.leave");
  }
  queueResume() {
    return this.socket.send("queue.resume");
  }
  queueCallback(mode, phone, slot) {
    return this.socket.send("queue.callback", defined({ mode, phone, slot }));
  }
  queueSlots() {
    return this.socket.send("queue.slots");
  }
  queueCallbackCancel() {
    return this.socket.send("queue.callback_cancel");
  }
  surveySubmit(rating, comment) {
    return this.socket.send("survey.submit", defined({ rating, comment }));
  }
  callRingAnswer(accept) {
    return this.socket.send("call.ring_answer", { accept: Boolean(accept) });
  }

  // -- self-help and the assistant (patients)
  helpSuggest(text) {
    return this.socket.send("help.suggest", defined({ text }));
  }
  helpResolved(slug) {
    return this.socket.send("help.resolved", { slug });
  }
  assistantAsk(text, language) {
    return this.socket.send("assistant.ask", { text, ...defined({ language }) });
  }

  // -- lobby connection test (patients)
  lobbyTestOffer(description) {
    return this.socket.send("lobby.test_offer", { description: descriptionFields(description) });
  }
  lobbyTestCandidate(candidate) {
    return this.socket.send("lobby.test_candidate", { candidate: candidateFields(candidate) });
  }
  lobbyTestEnd() {
    return this.socket.send("lobby.test_end");
  }

  // -- agents
  agentStatus(status, reason) {
    return this.socket.send("agent.status", defined({ status, reason }));
  }
  agentAccept(token) {
    return this.socket.send("agent.accept", { token });
  }
  agentDecline(token, reason) {
    return this.socket.send("agent.decline", defined({ token, reason }));
  }
  agentEnd() {
    return this.socket.send("agent.end");
  }
  agentHold(on) {
    return this.socket.send(on ? "agent.hold" : "agent.unhold");
  }
  agentTransfer({ queue, agent, note }) {
    return this.socket.send("agent.transfer", defined({ queue, agent, note }));
  }
  agentWrapup({ outcome, note, next }) {
    return this.socket.send("agent.wrapup", defined({ outcome, note, next }));
  }
  agentNote(text) {
    return this.socket.send("agent.note", { text });
  }
  agentRing() {
    return this.socket.send("agent.ring");
  }

  // -- staff (agents, admins)
  staffMessage(queue, text) {
    return this.socket.send("staff.message", { queue, text });
  }

  // -- calls (both parties)
  callSdp(description) {
    return this.socket.send("call.sdp", { description: descriptionFields(description) });
  }
  callIce(candidate) {
    return this.socket.send("call.ice", { candidate: candidateFields(candidate) });
  }
  callChat(text) {
    return this.socket.send("call.chat", { text });
  }
  callMedia(state) {
    return this.socket.send("call.media", { state });
  }
  callBye() {
    return this.socket.send("call.bye");
  }
}
