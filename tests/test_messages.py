"""The message parser: valid messages pass, and nothing but ProtocolError ever escapes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaling.messages import CLIENT_MESSAGES, ClientMessage, ProtocolError, parse

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
        assert role in CLIENT_MESSAGES[kind].roles
        assert set(result.data) <= set(CLIENT_MESSAGES[kind].fields)


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
    assert "type" not in parsed.data and "id" not in parsed.data and "v" not in parsed.data


def test_wrong_version_is_refused() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse('{"type": "ping", "v": 2}', "patient")
    assert caught.value.code == "invalid_field"


def test_error_carries_the_message_id() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse('{"type": "queue.join", "id": "abc"}', "patient")
    assert caught.value.ref == "abc"
