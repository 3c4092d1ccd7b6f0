"""The WebSocket protocol's server messages: one struct per message the desk sends.

The other half of :mod:`signaling.messages`: every message a client receives is a JSON
object whose ``type`` names one of the :class:`ServerMessage` structs below, with the
fields each one lists, of the kinds listed (nested objects are structs too). Fields the
desk sends only sometimes are ``UNSET`` when left out (``omit_defaults``: they are then
not sent at all); every other field is always sent, ``null`` where its kind says so.

The server builds its messages from these structs (``server/ws/outbound.py`` and the
handlers of ``server/ws``); what travels between its processes and through the hub's
``before_send`` hook is their :func:`to_dict` form, so a message keeps one shape from the
handler to the socket. ``python -m signaling.schema`` writes their JSON Schema beside the
client messages'; docs/protocol.md ("Server → client") describes them for people, and
tests check that the doc, the schema, web/static/js/lib/protocol.js and what a live desk
really sends agree (``forbid_unknown_fields``: a field the desk sends that is not here is
caught).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal, Union

import msgspec
from msgspec import UNSET, UnsetType

__all__ = ["UNSET", "UnsetType"]


class Part(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """An object nested in a server message."""


class ServerMessage(
    msgspec.Struct, tag_field="type", forbid_unknown_fields=True, kw_only=True, omit_defaults=True
):
    """A message the desk sends; ``TO`` says to whom (patient, agent, admin)."""

    TO: ClassVar[frozenset[str]] = frozenset()

    @property
    def type(self) -> str:
        return str(self.__struct_config__.tag)


EVERYONE = frozenset({"patient", "agent", "admin", "guest", "supervisor"})
PATIENT = frozenset({"patient"})
AGENT = frozenset({"agent"})
CALLERS = frozenset({"patient", "agent"})
PARTIES = frozenset({"patient", "agent", "guest"})  # anyone in a call
SUPERVISED = PARTIES | {"admin", "supervisor"}  # and a supervisor watching it
STAFF = frozenset({"agent", "admin"})
ADMIN = frozenset({"admin"})
WATCHERS = frozenset({"admin", "supervisor"})  # who sees the live dashboard


# -- nested parts ----------------------------------------------------------------------


class SessionInfo(Part):
    """What a page may know of its own session (as from ``/api/v1/session``)."""

    role: Literal["patient", "agent", "admin", "guest", "supervisor"]
    name: str
    queue: str
    queues: list[str]
    languages: list[str]
    reason: str
    expires_at: int  # epoch seconds
    party: str | UnsetType = UNSET  # guests: interpreter, carer or clinician


class IceServer(Part):
    """One RTCIceServer; TURN servers carry a credential minted for this socket."""

    urls: list[str]
    username: str | UnsetType = UNSET
    credential: str | UnsetType = UNSET


class IceConfig(Part):
    """RTCConfiguration fields for the browser."""

    iceServers: list[IceServer]
    iceTransportPolicy: Literal["all", "relay"]


class OpeningPeriod(Part):
    days: list[int]  # 0–6 from Monday
    start: str  # HH:MM
    end: str


class OpeningHours(Part):
    periods: list[OpeningPeriod]
    timezone: str
    open_now: bool


class DeskStatus(Part):
    """Whether anyone works the patient's queue now, and the opening hours (if set)."""

    staffed: bool
    hours: OpeningHours | None


class Estimate(Part):
    """The wait estimate; ``known`` is false when the desk cannot say (``reason``:
    nobody_staffed, not_measured, beyond_range). ``why`` says why it went up since the
    patient was last told (fewer_agents, moved_back, calls_longer)."""

    known: bool
    low_minutes: int
    high_minutes: int
    reason: str = ""
    why: str = ""


class CallbackChoice(Part):
    """A patient's pending call-back: how, and the booked slot (epoch ms) if any."""

    mode: str
    slot: int | None


class CallbackContact(Part):
    """How to call a call-back patient back."""

    mode: str
    phone: str


class PatientContext(Part):
    """What an agent sees of a patient (first name only)."""

    name: str
    reason: str
    language: str
    needs: list[str]
    waited_s: int
    flags: list[str]  # emergency, urgent, returning, callback, transferred
    handoff_note: str
    emergency_words: list[str]
    callback: CallbackContact | UnsetType = UNSET  # call-backs only


class Named(Part):
    """The other party, by first name."""

    name: str


class Article(Part):
    """A self-help article's summary."""

    slug: str
    title: str
    summary: str
    lang: str


