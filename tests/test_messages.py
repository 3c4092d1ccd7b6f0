"""The message parser: valid messages pass, and nothing but ProtocolError ever escapes."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaling.messages import CLIENT_MESSAGES, CallIce, ClientMessage, ProtocolError, parse

ROLES = ("patient", "agent", "admin", "unauthenticated")
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


def outcome(raw: str | bytes, role: str) -> ClientMessage | ProtocolError:
    try:
        return parse(raw, role)
    except ProtocolError as exc:
        return exc


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300) | st.text(max_size=300), st.sampled_from(ROLES))
def test_arbitrary_input_only_ever_raises_protocol_error(raw: str | bytes, role: str) -> None:
    outcome(raw, role)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(CLIENT_MESSAGES)),
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "v",
                "name",
                "text",
                "token",
                "status",
                "candidate",
                "description",
                "rating",
                "queue",
                "mode",
                "phone",
                "needs",
                "x",
            ]
        ),
        JSON_VALUES,
        max_size=5,
    ),
    st.sampled_from(ROLES),
)
def test_messages_of_every_type_with_random_fields(
    kind: str, fields: dict[str, Any], role: str
) -> None:
    result = outcome(json.dumps({"type": kind, **fields}), role)
    if isinstance(result, ClientMessage):
        assert result.type == kind
        assert isinstance(result, CLIENT_MESSAGES[kind].struct)
        assert role in CLIENT_MESSAGES[kind].roles
        assert set(fields) - {"id", "v"} <= set(CLIENT_MESSAGES[kind].fields)


VALID: list[tuple[str, dict[str, Any]]] = [
    (
        "patient",
        {
            "type": "queue.join",
            "name": "Ana",
            "reason": "r",
            "language": "es",
            "needs": ["interpreter"],
            "id": "m1",
            "v": 1,
        },
    ),
    ("patient", {"type": "queue.callback", "mode": "phone", "phone": "+44 7700 900461"}),
    ("patient", {"type": "survey.submit", "rating": 5, "comment": "thank you\nso much"}),
    ("agent", {"type": "agent.accept", "token": "123"}),
    ("agent", {"type": "agent.transfer", "queue": "billing", "note": "invoice"}),
    ("agent", {"type": "call.ice", "candidate": None}),
    (
        "patient",
        {"type": "call.ice", "candidate": {"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0}},
    ),
    ("admin", {"type": "staff.message", "queue": "billing", "text": "Short delay today"}),
    ("unauthenticated", {"type": "auth", "token": "t", "role": "agent"}),
]


@pytest.mark.parametrize(("role", "message"), VALID)
def test_valid_messages_pass(role: str, message: dict[str, Any]) -> None:
    parsed = parse(json.dumps(message), role)
    assert parsed.type == message["type"]
    assert isinstance(parsed, CLIENT_MESSAGES[message["type"]].struct)
    assert parsed.ref == message.get("id")
    for name, value in message.items():
        if name not in ("type", "id", "v"):
            got = getattr(parsed, name)
            if isinstance(got, msgspec.Struct):
                got = msgspec.to_builtins(got)
            assert got == (tuple(value) if isinstance(value, list) else value), name


def test_wrong_version_is_refused() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse('{"type": "ping", "v": 2}', "patient")
    assert caught.value.code == "invalid_field"


def test_error_carries_the_message_id() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse('{"type": "queue.join", "id": "abc"}', "patient")
    assert caught.value.ref == "abc"


REFUSED = [
    ('{"type": "queue.join"}', "missing_field", "missing field: name"),
    ('{"type": "queue.join", "name": "Ana", "x": 1}', "unknown_field", "unknown field: x"),
    ('{"type": "queue.join", "name": 5}', "invalid_field", "name: must be text"),
    ('{"type": "queue.join", "name": null}', "invalid_field", "name: must be text"),
    (
        '{"type": "queue.join", "name": "Ana", "reason": null}',
        "invalid_field",
        "reason: must be text",
    ),
    (
        '{"type": "queue.join", "name": "Ana\\u0007"}',
        "invalid_field",
        "name: contains control characters",
    ),
    (
        '{"type": "queue.join", "name": "Ana\\ud800"}',
        "invalid_field",
        "name: is not valid Unicode text",
    ),
    (
        '{"type": "queue.callback", "mode": "\\ud800"}',
        "invalid_field",
        "mode: is not valid Unicode text",
    ),
    (
        '{"type": "call.ice", "candidate": {"candidate": "x", "sdpMid": "\\udc00"}}',
        "invalid_field",
        "candidate.sdpMid: is not valid Unicode text",
    ),
    (
        '{"type": "queue.join", "name": "Ana", "needs": ["x"]}',
        "invalid_field",
        "needs[0]: is not one of the values this field takes",
    ),
    (
        json.dumps({"type": "queue.join", "name": "A", "needs": ["caregiver"] * 4}),
        "invalid_field",
        "needs: must be a list of at most 3 items",
    ),
    ('{"type": "survey.submit", "rating": 6}', "invalid_field", "rating: must be at most 5"),
    ('{"type": "survey.submit", "rating": 4.0}', "invalid_field", "rating: must be a whole number"),
    (
        '{"type": "survey.submit", "rating": true}',
        "invalid_field",
        "rating: must be a whole number",
    ),
    (
        '{"type": "queue.callback", "mode": "phone", "phone": "call me"}',
        "invalid_field",
        "phone: is not in the expected form",
    ),
    (
        '{"type": "queue.join", "name": "' + "a" * 81 + '"}',
        "invalid_field",
        "name: longer than 80 characters",
    ),
    (
        '{"type": "call.ice", "candidate": {"candidate": "x", "sdpMLineIndex": 16}}',
        "invalid_field",
        "candidate.sdpMLineIndex: must be at most 15",
    ),
    (
        '{"type": "call.ice", "candidate": {"sdpMid": "0"}}',
        "missing_field",
        "missing field: candidate.candidate",
    ),
    (
        '{"type": "call.ice", "candidate": {"candidate": "x\\n"}}',
        "invalid_field",
        "candidate.candidate: contains control characters",
    ),
    (
        '{"type": "call.sdp", "description": {"type": "pranswer", "sdp": ""}}',
        "invalid_field",
        "description.type: is not one of the values this field takes",
    ),
    ('{"type": "queue.nope"}', "unknown_type", "unknown message type: queue.nope"),
    ('{"name": "Ana"}', "missing_field", "missing field: type"),
    ('{"type": 7}', "missing_field", "missing field: type"),
    ("[]", "bad_json", "message must be a JSON object"),
    ('{"type": "ping", "x": NaN}', "bad_json", "message is not valid JSON"),
    ('{"type": "ping"', "bad_json", "message is not valid JSON"),
    ('{"type": "agent.end"}', "forbidden", "agent.end is not allowed for patient"),
    ('{"type": "agent.end", "bogus": 1}', "forbidden", "agent.end is not allowed for patient"),
]


@pytest.mark.parametrize(("raw", "code", "words"), REFUSED)
def test_refusals_have_a_stable_code_and_plain_words(raw: str, code: str, words: str) -> None:
    """What a client author reads: the code to act on, and which field and why."""
    with pytest.raises(ProtocolError) as caught:
        parse(raw, "patient")
    assert (caught.value.code, caught.value.message) == (code, words)


def test_a_relayed_candidate_keeps_only_the_fields_sent() -> None:
    parsed = parse('{"type": "call.ice", "candidate": {"candidate": "", "sdpMid": "0"}}', "agent")
    assert isinstance(parsed, CallIce) and parsed.candidate is not None
    assert parsed.candidate.builtins() == {"candidate": "", "sdpMid": "0"}
