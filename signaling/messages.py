"""The WebSocket protocol's message schema and its strict parser.

Every message is a JSON object with a ``type``. Each type lists its fields with
their kinds and limits, and the roles allowed to send it; anything else (an
unknown type, an unknown or missing field, a wrong kind, a string too long, a
float where a whole number belongs, NaN, deep nesting) is refused with a
:class:`ProtocolError` carrying a stable code. Nothing in here raises anything
else, whatever the input (a hypothesis test feeds it arbitrary bytes).

docs/protocol.md describes the same table for people writing a client; a test
checks that the two agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from signaling.text import text_problem

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


@dataclass(frozen=True, slots=True)
class Field:
    """One field: a kind checker plus whether it may be left out."""

    check: Callable[[str, Any], Any]
    required: bool = True
    doc: str = ""


def _fail(name: str, what: str) -> ProtocolError:
    return ProtocolError("invalid_field", f"{name}: {what}")


def text(
    limit: int, *, pattern: str | None = None, lines: bool = False
) -> Callable[[str, Any], str]:
    """A string of at most ``limit`` characters that :func:`text_problem` accepts.

    ``lines`` allows tabs and line breaks (chat, notes); ``pattern`` is a full-match regex.
    """
    compiled = re.compile(pattern) if pattern else None

    def check(name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise _fail(name, "must be text")
        if len(value) > limit:
            raise _fail(name, f"longer than {limit} characters")
        problem = text_problem(value, lines=lines)
        if problem is not None:
            raise _fail(name, problem)
        if compiled is not None and not compiled.fullmatch(value):
            raise _fail(name, "is not in the expected form")
        return value

    return check


def integer(low: int, high: int) -> Callable[[str, Any], int]:
    def check(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(name, "must be a whole number")
        if not low <= value <= high:
            raise _fail(name, f"must be between {low} and {high}")
        return value

    return check


def boolean() -> Callable[[str, Any], bool]:
    def check(name: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise _fail(name, "must be true or false")
        return value

    return check


def choice(*options: str) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in options:
            raise _fail(name, f"must be one of {', '.join(options)}")
        return value

    return check


def listing(item: Callable[[str, Any], Any], limit: int) -> Callable[[str, Any], list[Any]]:
    def check(name: str, value: Any) -> list[Any]:
        if not isinstance(value, list) or len(value) > limit:
            raise _fail(name, f"must be a list of at most {limit} items")
        return [item(f"{name}[]", v) for v in value]

    return check


def obj(fields: Mapping[str, Field], *, nullable: bool = False) -> Callable[[str, Any], Any]:
    def check(name: str, value: Any) -> Any:
        if value is None and nullable:
            return None
        if not isinstance(value, dict):
            raise _fail(name, "must be an object")
        return _check_fields(value, fields, prefix=f"{name}.")

    return check


def _check_fields(
    data: dict[str, Any], fields: Mapping[str, Field], prefix: str = ""
) -> dict[str, Any]:
    unknown = [key for key in data if key not in fields]
    if unknown:
        raise ProtocolError("unknown_field", f"unknown field: {prefix}{str(unknown[0])[:40]}")
    result: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in data:
            if spec.required:
                raise ProtocolError("missing_field", f"missing field: {prefix}{name}")
            continue
        result[name] = spec.check(prefix + name, data[name])
    return result


# -- the message table ---------------------------------------------------------------

PATIENT = frozenset({"patient"})
AGENT = frozenset({"agent"})
CALLERS = frozenset({"patient", "agent"})
ANYONE = frozenset({"patient", "agent", "admin"})
ADMIN_OR_AGENT = frozenset({"admin", "agent"})

LANGUAGE = text(3, pattern=r"[a-z]{2,3}")
NEEDS = choice("interpreter", "caregiver", "accessibility")
PHONE = text(32, pattern=r"\+?[0-9][0-9 ()\-]{5,30}")
SDP_TYPES = ("offer", "answer")
CANDIDATE = obj(
    {
        "candidate": Field(text(512), doc="a=candidate line without 'a=', or '' for end"),
        "sdpMid": Field(text(32), required=False),
        "sdpMLineIndex": Field(integer(0, 15), required=False),
        "usernameFragment": Field(text(256), required=False),
    },
    nullable=True,
)
DESCRIPTION = obj(
    {
        "type": Field(choice(*SDP_TYPES)),
        "sdp": Field(text(MAX_MESSAGE_BYTES, lines=True)),
    }
)


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """A client message type: who may send it and its fields."""

    roles: frozenset[str]
    fields: Mapping[str, Field] = field(default_factory=dict)
    doc: str = ""


CLIENT_MESSAGES: dict[str, MessageSpec] = {
    # -- authentication (first message, when there is no session cookie) --
    "auth": MessageSpec(
        ANYONE | {"unauthenticated"},
        {
            "token": Field(text(4096), doc="a patient, agent or admin token"),
            "role": Field(choice("patient", "agent", "admin")),
        },
        "authenticate by token (bots, the admin console)",
    ),
    # -- system --
    "ping": MessageSpec(ANYONE, {}, "application-level ping; answered with pong"),
    # -- queue (patients) --
    "queue.join": MessageSpec(
        PATIENT,
        {
            "name": Field(text(80), doc="first name, shown to the agent"),
            "reason": Field(text(500), required=False),
            "language": Field(LANGUAGE, required=False),
            "needs": Field(listing(NEEDS, 3), required=False),
        },
        "join the queue of the patient's link, or find the place already held",
    ),
    "queue.leave": MessageSpec(PATIENT, {}, "leave the queue (or end the call)"),
    "queue.resume": MessageSpec(PATIENT, {}, "ask for the current state again"),
    "queue.callback": MessageSpec(
        PATIENT,
        {
            "mode": Field(choice("phone", "page")),
            "phone": Field(PHONE, required=False),
            "slot": Field(integer(0, 2**48), required=False, doc="a slot from queue.slots"),
        },
        "be called back instead of waiting on the page, keeping the place",
    ),
    "queue.slots": MessageSpec(PATIENT, {}, "the call-back time slots on offer"),
    "queue.callback_cancel": MessageSpec(PATIENT, {}, "wait on the page again"),
    "help.suggest": MessageSpec(
        PATIENT, {"text": Field(text(500), required=False)}, "articles matching a question"
    ),
    "help.resolved": MessageSpec(
        PATIENT,
        {"slug": Field(text(80, pattern=r"[a-z0-9][a-z0-9-]*"))},
        "an article answered the question: leave the queue (counted as self-help)",
    ),
    "assistant.ask": MessageSpec(
        PATIENT,
        {
            "text": Field(text(500, lines=True)),
            "language": Field(LANGUAGE, required=False, doc="the articles' language (the page's)"),
        },
        "ask the automated assistant",
    ),
    "call.ring_answer": MessageSpec(
        PATIENT, {"accept": Field(boolean())}, "answer an agent ringing the page for a call-back"
    ),
    "survey.submit": MessageSpec(
        PATIENT,
        {"rating": Field(integer(1, 5)), "comment": Field(text(1000, lines=True), required=False)},
        "rate the last call",
    ),
    # -- lobby connection test (patients) --
    "lobby.test_offer": MessageSpec(
        PATIENT, {"description": Field(DESCRIPTION)}, "start the echo test with an SDP offer"
    ),
    "lobby.test_candidate": MessageSpec(
        PATIENT, {"candidate": Field(CANDIDATE)}, "a trickled ICE candidate for the echo test"
    ),
    "lobby.test_end": MessageSpec(PATIENT, {}, "stop the echo test"),
    # -- agents --
    "agent.status": MessageSpec(
        AGENT,
        {
            "status": Field(choice("available", "away", "offline")),
            "reason": Field(text(60), required=False),
        },
        "change status",
    ),
    "agent.accept": MessageSpec(AGENT, {"token": Field(text(20, pattern=r"[0-9]+"))}, "accept"),
    "agent.decline": MessageSpec(
        AGENT,
        {"token": Field(text(20, pattern=r"[0-9]+")), "reason": Field(text(60), required=False)},
        "decline an offer",
    ),
    "agent.end": MessageSpec(AGENT, {}, "end the call"),
    "agent.hold": MessageSpec(AGENT, {}, "put the patient back in the waiting room for a moment"),
    "agent.unhold": MessageSpec(AGENT, {}, "take the patient back from hold"),
    "agent.transfer": MessageSpec(
        AGENT,
        {
            "queue": Field(text(32), required=False),
            "agent": Field(text(64), required=False),
            "note": Field(text(1000, lines=True), required=False),
        },
        "hand the patient to another queue or agent with a note",
    ),
    "agent.wrapup": MessageSpec(
        AGENT,
        {
            "outcome": Field(text(32, pattern=r"[a-z][a-z0-9_-]*")),
            "note": Field(text(2000, lines=True), required=False),
            "next": Field(choice("available", "away"), required=False),
        },
        "finish wrap-up with an outcome code",
    ),
    "agent.ring": MessageSpec(AGENT, {}, "ring the page of a call-back patient"),
    "agent.note": MessageSpec(
        AGENT, {"text": Field(text(2000, lines=True))}, "save private notes on the current call"
    ),
    "staff.message": MessageSpec(
        ADMIN_OR_AGENT,
        {"queue": Field(text(32)), "text": Field(text(500, lines=True))},
        "send a message to everyone waiting in a queue",
    ),
    # -- call (both parties) --
    "call.sdp": MessageSpec(
        CALLERS, {"description": Field(DESCRIPTION)}, "an SDP offer or answer for the peer"
    ),
    "call.ice": MessageSpec(
        CALLERS, {"candidate": Field(CANDIDATE)}, "a trickled ICE candidate (null: end)"
    ),
    "call.chat": MessageSpec(CALLERS, {"text": Field(text(2000, lines=True))}, "a chat message"),
    "call.media": MessageSpec(
        CALLERS,
        {"state": Field(choice("connected", "reconnecting", "failed"))},
        "the sender's media connection state",
    ),
    "call.bye": MessageSpec(CALLERS, {}, "hang up"),
}

# Fields every message may carry.
ENVELOPE: dict[str, Field] = {
    "type": Field(text(40)),
    "id": Field(text(64, pattern=r"[A-Za-z0-9_.:-]+"), required=False, doc="echoed as ref"),
    "v": Field(integer(PROTOCOL_VERSION, PROTOCOL_VERSION), required=False),
}


@dataclass(frozen=True, slots=True)
class ClientMessage:
    """A validated message from a client."""

    type: str
    data: dict[str, Any]
    id: str | None = None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def parse(raw: str | bytes, role: str) -> ClientMessage:
    """Validate one raw WebSocket message from a client with ``role``."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_MESSAGE_BYTES:
            raise ProtocolError("too_large", "message is too large")
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("bad_json", "message is not UTF-8 text") from None
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too_large", "message is too large")
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
        checked = _check_fields(data, {**ENVELOPE, **spec.fields})
    except ProtocolError as exc:
        exc.ref = ref
        raise
    msg_id = checked.pop("id", None)
    checked.pop("type")
    checked.pop("v", None)
    return ClientMessage(type=kind, data=checked, id=msg_id)


def error_message(code: str, message: str, ref: str | None = None) -> dict[str, Any]:
    """The ``error`` message the server sends back."""
    body: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if ref is not None:
        body["ref"] = ref
    return body
