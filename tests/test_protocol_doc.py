"""docs/protocol.md matches the code: every message type, field and error code."""

from __future__ import annotations

import re
from pathlib import Path

from signaling.messages import CLIENT_MESSAGES, ENVELOPE

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


def test_every_documented_client_message_exists() -> None:
    section = DOC.split("## Client → server")[1].split("## Server → client")[0]
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)`", section, re.M))
    documented |= set(re.findall(r"`(agent\.unhold)`", section))
    assert documented <= set(CLIENT_MESSAGES), documented - set(CLIENT_MESSAGES)


def sent_by_server() -> set[str]:
    kinds: set[str] = set()
    for path in list((ROOT / "server").rglob("*.py")):
        if path.name == "openapi.py":  # JSON Schema "type"s, not messages
            continue
        kinds |= set(re.findall(r'"type": "([a-z_.]+)"', path.read_text()))
    return kinds - {"offer", "answer"}  # SDP description types, not messages


def test_every_server_message_is_documented() -> None:
    section = DOC.split("## Server → client")[1]
    documented = set(re.findall(r"^\| `([a-z_.]+)`", section, re.M))
    missing = sent_by_server() - documented
    assert not missing, f"sent but not documented: {missing}"


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