class SdpDescription(Part):
    """An SDP offer or answer."""

    type: Literal["offer", "answer"]
    sdp: str


class IceCandidate(Part):
    """A trickled ICE candidate, as the peer sent it."""

    candidate: str
    sdpMid: str | UnsetType = UNSET
    sdpMLineIndex: int | UnsetType = UNSET
    usernameFragment: str | UnsetType = UNSET


class PanelPatient(Part):
    """Someone waiting, in an agent's queue panel."""

    name: str
    reason: str
    language: str
    waited_s: int
    flags: list[str]


class QueuePanel(Part):
    """A queue an agent serves: how many wait, the longest wait, who."""

    name: str
    waiting: int
    oldest_wait_s: int
    patients: list[PanelPatient]


class DashboardEmergency(Part):
    """A waiting patient flagged as a possible emergency (no name)."""

    ticket: int
    waited_s: int
    words: list[str]


class DashboardQueue(Part):
    name: str
    target_s: int
    waiting: int
    oldest_wait_s: int
    agents: dict[str, int]  # state → how many
    joined: int
    answered: int
    abandoned: int
    service_level: float | None
    abandon_rate: float | None
    aht_s: int | None
    csat: float | None
    self_help_resolved: int
    emergencies: list[DashboardEmergency]


class DashboardAgent(Part):
    id: str
    name: str
    state: str
    reason: str
    since_ms: int
    queues: list[str]
    call: str = ""  # the call the agent is in ('' when none): what a supervisor watches


# -- to everyone -----------------------------------------------------------------------


class Welcome(ServerMessage, tag="welcome", kw_only=True):
    """the first message of a socket: the session and ICE servers (patients: the desk)"""

    TO = EVERYONE
    v: int
    role: Literal["patient", "agent", "admin", "guest", "supervisor"]
    session: SessionInfo
    ice: IceConfig
    desk: DeskStatus | UnsetType = UNSET  # patients only


class Error(ServerMessage, tag="error", kw_only=True):
    """a message refused, or the socket about to close; ``ref`` is the message's id"""

    TO = EVERYONE
    code: str
    message: str
    ref: str | UnsetType = UNSET


class Pong(ServerMessage, tag="pong", kw_only=True):
    """the answer to ping (``ref``: its id, null when it had none)"""

    TO = EVERYONE
    ref: str | None


# -- to patients -----------------------------------------------------------------------


class QueueState(ServerMessage, tag="queue.state", kw_only=True):
    """where the patient stands, with the estimate; pushed when it changes"""

    TO = PATIENT
    state: str
    queue: str
    position: int  # 1 = next; 0 when not queued
    waiting: int
    agents_staffed: int
    estimate: Estimate
    callback: CallbackChoice | None
    returning: bool
    waited_s: int


class QueueJoined(ServerMessage, tag="queue.joined", kw_only=True):
    """the answer to queue.join (``created``: a new place, not one already held)"""

    TO = PATIENT
    created: bool
    queue: str


class QueueNotice(ServerMessage, tag="queue.notice", kw_only=True):
    """a message from the desk to everyone waiting in the queue"""

    TO = PATIENT
    text: str
    at: int | None  # epoch ms


class QueueSlots(ServerMessage, tag="queue.slots", kw_only=True):
    """the call-back slots on offer (epoch ms)"""

    TO = PATIENT
    slots: list[int]


class HelpSuggestions(ServerMessage, tag="help.suggestions", kw_only=True):
    """self-help articles matching the reason or question"""

    TO = PATIENT
    articles: list[Article]


class AssistantReply(ServerMessage, tag="assistant.reply", kw_only=True):
    """the automated assistant's answer (the page words it by ``kind``)"""

    TO = PATIENT
    kind: Literal["emergency", "medical", "answer", "unknown"]
    automated: bool
    articles: list[Article]
    human_queue: bool


class CallRing(ServerMessage, tag="call.ring", kw_only=True):
    """an agent is ready to call back on video: answer with call.ring_answer"""

    TO = PATIENT
    call: str
    agent: Named
    expires_in_ms: int


class SurveyThanks(ServerMessage, tag="survey.thanks", kw_only=True):
    """the answer to survey.submit"""

    TO = PATIENT


class LobbyTestAnswer(ServerMessage, tag="lobby.test_answer", kw_only=True):
    """the echo test peer's SDP answer"""

    TO = PATIENT
    description: SdpDescription


# -- to agents (and admins) ------------------------------------------------------------


