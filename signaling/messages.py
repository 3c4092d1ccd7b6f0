"""The WebSocket protocol's client messages: one typed schema, decoded once at the edge.

Every message a client sends is a JSON object whose ``type`` names one of the
:class:`ClientMessage` structs below. Each struct lists its fields with their kinds and
limits (``msgspec`` constraints), says who may send it (``ROLES``) and what it does (its
docstring). :func:`parse` turns raw text into one of these typed objects — handlers read
attributes, never dictionaries — or raises :class:`ProtocolError` with a stable code:

* ``bad_json`` — not UTF-8, not JSON, or not an object (NaN and Infinity are not JSON);
* ``too_large`` — more than 64 KiB;
* ``missing_field`` / ``unknown_field`` / ``invalid_field`` — a field absent, extra, or of
  the wrong kind, length, range or form (text follows :mod:`signaling.text`);
* ``unknown_type`` — a type nobody defined; ``forbidden`` — a type the role may not send.

Nothing in here raises anything else, whatever the input (a hypothesis test feeds it
arbitrary bytes). docs/protocol.md describes the same messages for people writing a
client; a test checks that the two agree.

Optional fields are ``UNSET`` when left out (``null`` is refused like any other wrong
kind, as before); handlers turn ``UNSET`` into what absence means for them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Final, Literal, Union

import msgspec
from msgspec import UNSET, Meta, UnsetType

from signaling.server_messages import Error
from signaling.text import text_problem

__all__ = ["UNSET", "UnsetType"]  # re-exported for handlers (``field is UNSET``)

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024


class ProtocolError(Exception):
    """A message the server refuses. ``code`` is stable; ``ref`` echoes the message id."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


# -- field kinds -------------------------------------------------------------------


def _whole_match(pattern: str) -> str:
    return f"^(?:{pattern})$"


# Field kinds, by what they hold: text of at most so many characters (some in a set form,
# matched whole), whole numbers within a range, and fixed choices.
Token = Annotated[str, Meta(max_length=4096)]
FirstName = Annotated[str, Meta(max_length=80)]
ShortText = Annotated[str, Meta(max_length=500)]  # a reason, a question, a notice
Comment = Annotated[str, Meta(max_length=1000)]
LongText = Annotated[str, Meta(max_length=2000)]  # chat, notes
Reason = Annotated[str, Meta(max_length=60)]  # away or decline reason
QueueName = Annotated[str, Meta(max_length=32)]
AgentId = Annotated[str, Meta(max_length=64)]
Language = Annotated[str, Meta(max_length=3, pattern=_whole_match(r"[a-z]{2,3}"))]
Phone = Annotated[str, Meta(max_length=32, pattern=_whole_match(r"\+?[0-9][0-9 ()\-]{5,30}"))]
OfferToken = Annotated[str, Meta(max_length=20, pattern=_whole_match(r"[0-9]+"))]
Slug = Annotated[str, Meta(max_length=80, pattern=_whole_match(r"[a-z0-9][a-z0-9-]*"))]
Outcome = Annotated[str, Meta(max_length=32, pattern=_whole_match(r"[a-z][a-z0-9_-]*"))]
MessageId = Annotated[str, Meta(max_length=64, pattern=_whole_match(r"[A-Za-z0-9_.:-]+"))]
Version = Annotated[int, Meta(ge=PROTOCOL_VERSION, le=PROTOCOL_VERSION)]
Rating = Annotated[int, Meta(ge=1, le=5)]
SlotMs = Annotated[int, Meta(ge=0, le=2**48)]
Need = Literal["interpreter", "caregiver", "accessibility"]
Needs = Annotated[tuple[Need, ...], Meta(max_length=3)]
CandidateLine = Annotated[str, Meta(max_length=512)]
MediaId = Annotated[str, Meta(max_length=32)]
MLineIndex = Annotated[int, Meta(ge=0, le=15)]
IceFragment = Annotated[str, Meta(max_length=256)]
Sdp = Annotated[str, Meta(max_length=MAX_MESSAGE_BYTES)]
# A party of a call, as pages name each other: the patient, the agent, a guest (g1…).
Handle = Annotated[
    str, Meta(max_length=8, pattern=_whole_match(r"patient|agent|[gs][1-9][0-9]{0,2}"))
]
GuestParty = Literal["interpreter", "carer", "clinician"]
# How a supervisor is in a call: sees and hears both, sends nothing (monitor); talks to
# the agent only (whisper); joins as a visible party (barge).
SupervisionMode = Literal["monitor", "whisper", "barge"]
EmailAddress = Annotated[str, Meta(max_length=254)]  # checked by server/mail/message.py
CallId = Annotated[str, Meta(max_length=40, pattern=_whole_match(r"c_[A-Za-z0-9_-]{1,37}"))]


