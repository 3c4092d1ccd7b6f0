"""docs/protocol.md matches the code: every message type, field, limit and error code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from signaling.messages import CLIENT_MESSAGES, ENVELOPE
from signaling.schema import client_schema
from signaling.server_messages import SERVER_MESSAGES
from signaling.server_messages import fields as server_fields

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "protocol.md").read_text()


def doc_rows() -> dict[str, str]:
    """Table rows of the doc, by the first backquoted type in the row."""
    rows: dict[str, str] = {}
    for line in DOC.splitlines():
        match = re.match(r"\| `([a-z_.]+)`", line)
        if match:
            rows.setdefault(match.group(1), line)
    return rows


def test_every_client_message_and_field_is_documented() -> None:
    rows = doc_rows()
    for kind, spec in CLIENT_MESSAGES.items():
        row = rows.get(kind) or next((r for t, r in rows.items() if kind in r), None)
        assert row is not None, f"{kind} is not documented"
        for name in spec.fields:
            assert f"`{name}`" in row, f"{kind}.{name} is not documented"
    for name in ENVELOPE:
        assert f"`{name}`" in DOC


SCHEMA = client_schema()
# What the doc says of a field, in its tables: `name` (… ≤ 80 …), `rating` (1–5), and
# `mode` (`phone` or `page`) or `needs` (list of `a`, `b`).
LIMIT = re.compile(r"`(\w+)` \([^()`]*?≤ (\d+)")
RANGE = re.compile(r"`(\w+)` \((\d+)–(\d+)\)")
CHOICES = re.compile(r"`(\w+)` \((?:list of )?((?:`[\w.-]+`(?:, | or )?)+)\)")


def field_schemas(kind: str) -> dict[str, list[dict[str, Any]]]:
    """The schemas of a message's fields by name, nested objects' fields included."""
    found: dict[str, list[dict[str, Any]]] = {}
    ref = SCHEMA["discriminator"]["mapping"][kind]
    pending, seen = [ref], set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        for name, schema in SCHEMA["$defs"][ref.rpartition("/")[2]]["properties"].items():
            for option in [schema, *schema.get("anyOf", []), schema.get("items", {})]:
                found.setdefault(name, []).append(option)
                if "$ref" in option:
                    pending.append(option["$ref"])
    return found


def stated_limits(row: str) -> list[tuple[str, str]]:
    """The limits a table row states, by field: ("name", "≤ 80"), ("rating", "1–5")."""
    limits = [(name, f"≤ {n}") for name, n in LIMIT.findall(row)]
    limits += [(name, f"{low}–{high}") for name, low, high in RANGE.findall(row)]
    for name, choices in CHOICES.findall(row):
        limits.append((name, " ".join(sorted(re.findall(r"`([^`]+)`", choices)))))
    return limits


def schema_limits(schema: dict[str, Any]) -> set[str]:
    """The same, as the schema of one field (or one of its options) has them."""
    limits = {f"≤ {schema[key]}" for key in ("maxLength", "maxItems") if key in schema}
    if "minimum" in schema and "maximum" in schema:
        limits.add(f"{schema['minimum']}–{schema['maximum']}")
    if "enum" in schema:
        limits.add(" ".join(sorted(schema["enum"])))
    return limits


def limit_problems(kind: str, row: str) -> tuple[int, list[str]]:
    """How many limits the row states, and those the schema does not have."""
    fields = field_schemas(kind)
    stated, problems = stated_limits(row), []
    for name, limit in stated:
        in_schema = set().union(*(schema_limits(s) for s in fields.get(name, [])))
        if name not in fields:
            problems.append(f"{kind}: docs/protocol.md gives {name} a limit; it is no field")
        elif limit not in in_schema:
            problems.append(
                f"{kind}.{name}: docs/protocol.md says {limit}, the schema {sorted(in_schema)}"
            )
    return len(stated), problems


def fields_cells() -> dict[str, str]:
    """The "fields" cell of each client message's row, by the row's types."""
    section = DOC.split("## Client → server")[1].split("## Server → client")[0]
    cells: dict[str, str] = {}
    column = -1
    for line in section.splitlines():
        row = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if row[0] == "type":
            column = row.index("fields")
        elif line.startswith("| `"):
            for kind in re.findall(r"`([a-z_]+\.[a-z_]+|[a-z]+)`", row[0]):
                cells[kind] = row[column]
    return cells


def test_documented_limits_agree_with_the_schema() -> None:
    cells = fields_cells()
    problems: list[str] = []
    stated = 0
    for kind in CLIENT_MESSAGES:
        count, found = limit_problems(kind, cells[kind])
        stated, problems = stated + count, problems + found
    assert not problems, "\n".join(problems)
    assert stated >= 25, f"only {stated} limits read from docs/protocol.md: has the form changed?"
    envelope = SCHEMA["$defs"]["Ping"]["properties"]
    id_limit = re.search(r"^\| `id` \| text ≤ (\d+)", DOC, re.M)
    assert id_limit and int(id_limit.group(1)) == envelope["id"]["maxLength"]
    version = re.search(r"^\| `v` \| whole number, must be (\d+)", DOC, re.M)
    assert version and int(version.group(1)) == envelope["v"]["minimum"] == envelope["v"]["maximum"]


def test_every_documented_client_message_exists() -> None:
    section = DOC.split("## Client → server")[1].split("## Server → client")[0]
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)`", section, re.M))
    documented |= set(re.findall(r"`(agent\.unhold)`", section))
    assert documented <= set(CLIENT_MESSAGES), documented - set(CLIENT_MESSAGES)


def server_sources() -> list[Path]:
    """Where the server builds messages (openapi.py's "type"s are JSON Schema's)."""
    paths = [p for p in (ROOT / "server").rglob("*.py") if p.name != "openapi.py"]
    return [*paths, ROOT / "signaling" / "messages.py"]  # error_message


def sent_by_server() -> set[str]:
    """The types the server sends: those written as ``"type": "…"`` (none should be left:
    see below) and the server-message structs it builds (``sm.CallHold(…)``)."""
    kinds: set[str] = set()
    for path in server_sources():
        text = path.read_text()
        kinds |= set(re.findall(r'"type": "([a-z_.]+)"', text))
        for kind, struct in SERVER_MESSAGES.items():
            if re.search(rf"\b{struct.__name__}\(|\bsm\.{struct.__name__}\b", text):
                kinds.add(kind)
    return kinds - {"offer", "answer"}  # SDP description types, not messages


def test_every_server_message_is_documented() -> None:
    section = DOC.split("## Server → client")[1]
    documented = set(re.findall(r"^\| `([a-z_.]+)`", section, re.M))
    missing = sent_by_server() - documented
    assert not missing, f"sent but not documented: {missing}"


def test_the_server_sends_exactly_the_server_message_structs() -> None:
    sent = sent_by_server()
    assert sent == set(SERVER_MESSAGES), (
        f"built but no struct: {sent - set(SERVER_MESSAGES)}; "
        f"a struct never built: {set(SERVER_MESSAGES) - sent}"
    )
    literals: set[str] = set()
    for path in server_sources():
        literals |= set(re.findall(r'"type": "([a-z_.]+)"', path.read_text()))
    assert literals <= {"offer", "answer"}, f"built as a dict, not a struct: {literals}"


def server_rows() -> dict[str, str]:
    """The rows of the "Server → client" table, by type."""
    section = DOC.split("## Server → client")[1].split("\n## ")[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        match = re.match(r"\| `([a-z_.]+)`", line)
        if match:
            rows[match.group(1)] = line
    return rows


def test_every_server_message_and_field_is_documented() -> None:
    rows = server_rows()
    problems = []
    for kind, struct in SERVER_MESSAGES.items():
        row = rows.get(kind)
        if row is None:
            problems.append(f"{kind} is not documented")
            continue
        for name in server_fields(struct):
            if f"`{name}`" not in row:
                problems.append(f"{kind}.{name} is not documented")
    undefined = set(rows) - set(SERVER_MESSAGES)
    assert not undefined, f"documented but no struct: {undefined}"
    assert not problems, "\n".join(problems)


def error_codes_in_code() -> set[str]:
    codes: set[str] = set()
    for folder in ("server", "signaling"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            codes |= set(re.findall(r'code="([a-z_]+)"', text))
            codes |= set(re.findall(r'ProtocolError\(\s*"([a-z_]+)"', text))
            codes |= set(re.findall(r'error_message\(\s*"([a-z_]+)"', text))
            codes |= set(re.findall(r'SdpRejected\(\s*"([a-z_]+)"', text))
            codes |= set(re.findall(r'^\s+"([a-z_]+)": \([A-Z][A-Za-z]+, "', text, re.M))
    return codes


def test_every_websocket_error_code_is_documented() -> None:
    http_only = {
        "bad_origin", "too_large", "no_session", "bad_request", "unknown_language", "not_found",
        "unknown_token",
    }  # fmt: skip
    missing = {c for c in error_codes_in_code() if f"`{c}`" not in DOC} - http_only
    assert not missing, f"error codes not in docs/protocol.md: {sorted(missing)}"


def test_a_wrong_limit_in_the_doc_is_caught() -> None:
    assert limit_problems("queue.join", "`name` (text ≤ 80, required)") == (1, [])
    assert limit_problems("queue.join", "`name` (text ≤ 81, required)")[1] == [
        "queue.join.name: docs/protocol.md says ≤ 81, the schema ['≤ 80']"
    ]
    assert limit_problems("survey.submit", "`rating` (0–5)")[1]
    assert limit_problems("agent.wrapup", "`next` (`available` or `busy`)")[1]
    assert limit_problems("call.ice", "{`sdpMid` (≤ 64)}")[1]