class AgentState(ServerMessage, tag="agent.state", kw_only=True):
    """the agent's state, pushed whenever it changes"""

    TO = AGENT
    state: str  # offline, available, offered, in_call, wrap_up, away
    reason: str
    since_ms: int
    name: str
    queues: list[str]
    languages: list[str]
    outcome_codes: list[str]


class AgentOffer(ServerMessage, tag="agent.offer", kw_only=True):
    """a patient offered to the agent: accept or decline by ``token`` before the deadline"""

    TO = AGENT
    token: str
    kind: Literal["call", "callback", "transfer"]
    queue: str
    deadline_ms: int
    expires_in_ms: int
    patient: PatientContext


class AgentOfferCancelled(ServerMessage, tag="agent.offer_cancelled", kw_only=True):
    """the open offer is gone (it expired, or the patient left)"""

    TO = AGENT
    reason: str


class AgentCallback(ServerMessage, tag="agent.callback", kw_only=True):
    """an accepted call-back: phone the number, or ring the page (``page_open``)"""

    TO = AGENT
    call: str
    patient: PatientContext
    page_open: bool


class AgentRinging(ServerMessage, tag="agent.ringing", kw_only=True):
    """the patient's page is ringing"""

    TO = AGENT
    call: str
    expires_in_ms: int


class AgentRingDeclined(ServerMessage, tag="agent.ring_declined", kw_only=True):
    """the patient declined the ring"""

    TO = AGENT
    call: str


class AgentQueues(ServerMessage, tag="agent.queues", kw_only=True):
    """the agent's queue panels, pushed when they change"""

    TO = AGENT
    queues: list[QueuePanel]


class AgentNoteSaved(ServerMessage, tag="agent.note_saved", kw_only=True):
    """the answer to agent.note"""

    TO = AGENT
    call: str


class StaffSent(ServerMessage, tag="staff.sent", kw_only=True):
    """the answer to staff.message: the notice went out"""

    TO = STAFF
    queue: str


# -- the call (every party) -----------------------------------------------------------


class CallChat(ServerMessage, tag="call.chat", kw_only=True):
    """a chat message of the call (also each item of call.started's ``history``)"""

    TO = SUPERVISED
    from_: Literal["patient", "agent", "guest"] = msgspec.field(name="from")
    text: str
    at: int  # epoch ms
    handle: str | UnsetType = UNSET  # a guest's message: which guest (call.parties)


class CallStarted(ServerMessage, tag="call.started", kw_only=True):
    """the call begins (or resumes); the agent makes the WebRTC offer"""

    TO = SUPERVISED
    call: str
    kind: Literal["call", "callback", "transfer"]
    polite: bool
    initiator: bool
    peer: Named
    ice: IceConfig
    resumed: bool
    patient: PatientContext | UnsetType = UNSET  # agents only
    history: list[CallChat]  # the chat so far, on resume (else empty; guests: since joining)
    on_hold: bool | UnsetType = UNSET  # patients only


class CallParty(Part):
    """One party of a call, as every page of it sees them."""

    handle: str  # patient, agent, g1, s2… (g: a guest, s: a supervisor)
    party: Literal["patient", "agent", "interpreter", "carer", "clinician", "supervisor"]
    name: str  # first name ('' when not given)
    seq: int  # of two parties, the one with the greater seq makes the offers
    language: str | UnsetType = UNSET  # a guest's language, when the agent gave one
    # A supervisor's: monitor and whisper are not shown to the patient (nor monitor to
    # the agent), unless the desk is set to say so (``notice``).
    mode: Literal["monitor", "whisper", "barge"] | UnsetType = UNSET


class CallParties(ServerMessage, tag="call.parties", kw_only=True):
    """who is in the call now (sent whenever that changes, and after call.started)"""

    TO = SUPERVISED
    call: str
    you: str  # this page's own handle
    parties: list[CallParty]  # everyone, this page too
    notice: bool = False  # say when a supervisor listens in (VIDEODESK_SUPERVISOR_NOTICE)


class CallSdp(ServerMessage, tag="call.sdp", kw_only=True):
    """another party's SDP offer or answer"""

    TO = SUPERVISED
    description: SdpDescription
    from_: str | UnsetType = msgspec.field(default=UNSET, name="from")  # left out: the peer


class CallIce(ServerMessage, tag="call.ice", kw_only=True):
    """another party's trickled ICE candidate (null: the end of candidates)"""

    TO = SUPERVISED
    candidate: IceCandidate | None
    from_: str | UnsetType = msgspec.field(default=UNSET, name="from")  # left out: the peer