class Checked(
    msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True, omit_defaults=True
):
    """Every text field obeys :func:`signaling.text.text_problem`; the fields named in
    ``LINES`` may span lines (chat, notes, SDP), the others are single-line."""

    LINES: ClassVar[frozenset[str]] = frozenset()

    def __post_init__(self) -> None:
        lines = type(self).LINES
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, str):
                problem = text_problem(value, lines=name in lines)
                if problem is not None:
                    raise ValueError(f"{name}: {problem}")


class Candidate(Checked, kw_only=True, frozen=True):
    """A trickled ICE candidate, as RTCIceCandidate.toJSON() gives it."""

    candidate: CandidateLine  # a=candidate line without 'a=', or ''
    sdpMid: MediaId | UnsetType = UNSET
    sdpMLineIndex: MLineIndex | UnsetType = UNSET
    usernameFragment: IceFragment | UnsetType = UNSET

    @property
    def mid(self) -> str | None:
        return None if isinstance(self.sdpMid, UnsetType) else self.sdpMid

    @property
    def mline_index(self) -> int | None:
        return None if isinstance(self.sdpMLineIndex, UnsetType) else self.sdpMLineIndex

    def builtins(self) -> dict[str, Any]:
        """As JSON would have it (the fields left out stay out): relayed to the peer."""
        result: dict[str, Any] = msgspec.to_builtins(self)
        return result


class Description(Checked, kw_only=True, frozen=True):
    """An SDP offer or answer (RTCSessionDescription)."""

    LINES = frozenset({"sdp"})
    type: Literal["offer", "answer"]
    sdp: Sdp


PATIENT: Final = frozenset({"patient"})
AGENT: Final = frozenset({"agent"})
GUEST: Final = frozenset({"guest"})
PARTIES: Final = frozenset({"patient", "agent", "guest"})  # anyone in a call
CALLERS_ONLY: Final = frozenset({"patient", "agent"})  # who may share a screen
ANYONE: Final = frozenset({"patient", "agent", "admin", "guest", "supervisor"})
ADMIN_OR_AGENT: Final = frozenset({"admin", "agent"})
SUPERVISORS: Final = frozenset({"admin", "supervisor"})  # who may monitor, whisper, barge
SIGNALLERS: Final = PARTIES | SUPERVISORS  # who sends SDP and ICE in a call


class ClientMessage(Checked, tag_field="type", kw_only=True, frozen=True):
    """Fields every message may carry: ``id`` (echoed as ``ref``) and ``v`` (the version)."""

    ROLES: ClassVar[frozenset[str]] = frozenset()
    id: MessageId | UnsetType = UNSET
    v: Version | UnsetType = UNSET

    @property
    def type(self) -> str:
        return str(self.__struct_config__.tag)

    @property
    def ref(self) -> str | None:
        """The message's id, to echo in a reply about it."""
        return None if isinstance(self.id, UnsetType) else self.id


# -- authentication (first message, when there is no session cookie) --


class Auth(ClientMessage, tag="auth", kw_only=True, frozen=True):
    """authenticate by token (bots, the admin console)"""

    ROLES = ANYONE | {"unauthenticated"}
    token: Token  # a patient, agent, admin, guest or supervisor token
    role: Literal["patient", "agent", "admin", "guest", "supervisor"]


# -- system --


class Ping(ClientMessage, tag="ping", kw_only=True, frozen=True):
    """application-level ping; answered with pong"""

    ROLES = ANYONE


# -- queue (patients) --


class QueueJoin(ClientMessage, tag="queue.join", kw_only=True, frozen=True):
    """join the queue of the patient's link, or find the place already held"""

    ROLES = PATIENT
    name: FirstName  # first name, shown to the agent
    reason: ShortText | UnsetType = UNSET
    language: Language | UnsetType = UNSET
    needs: Needs = ()


class QueueLeave(ClientMessage, tag="queue.leave", kw_only=True, frozen=True):
    """leave the queue (or end the call)"""

    ROLES = PATIENT


class QueueResume(ClientMessage, tag="queue.resume", kw_only=True, frozen=True):
    """ask for the current state again"""

    ROLES = PATIENT


class QueueCallback(ClientMessage, tag="queue.callback", kw_only=True, frozen=True):
    """be called back instead of waiting on the page, keeping the place"""

    ROLES = PATIENT
    mode: Literal["phone", "page"]
    phone: Phone = ""
    slot: SlotMs | UnsetType = UNSET  # from queue.slots


