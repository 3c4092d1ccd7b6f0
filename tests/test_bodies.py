"""REST request bodies as typed structs (issue 13 item 1, REST part).

Each JSON body of the API is one struct of :mod:`server.api.body`; the OpenAPI document's
schemas are generated from those structs; a refused body keeps the stable code it had
when bodies were checked by hand (the hand checker is kept here as the oracle, and
hypothesis compares the two on arbitrary bodies)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.api import body as bodies
from server.api.body import (
    ANSWERS,
    REQUEST_BODIES,
    MailRequest,
    SearchRequest,
    SessionRequest,
    TokenRequest,
    WebhookRequest,
    decode,
)
from server.api.openapi import REF, document
from server.auth.tokens import MAX_TOKEN_TTL
from server.core.errors import BadRequest
from signaling.text import text_problem

ROUTES = {
    ("/api/v1/session", "post"): SessionRequest,
    ("/api/v1/tokens", "post"): TokenRequest,
    ("/api/v1/mail/invitations", "post"): MailRequest,
    ("/api/v1/help/search", "post"): SearchRequest,
    ("/api/v1/webhooks", "post"): WebhookRequest,
}


def refusal(raw: bytes, kind: type[bodies.Body]) -> tuple[str, str]:
    with pytest.raises(BadRequest) as refused:
        decode(raw, kind)
    return refused.value.code, refused.value.message


# -- the document ----------------------------------------------------------------------


def test_every_request_body_in_the_document_is_its_struct() -> None:
    doc = document()
    documented = {
        (path, method): op["requestBody"]
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if "requestBody" in op
    }
    assert set(documented) == set(ROUTES)
    for route, kind in ROUTES.items():
        schema = documented[route]["content"]["application/json"]["schema"]
        assert schema == {"$ref": REF + kind.__name__}, route


def test_the_schemas_are_generated_from_the_structs() -> None:
    schemas = document()["components"]["schemas"]
    _, generated = msgspec.json.schema_components(
        (*REQUEST_BODIES, *ANSWERS), ref_template=REF + "{name}"
    )
    assert set(schemas) == set(generated)
    for name, schema in generated.items():
        expected = json.loads(msgspec.json.encode(schema))
        expected.pop("description", None)
        assert {k: v for k, v in schemas[name].items() if k != "description"} == expected
    for kind in REQUEST_BODIES:
        assert schemas[kind.__name__]["additionalProperties"] is False
        assert set(schemas[kind.__name__]["properties"]) == set(kind.__struct_fields__)


def test_documented_limits_are_the_enforced_ones() -> None:
    props = document()["components"]["schemas"]["TokenRequest"]["properties"]
    assert props["name"]["maxLength"] == 80
    assert props["queues"]["maxItems"] == 32
    assert props["ttl"]["anyOf"][0]["maximum"] == MAX_TOKEN_TTL
    assert refusal(b'{"type": "agent", "name": "%s"}' % (b"x" * 81), TokenRequest)[0] == (
        "bad_request"
    )
    assert decode(b'{"type": "agent", "name": "%s"}' % (b"x" * 80), TokenRequest).name == "x" * 80


# -- refusals: today's codes, the field named ------------------------------------------


@pytest.mark.parametrize("kind", REQUEST_BODIES)
def test_an_unknown_field_is_a_bad_request_naming_it(kind: type[bodies.Body]) -> None:
    code, message = refusal(b'{"type": "agent", "to": "a@b.org", "isAdmin": true}', kind)
    assert (code, message) == ("bad_request", "unknown field: isAdmin")


@pytest.mark.parametrize(
    ("raw", "kind", "code", "named"),
    [
        (b"{", TokenRequest, "bad_request", "JSON"),
        (b"\xff\xfe", TokenRequest, "bad_request", "JSON"),
        (b"[" * 5000 + b"]" * 5000, TokenRequest, "bad_request", "JSON"),
        (b'["not", "an", "object"]', TokenRequest, "bad_request", "object"),
        (b"{}", TokenRequest, "bad_request", "type"),
        (b'{"type": "root"}', TokenRequest, "bad_request", "type"),
        (b'{"type": "agent", "name": "line\\nbreak"}', TokenRequest, "bad_request", "name"),
        (b'{"type": "agent", "name": "Sam\\udfff"}', TokenRequest, "bad_request", "name"),
        (b'{"type": "agent", "label": 5}', TokenRequest, "bad_request", "label"),
        (b'{"type": "agent", "ttl": 10}', TokenRequest, "bad_request", "ttl"),
        (b'{"type": "agent", "ttl": "long"}', TokenRequest, "bad_request", "ttl"),
        (b'{"type": "agent", "ttl": true}', TokenRequest, "bad_request", "ttl"),
        (b'{"type": "agent", "ttl": 600.0}', TokenRequest, "bad_request", "ttl"),
        (b'{"type": "agent", "valid_from": -1}', TokenRequest, "bad_request", "valid_from"),
        (b'{"type": "agent", "queues": "main"}', TokenRequest, "bad_request", "queues"),
        (b'{"type": "agent", "queues": [""]}', TokenRequest, "bad_request", "queues[0]"),
        (b'{"type": "agent", "languages": [5]}', TokenRequest, "bad_request", "languages[0]"),
        (b'{"type": "agent", "queue": null}', TokenRequest, "bad_request", "queue"),
        (b'{"type": "agent", "priority": "very urgent"}', TokenRequest, "bad_request", "priority"),
        (b'{"token": 5}', SessionRequest, "bad_request", "token"),
        (b'{"token": "eyJ\\ud800.x.y"}', SessionRequest, "bad_request", "token"),
        (b'{"q": ["x"]}', SearchRequest, "bad_request", "q"),
        (b'{"q": "%s"}' % (b"x" * 501), SearchRequest, "bad_request", "q"),
        (b"{}", MailRequest, "invalid_address", "to"),
        (b'{"to": null}', MailRequest, "invalid_address", "to"),
        (b'{"to": 5}', MailRequest, "invalid_address", "to"),
        (b'{"to": "a@b.org\\u2028Bcc: e@f.org"}', MailRequest, "invalid_address", "to"),
        (b'{"to": "%s@b.org"}' % (b"a" * 250), MailRequest, "invalid_address", "to"),
        (b'{"to": "a@b.org", "token": 5}', MailRequest, "bad_request", "token"),
        (b'{"to": "a@b.org", "link": "x\\u0000"}', MailRequest, "bad_request", "link"),
    ],
)
def test_a_refused_body_keeps_its_code_and_names_the_field(
    raw: bytes, kind: type[bodies.Body], code: str, named: str
) -> None:
    refused_code, message = refusal(raw, kind)
    assert refused_code == code
    assert named in message


def test_unknown_fields_come_first_then_fields_in_the_structs_order() -> None:
    raw = b'{"ttl": "x", "name": 5, "zz": 1, "type": "root"}'
    assert refusal(raw, TokenRequest)[1] == "unknown field: zz"
    assert refusal(b'{"ttl": "x", "name": 5, "type": "root"}', TokenRequest)[1].startswith("type")
    assert refusal(b'{"ttl": "x", "name": 5, "type": "agent"}', TokenRequest)[1].startswith("name")
    assert refusal(b'{"token": 5, "to": null}', MailRequest)[0] == "invalid_address"


# -- what handlers receive --------------------------------------------------------------


def test_handlers_receive_typed_stripped_values() -> None:
    raw = b'{"type": "invite", "queue": " main ", "name": " Ana ", "ttl": null}'
    body = decode(raw, TokenRequest)
    assert (body.type, body.queue, body.name, body.ttl, body.queues) == (
        "invite",
        "main",
        "Ana",
        None,
        (),
    )
    assert decode(b"{}", SessionRequest).token == ""
    assert decode(b'{"q": "  hello "}', SearchRequest).q == "hello"
    mail = decode(b'{"to": "a@b.org", "link": "x"}', MailRequest)
    assert mail.token is bodies.UNSET and mail.link == "x"


def test_json_the_standard_library_reads_is_read_as_before() -> None:
    # The fast decoder refuses these; the slow path reads them as json.loads always did.
    assert decode(b'\xef\xbb\xbf{"type": "agent"}', TokenRequest).type == "agent"
    assert decode('{"type": "agent"}'.encode("utf-16"), TokenRequest).type == "agent"
    # A lone surrogate in a list of names is a name no queue has (unknown_queue later).
    assert decode(b'{"type": "agent", "queues": ["\\ud800"]}', TokenRequest).queues == ("\ud800",)


def test_the_command_line_body_is_checked_the_same_way() -> None:
    assert bodies.convert({"type": "agent", "name": " Sam "}, TokenRequest).name == "Sam"
    with pytest.raises(BadRequest, match="ttl"):
        bodies.convert({"type": "agent", "ttl": 5}, TokenRequest)


# -- the hand checker of before, as the oracle ---------------------------------------------


def _old_text(body: dict[str, Any], name: str, limit: int, default: str = "") -> str:
    value = body.get(name, default)
    if not isinstance(value, str) or len(value) > limit or text_problem(value) is not None:
        raise BadRequest(name)
    return value.strip()


def _old_integer(body: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(name)
    return value


def _old_names(body: dict[str, Any], name: str) -> tuple[str, ...]:
    value = body.get(name, [])
    if not isinstance(value, list) or len(value) > 32:
        raise BadRequest(name)
    if not all(isinstance(item, str) and 0 < len(item) <= 32 for item in value):
        raise BadRequest(name)
    return tuple(value)


def old_token_request(raw: bytes) -> dict[str, Any]:
    """The field checks of server/api/tokens.py before the structs (queues not looked up)."""
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise BadRequest("json") from None
    if not isinstance(body, dict) or set(body) - set(TokenRequest.__struct_fields__):
        raise BadRequest("shape")
    if body.get("type") not in ("admin", "agent", "invite", "desk"):
        raise BadRequest("type")
    queues = _old_names(body, "queues")
    if "queue" in body:
        queues = (_old_text(body, "queue", 32),)
    return {
        "type": body["type"],
        "queues": queues,
        "languages": _old_names(body, "languages"),
        "name": _old_text(body, "name", 80),
        "label": _old_text(body, "label", 80),
        "reason": _old_text(body, "reason", 500),
        "priority": _old_text(body, "priority", 10, default="normal") or "normal",
        "ttl": _old_integer(body, "ttl", 60, MAX_TOKEN_TTL),
        "valid_from": _old_integer(body, "valid_from", 0, 2**40),
    }


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 2**41),
    st.sampled_from([60, 3600, MAX_TOKEN_TTL, MAX_TOKEN_TTL + 1, 0.5, 600.0, float("nan")]),
    st.sampled_from(["admin", "agent", "invite", "desk", "urgent", "", " main ", "\ud800"]),
    st.text(max_size=90),
    st.builds(lambda n: "x" * n, st.integers(0, 600)),
    st.lists(st.one_of(st.text(max_size=40), st.integers()), max_size=34),
)
FIELDS = st.sampled_from([*TokenRequest.__struct_fields__, "isAdmin"])


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(FIELDS, VALUES, max_size=5), st.booleans())
def test_token_requests_are_judged_as_by_the_hand_checker(
    body: dict[str, Any], typed: bool
) -> None:
    if typed:
        body.setdefault("type", "agent")
    raw = json.dumps(body).encode()
    try:
        expected: dict[str, Any] | None = old_token_request(raw)
    except BadRequest:
        expected = None
    try:
        got = decode(raw, TokenRequest)
    except BadRequest as refused:
        assert refused.code == "bad_request"
        assert expected is None, (body, refused.message)
        return
    assert expected is not None, body
    queues = got.queues if got.queue is bodies.UNSET else (got.queue,)
    assert {
        **msgspec.structs.asdict(got),
        "queues": queues,
        "priority": got.priority or "normal",
    } | {"queue": None} == expected | {"queue": None}


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_a_body_or_a_bad_request(raw: bytes) -> None:
    for kind in REQUEST_BODIES:
        try:
            decode(raw, kind)
        except BadRequest as refused:
            assert refused.code in ("bad_request", "invalid_address")
