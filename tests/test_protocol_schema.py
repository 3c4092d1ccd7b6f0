"""docs/protocol.schema.json is the structs' schema, and protocol.js sends only what it allows.

The schema file is generated (``python -m signaling.schema``) and committed; these tests
fail when it is stale. protocol.js is read as source (tests/support/protocol_js.py): for
every client message type there is exactly one sender, it puts in only fields the schema
allows for that type (the server refuses the others: ``unknown_field``), always including
the required ones, and the nested objects it builds (SDP descriptions, ICE candidates)
keep to their schema too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from signaling.messages import CLIENT_MESSAGES, ENVELOPE, ProtocolError, parse
from signaling.schema import COMMAND, SCHEMA_PATH, main, render
from tests.support.protocol_js import Field, Sender, Shape, Unreadable, senders

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL_JS = ROOT / "web" / "static" / "js" / "lib" / "protocol.js"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
DEFS: dict[str, Any] = SCHEMA["$defs"]
MAPPING: dict[str, str] = SCHEMA["discriminator"]["mapping"]


def definition(ref: str) -> dict[str, Any]:
    result: dict[str, Any] = DEFS[ref.rpartition("/")[2]]
    return result


def message_schema(kind: str) -> dict[str, Any]:
    return definition(MAPPING[kind])


# -- the committed file --------------------------------------------------------------


def test_committed_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(), (
        f"docs/protocol.schema.json is out of date with signaling/messages.py or "
        f"signaling/server_messages.py: "
        f"run `{COMMAND}` to regenerate it, and commit it"
    )


def test_check_says_when_the_file_is_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "protocol.schema.json"
    assert main(["--check", "--output", str(output)]) == 1
    assert "is missing" in capsys.readouterr().err
    assert main(["--output", str(output)]) == 0
    assert main(["--check", "--output", str(output)]) == 0
    output.write_text(output.read_text().replace('"maxLength": 80', '"maxLength": 81'))
    assert main(["--check", "--output", str(output)]) == 1
    error = capsys.readouterr().err
    assert "out of date" in error and COMMAND in error


def test_schema_has_every_message_with_its_roles_and_doc() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert set(MAPPING) == set(CLIENT_MESSAGES)
    assert len(SCHEMA["anyOf"]) == len(CLIENT_MESSAGES)
    for kind, spec in CLIENT_MESSAGES.items():
        schema = message_schema(kind)
        assert schema["x-roles"] == sorted(spec.roles)
        assert schema["description"] == spec.doc
        assert schema["additionalProperties"] is False
        assert schema["properties"]["type"] == {"enum": [kind]}
        assert set(schema["properties"]) == {*ENVELOPE, *spec.fields}


VALID = [
    {"type": "queue.join", "name": "Ana", "needs": ["interpreter"], "id": "m1", "v": 1},
    {"type": "queue.callback", "mode": "phone", "phone": "+44 20 7946 0000"},
    {"type": "call.ice", "candidate": None},
    {"type": "call.ice", "candidate": {"candidate": "", "sdpMLineIndex": 0}},
    {"type": "survey.submit", "rating": 5, "comment": "good"},
]
INVALID = [
    {"type": "queue.join"},
    {"type": "queue.join", "name": "x" * 81},
    {"type": "queue.join", "name": "Ana", "colour": "red"},
    {"type": "survey.submit", "rating": 6},
    {"type": "call.ice", "candidate": {"candidate": "", "sdpMLineIndex": 16}},
    {"type": "agent.accept", "token": "abc"},
    {"type": "nope"},
]


@pytest.mark.parametrize("message", VALID + INVALID, ids=lambda m: str(m["type"]))
def test_schema_and_parser_agree(message: dict[str, Any]) -> None:
    """The schema, read by a JSON Schema validator, accepts what the server accepts."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    try:
        parse(json.dumps(message), "patient" if "token" not in message else "agent")
        accepted = True
    except ProtocolError:
        accepted = False
    assert validator.is_valid(message) is accepted is (message in VALID)


# -- protocol.js -----------------------------------------------------------------------


def js_senders() -> dict[str, list[Sender]]:
    by_kind: dict[str, list[Sender]] = {}
    for sender in senders(PROTOCOL_JS):
        for kind in sender.kinds:
            by_kind.setdefault(kind, []).append(sender)
    return by_kind


def test_protocol_js_has_one_sender_per_message_type() -> None:
    by_kind = js_senders()
    missing = set(MAPPING) - set(by_kind)
    assert not missing, f"protocol.js has no sender for {sorted(missing)}"
    unknown = set(by_kind) - set(MAPPING)
    assert not unknown, f"protocol.js sends types the server does not know: {sorted(unknown)}"
    for kind, found in by_kind.items():
        assert len(found) == 1, f"{kind} has {len(found)} senders: {[s.where for s in found]}"