class QueueSlots(ClientMessage, tag="queue.slots", kw_only=True, frozen=True):
    """the call-back time slots on offer"""

    ROLES = PATIENT


class QueueCallbackCancel(ClientMessage, tag="queue.callback_cancel", kw_only=True, frozen=True):
    """wait on the page again"""

    ROLES = PATIENT


class HelpSuggest(ClientMessage, tag="help.suggest", kw_only=True, frozen=True):
    """articles matching a question (left out: the reason given at join)"""

    ROLES = PATIENT
    text: ShortText | UnsetType = UNSET


class HelpResolved(ClientMessage, tag="help.resolved", kw_only=True, frozen=True):
    """an article answered the question: leave the queue (counted as self-help)"""

    ROLES = PATIENT
    slug: Slug


class AssistantAsk(ClientMessage, tag="assistant.ask", kw_only=True, frozen=True):
    """ask the automated assistant"""

    ROLES = PATIENT
    LINES = frozenset({"text"})
    text: ShortText
    language: Language | UnsetType = UNSET  # the page's


class CallRingAnswer(ClientMessage, tag="call.ring_answer", kw_only=True, frozen=True):
    """answer an agent ringing the page for a call-back"""

    ROLES = PATIENT
    accept: bool


class SurveySubmit(ClientMessage, tag="survey.submit", kw_only=True, frozen=True):
    """rate the last call"""

    ROLES = PATIENT
    LINES = frozenset({"comment"})
    rating: Rating
    comment: Comment = ""


# -- lobby connection test (patients) --


class LobbyTestOffer(ClientMessage, tag="lobby.test_offer", kw_only=True, frozen=True):
    """start the echo test with an SDP offer"""

    ROLES = PATIENT
    description: Description


class LobbyTestCandidate(ClientMessage, tag="lobby.test_candidate", kw_only=True, frozen=True):
    """a trickled ICE candidate for the echo test (null: end)"""

    ROLES = PATIENT
    candidate: Candidate | None


class LobbyTestEnd(ClientMessage, tag="lobby.test_end", kw_only=True, frozen=True):
    """stop the echo test"""

    ROLES = PATIENT


# -- agents --


class AgentStatus(ClientMessage, tag="agent.status", kw_only=True, frozen=True):
    """change status"""

    ROLES = AGENT
    status: Literal["available", "away", "offline"]
    reason: Reason = ""


class AgentAccept(ClientMessage, tag="agent.accept", kw_only=True, frozen=True):
    """accept a queue offer"""

    ROLES = AGENT
    token: OfferToken


class AgentDecline(ClientMessage, tag="agent.decline", kw_only=True, frozen=True):
    """decline a queue offer"""

    ROLES = AGENT
    token: OfferToken
    reason: Reason = "declined"


class AgentEnd(ClientMessage, tag="agent.end", kw_only=True, frozen=True):
    """end the call"""

    ROLES = AGENT


class AgentHold(ClientMessage, tag="agent.hold", kw_only=True, frozen=True):
    """put the patient back in the waiting room for a moment"""

    ROLES = AGENT


class AgentUnhold(ClientMessage, tag="agent.unhold", kw_only=True, frozen=True):
    """take the patient back from hold"""

    ROLES = AGENT


class AgentTransfer(ClientMessage, tag="agent.transfer", kw_only=True, frozen=True):
    """hand the patient to another queue or agent with a note"""

    ROLES = AGENT
    LINES = frozenset({"note"})
    queue: QueueName | UnsetType = UNSET
    agent: AgentId | UnsetType = UNSET
    note: Comment = ""


class AgentWrapup(ClientMessage, tag="agent.wrapup", kw_only=True, frozen=True):
    """finish wrap-up with an outcome code"""

    ROLES = AGENT
    LINES = frozenset({"note"})
    outcome: Outcome
    note: LongText = ""
    next: Literal["available", "away"] | UnsetType = UNSET


class AgentRing(ClientMessage, tag="agent.ring", kw_only=True, frozen=True):
    """ring the page of a call-back patient"""

    ROLES = AGENT


class AgentNote(ClientMessage, tag="agent.note", kw_only=True, frozen=True):
    """save private notes on the current call"""

    ROLES = AGENT
    LINES = frozenset({"text"})
    text: LongText


class StaffMessage(ClientMessage, tag="staff.message", kw_only=True, frozen=True):
    """send a message to everyone waiting in a queue"""

    ROLES = ADMIN_OR_AGENT
    LINES = frozenset({"text"})
    queue: QueueName
    text: ShortText


# -- call (every party) --