class CallPeer(ServerMessage, tag="call.peer", kw_only=True):
    """the other party's socket dropped, or is back (renegotiate)"""

    TO = CALLERS
    status: Literal["reconnecting", "connected"]


class CallPeerMedia(ServerMessage, tag="call.peer_media", kw_only=True):
    """the other party's media state, as it sent it"""

    TO = CALLERS
    state: Literal["connected", "reconnecting", "failed"]


class CallHold(ServerMessage, tag="call.hold", kw_only=True):
    """the patient is on hold (``on``), or back"""

    TO = PARTIES
    on: bool


class CallScreen(ServerMessage, tag="call.screen", kw_only=True):
    """the sender's video shows their screen now (``on``), or their camera again"""

    TO = PARTIES
    on: bool
    from_: str | UnsetType = msgspec.field(default=UNSET, name="from")  # left out: the peer


class CallInviteLink(ServerMessage, tag="call.invite_link", kw_only=True):
    """the answer to call.invite: the guest link to pass on (single use, this call only)"""

    TO = AGENT
    party: Literal["interpreter", "carer", "clinician"]
    link: str
    expires_at: int  # epoch seconds; the link works only while the call lasts, too
    language: str | UnsetType = UNSET
    mailed: bool = False  # sent by e-mail too (call.invite with email)


class CallEnded(ServerMessage, tag="call.ended", kw_only=True):
    """the call is over (for a guest: over for them)"""

    TO = SUPERVISED
    call: str
    # completed, patient_ended, transferred, agent_lost, patient_lost, revoked; guests
    # also: left (they left), removed (the agent took them out)
    reason: str


# -- to admins -------------------------------------------------------------------------


class Dashboard(ServerMessage, tag="dashboard", kw_only=True):
    """the live dashboard, pushed every 2 s (a supervisor's: its queues only)"""

    TO = WATCHERS
    at: int  # epoch ms
    queues: list[DashboardQueue]
    agents: list[DashboardAgent]


# -- the table -------------------------------------------------------------------------

SERVER_MESSAGE_TYPES: tuple[type[ServerMessage], ...] = (
    Welcome,
    Error,
    Pong,
    QueueState,
    QueueJoined,
    QueueNotice,
    QueueSlots,
    HelpSuggestions,
    AssistantReply,
    CallRing,
    SurveyThanks,
    LobbyTestAnswer,
    AgentState,
    AgentOffer,
    AgentOfferCancelled,
    AgentCallback,
    AgentRinging,
    AgentRingDeclined,
    AgentQueues,
    AgentNoteSaved,
    StaffSent,
    CallStarted,
    CallSdp,
    CallIce,
    CallChat,
    CallPeer,
    CallPeerMedia,
    CallHold,
    CallScreen,
    CallParties,
    CallInviteLink,
    CallEnded,
    Dashboard,
)

SERVER_MESSAGES: dict[str, type[ServerMessage]] = {
    str(kind.__struct_config__.tag): kind for kind in SERVER_MESSAGE_TYPES
}

AnyServerMessage = Union[SERVER_MESSAGE_TYPES]  # type: ignore[valid-type]  # noqa: UP007


def fields(kind: type[ServerMessage]) -> tuple[str, ...]:
    """A message's fields as sent (``from``, not ``from_``), without ``type``."""
    info = kind.__struct_encode_fields__
    return tuple(name for name in info if name != "type")


_encoder = msgspec.json.Encoder()


def encode(message: dict[str, Any] | ServerMessage) -> bytes:
    """A message as the UTF-8 JSON text of one frame: a struct of this module, or its dict
    form (as the hub delivers it and the relay carries it).

    Text that is not valid Unicode (a lone surrogate, which UTF-8 cannot spell) is
    written with JSON's escapes instead (``json.dumps``, as every message was before)."""
    try:
        return _encoder.encode(message)
    except UnicodeEncodeError:
        plain = msgspec.to_builtins(message) if isinstance(message, ServerMessage) else message
        return json.dumps(plain).encode("ascii")


def to_dict(message: ServerMessage) -> dict[str, Any]:
    """The message as JSON has it (the fields left out stay out): what the hub delivers
    and the relay carries between processes."""
    result: dict[str, Any] = msgspec.to_builtins(message)
    return result


def check(message: Any) -> ServerMessage:
    """A received message (decoded JSON) as its struct; raises msgspec.ValidationError
    when it is not one the protocol defines."""
    checked: ServerMessage = msgspec.convert(message, AnyServerMessage)
    return checked