def shape_problems(fields: dict[str, Field], schema: dict[str, Any], what: str) -> list[str]:
    """Fields the schema refuses, required fields that may be left out, nested shapes."""
    properties: dict[str, Any] = schema["properties"]
    envelope = {"type", "id"} if "x-roles" in schema else set()  # a message: the socket's
    problems = [
        f"{what}: sends {name}, which the schema does not allow (line {field.line})"
        for name, field in fields.items()
        if name not in properties or name in envelope
    ]
    for name in schema.get("required", []):
        if name in envelope:
            continue
        if name not in fields:
            problems.append(f"{what}: never sends the required field {name}")
        elif not fields[name].always:
            problems.append(f"{what}: may leave out the required field {name}")
    for name, field in fields.items():
        if name in properties and field.shapes is not None:
            problems += nested_problems(field.shapes, properties[name], f"{what}.{name}")
    return problems


def nested_problems(shapes: list[Shape], schema: dict[str, Any], what: str) -> list[str]:
    options = schema.get("anyOf", [schema])
    objects = [definition(o["$ref"]) for o in options if "$ref" in o]
    problems: list[str] = []
    for shape in shapes:
        if shape is None:
            if {"type": "null"} not in options:
                problems.append(f"{what}: may be null, which the schema does not allow")
        elif not objects:
            problems.append(f"{what}: is an object, which the schema does not allow")
        else:  # the closest of the object options
            candidates = [shape_problems(shape, option, what) for option in objects]
            closest: list[str] = min(candidates, key=len)
            problems += closest
    return problems


def test_protocol_js_sends_only_what_the_schema_allows() -> None:
    problems: list[str] = []
    for kind, (sender,) in js_senders().items():
        problems += shape_problems(sender.fields, message_schema(kind), f"{kind} ({sender.where})")
    assert not problems, "\n".join(problems)


def problems_in(source: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "protocol.js"
    path.write_text(source, encoding="utf-8")
    problems: list[str] = []
    for sender in senders(path):
        for kind in sender.kinds:
            problems += shape_problems(sender.fields, message_schema(kind), kind)
    return problems


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("{ slug }", '{ slug, colour: "red" }', "help.resolved: sends colour, which the schema"),
        ("{ slug }", "{ ...defined({ slug, colour }) }", "help.resolved: sends colour"),
        ('"agent.note", { text }', '"agent.note", defined({ text })', "agent.note: may leave out"),
        ('"agent.note", { text }', '"agent.note", { note: text }', "agent.note: never sends"),
        ("{ queue, text }", "{ queue, text, id: queue }", "staff.message: sends id"),
        ("{ type: description.type,", "{ kind: description.type,", "never sends the required"),
        ("fields.sdpMid =", "fields.mid =", "call.ice.candidate: sends mid"),
    ],
)
def test_the_check_fails_when_protocol_js_goes_wrong(
    old: str, new: str, expected: str, tmp_path: Path
) -> None:
    """Each edit is one the server would refuse (unknown_field or missing_field)."""
    source = PROTOCOL_JS.read_text(encoding="utf-8")
    assert old in source
    problems = problems_in(source.replace(old, new, 1), tmp_path)
    assert any(expected in p for p in problems), problems


def test_a_required_field_from_an_optional_parameter_may_be_left_out(tmp_path: Path) -> None:
    source = """
export class Protocol {
  /**
   * @param {string} [text]
   * @param {{queue?: string}} target
   */
  staffMessage(text, { queue }) {
    return this.socket.send("staff.message", { queue, text });
  }
}
"""
    problems = problems_in(source, tmp_path)
    assert sorted(problems) == [
        "staff.message: may leave out the required field queue",
        "staff.message: may leave out the required field text",
    ]
    with_default = source.replace("{ queue }) {", '{ queue = "main" }) {')
    assert problems_in(with_default, tmp_path) == [problems[1]]


@pytest.mark.parametrize(
    "body",
    [
        'const fields = { text }; return this.socket.send("call.chat", fields);',
        'return this.socket.send("call." + kind, { text });',
        'return this.socket.send("call.chat", { [key]: text });',
        'return this.ws.send("call.chat");',
    ],
)
def test_what_the_reader_cannot_read_fails_loudly(body: str, tmp_path: Path) -> None:
    path = tmp_path / "protocol.js"
    path.write_text(f"export class Protocol {{\n  callChat(text) {{\n    {body}\n  }}\n}}\n")
    with pytest.raises(Unreadable, match=r"protocol\.js:3 \(callChat\)"):
        senders(path)


def test_no_other_module_builds_client_messages() -> None:
    """Pages send through Protocol; the socket itself only sends its heartbeat ping."""
    kinds = "|".join(re.escape(k) for k in MAPPING)
    pattern = re.compile(rf"""(?:send\(|type:\s*)["'`]({kinds})["'`]""")
    found: list[str] = []
    for path in sorted((ROOT / "web" / "static" / "js").rglob("*.js")):
        if path == PROTOCOL_JS:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for kind in pattern.findall(line):
                if (path.name, kind) != ("socket.js", "ping"):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {kind}")
    assert not found, "build these in lib/protocol.js instead:\n" + "\n".join(found)