class CallSdp(ClientMessage, tag="call.sdp", kw_only=True, frozen=True):
    """an SDP offer or answer for another party (``to``; left out: the other of patient
    and agent)"""

    ROLES = SIGNALLERS
    description: Description
    to: Handle | UnsetType = UNSET


class CallIce(ClientMessage, tag="call.ice", kw_only=True, frozen=True):
    """a trickled ICE candidate (null: end) for another party (``to``, as call.sdp)"""

    ROLES = SIGNALLERS
    candidate: Candidate | None
    to: Handle | UnsetType = UNSET


class CallChat(ClientMessage, tag="call.chat", kw_only=True, frozen=True):
    """a chat message, to everyone in the call"""

    ROLES = PARTIES
    LINES = frozenset({"text"})
    text: LongText


class CallMedia(ClientMessage, tag="call.media", kw_only=True, frozen=True):
    """the sender's media connection state"""

    ROLES = PARTIES
    state: Literal["connected", "reconnecting", "failed"]


class CallScreen(ClientMessage, tag="call.screen", kw_only=True, frozen=True):
    """the sender's video is now its screen (``on``), or its camera again; for the party
    ``to`` (left out: the other of patient and agent)"""

    ROLES = CALLERS_ONLY
    on: bool
    to: Handle | UnsetType = UNSET


class CallBye(ClientMessage, tag="call.bye", kw_only=True, frozen=True):
    """hang up (a guest: leave the call)"""

    ROLES = PARTIES


class CallInvite(ClientMessage, tag="call.invite", kw_only=True, frozen=True):
    """make a single-use guest link to this call"""

    ROLES = AGENT
    party: GuestParty
    language: Language | UnsetType = UNSET
    email: EmailAddress | UnsetType = UNSET  # also send the link there (VIDEODESK_SMTP_URL)


class CallRemove(ClientMessage, tag="call.remove", kw_only=True, frozen=True):
    """take a guest out of the call (their link stops working)"""

    ROLES = AGENT
    handle: Handle


# -- guests --


class GuestJoin(ClientMessage, tag="guest.join", kw_only=True, frozen=True):
    """join the call of this guest link, after the lobby (name given, consent read)"""

    ROLES = GUEST
    name: FirstName
    consent: Literal[True]


# -- supervisors --


class SupervisorWatch(ClientMessage, tag="supervisor.watch", kw_only=True, frozen=True):
    """join a call in progress as its supervisor (monitor unless said)"""

    ROLES = SUPERVISORS
    call: CallId
    mode: SupervisionMode = "monitor"


class SupervisorMode(ClientMessage, tag="supervisor.mode", kw_only=True, frozen=True):
    """switch between monitor, whisper and barge in the call being supervised"""

    ROLES = SUPERVISORS
    mode: SupervisionMode


class SupervisorStop(ClientMessage, tag="supervisor.stop", kw_only=True, frozen=True):
    """leave the call being supervised"""

    ROLES = SUPERVISORS


# -- the table ---------------------------------------------------------------------

MESSAGE_TYPES: tuple[type[ClientMessage], ...] = (
    Auth,
    Ping,
    QueueJoin,
    QueueLeave,
    QueueResume,
    QueueCallback,
    QueueSlots,
    QueueCallbackCancel,
    HelpSuggest,
    HelpResolved,
    AssistantAsk,
    CallRingAnswer,
    SurveySubmit,
    LobbyTestOffer,
    LobbyTestCandidate,
    LobbyTestEnd,
    AgentStatus,
    AgentAccept,
    AgentDecline,
    AgentEnd,
    AgentHold,
    AgentUnhold,
    AgentTransfer,
    AgentWrapup,
    AgentRing,
    AgentNote,
    StaffMessage,
    CallSdp,
    CallIce,
    CallChat,
    CallMedia,
    CallScreen,
    CallBye,
    CallInvite,
    CallRemove,
    GuestJoin,
    SupervisorWatch,
    SupervisorMode,
    SupervisorStop,
)
ENVELOPE: tuple[str, ...] = ("type", "id", "v")


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """A client message type: its struct, who may send it, its fields and what it does."""

    struct: type[ClientMessage]
    roles: frozenset[str]
    fields: tuple[str, ...]
    doc: str


CLIENT_MESSAGES: dict[str, MessageSpec] = {
    str(kind.__struct_config__.tag): MessageSpec(
        struct=kind,
        roles=kind.ROLES,
        fields=tuple(f for f in kind.__struct_fields__ if f not in ENVELOPE),
        doc=(kind.__doc__ or "").strip(),
    )
    for kind in MESSAGE_TYPES
}

AnyClientMessage = Union[MESSAGE_TYPES]  # type: ignore[valid-type]  # noqa: UP007
_decoder = msgspec.json.Decoder(AnyClientMessage)


# -- parsing -------------------------------------------------------------------------


def parse(raw: str | bytes, role: str) -> ClientMessage:
    """Validate one raw WebSocket message from a client with ``role``."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too_large", "message is too large")
    try:
        message: ClientMessage = _decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        # Rare: find out why, in the order a client can act on (the slow path).
        message = _explain(raw, role)
    if role not in message.ROLES:
        raise ProtocolError("forbidden", f"{message.type} is not allowed for {role}", message.ref)
    return message


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _explain(raw: str | bytes, role: str) -> ClientMessage:
    """Raise the ProtocolError for a message the fast decoder refused — or return it, when
    only the fast decoder minded (a lone surrogate escape, which JSON can spell, is
    refused by the text rule with the field's name instead)."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("bad_json", "message is not UTF-8 text") from None
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_json", "message is not valid JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_json", "message must be a JSON object")
    ref = data.get("id") if isinstance(data.get("id"), str) else None
    ref = ref if ref is not None and len(ref) <= 64 else None
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("missing_field", "missing field: type", ref)
    spec = CLIENT_MESSAGES.get(kind)
    if spec is None:
        raise ProtocolError("unknown_type", f"unknown message type: {kind[:40]}", ref)
    if role not in spec.roles:
        raise ProtocolError("forbidden", f"{kind} is not allowed for {role}", ref)
    try:
        return msgspec.convert(data, spec.struct)
    except msgspec.ValidationError as exc:
        raise _refusal(str(exc), ref) from None
    except UnicodeEncodeError:  # a lone surrogate met a pattern: say which field
        path = _surrogate_at(data) or "message"
        raise ProtocolError("invalid_field", f"{path}: is not valid Unicode text", ref) from None


def _surrogate_at(value: Any, path: str = "") -> str | None:
    """Where the first text holding a lone surrogate is (``a.b[0]``), if anywhere."""
    if isinstance(value, str):
        return path if text_problem(value, lines=True) == "is not valid Unicode text" else None
    if isinstance(value, dict):
        items: Any = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, item in items:
        found = _surrogate_at(item, where)
        if found is not None:
            return found
    return None


_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_FIELD = re.compile(r"^Object (?P<kind>missing required|contains unknown) field `(?P<name>[^`]*)`$")
_OWN = re.compile(r"^(?P<name>\w+): (?P<problem>.+)$", re.S)  # from Checked.__post_init__
_KINDS = {
    "str": "must be text",
    "int": "must be a whole number",
    "bool": "must be true or false",
    "array": "must be a list",
    "object": "must be an object",
    "null": "must be null",
}


def _refusal(error: str, ref: str | None) -> ProtocolError:
    """msgspec's account of a refused field in the protocol's codes and plain words."""
    parts = _AT.match(error)
    what = parts["what"] if parts else error
    path = ((parts["path"] or "") if parts else "").lstrip(".")
    prefix = f"{path}." if path else ""
    field = _FIELD.match(what)
    if field is not None:
        name = prefix + field["name"][:40]
        if field["kind"] == "missing required":
            return ProtocolError("missing_field", f"missing field: {name}", ref)
        return ProtocolError("unknown_field", f"unknown field: {name}", ref)
    own = _OWN.match(what)
    if own is not None:
        return ProtocolError("invalid_field", f"{prefix}{own['name']}: {own['problem']}", ref)
    return ProtocolError("invalid_field", f"{path or 'message'}: {plain_words(what)}", ref)


def plain_words(what: str) -> str:
    """msgspec's account of a refused value, in plain words (also for REST bodies)."""
    if match := re.match(r"^Expected `str` of length <= (\d+)$", what):
        return f"longer than {match[1]} characters"
    if match := re.match(r"^Expected `array` of length <= (\d+)$", what):
        return f"must be a list of at most {match[1]} items"
    if match := re.match(r"^Expected `int` ([<>]=) (-?\d+)$", what):
        return f"must be {'at most' if match[1] == '<=' else 'at least'} {match[2]}"
    if what.startswith("Expected `str` matching regex"):
        return "is not in the expected form"
    if what.startswith("Invalid enum value"):
        return "is not one of the values this field takes"
    if match := re.match(r"^Expected `(\w+)`", what):
        return _KINDS.get(match[1], "is of the wrong kind")
    return "is not valid"


def error_message(code: str, message: str, ref: str | None = None) -> Error:
    """The ``error`` message the server sends back."""
    return Error(code=code, message=message, ref=UNSET if ref is None else ref)
