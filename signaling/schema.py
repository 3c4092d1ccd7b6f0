"""The JSON Schema of the WebSocket protocol, both directions, made from the structs.

``python -m signaling.schema`` writes ``docs/protocol.schema.json``: ``msgspec.json.schema``
of the tagged union of :mod:`signaling.messages` (one ``$defs`` entry per message, the
``type`` tag as the discriminator), each message with what it does (``description``) and
who may send it (``x-roles``). That union is the document's own schema: a client message
validates against the document.

The server's messages (:mod:`signaling.server_messages`) are in the same file, apart: their
definitions are the ``$defs`` named ``server.…`` (``server.Welcome``, ``server.CallChat``),
and ``$defs`` ``ServerMessage`` is their tagged union, each with its ``description`` and
whom it goes to (``x-to``); validate a server message against
``{"$ref": "…/protocol.schema.json#/$defs/ServerMessage"}``.

``python -m signaling.schema --check`` only compares, and exits 1 when the committed file
is out of date. The file is for client authors and tools; the structs stay the source of
truth (the text rule of :mod:`signaling.text`, single-line or multi-line, is beyond JSON
Schema and is in docs/protocol.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from signaling.messages import (
    CLIENT_MESSAGES,
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    AnyClientMessage,
)
from signaling.server_messages import SERVER_MESSAGES, AnyServerMessage

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "protocol.schema.json"
COMMAND = "python -m signaling.schema"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
SERVER_PREFIX = "server."  # the $defs of the server's messages and their parts
SERVER_UNION = "ServerMessage"


def client_schema() -> dict[str, Any]:
    """Every client message, as one JSON Schema (a union tagged by ``type``)."""
    schema: dict[str, Any] = msgspec.json.schema(AnyClientMessage)
    mapping: dict[str, str] = schema["discriminator"]["mapping"]
    definitions: dict[str, Any] = schema["$defs"]
    for kind, spec in CLIENT_MESSAGES.items():
        definition = definitions[mapping[kind].rpartition("/")[2]]
        definition["description"] = spec.doc
        definition["x-roles"] = sorted(spec.roles)
    return {
        "$schema": DIALECT,
        "title": f"videodesk WebSocket protocol {PROTOCOL_VERSION}: client messages",
        "description": (
            f"Generated from signaling/messages.py by `{COMMAND}`: do not edit. "
            "Every text field also follows the text rule of docs/protocol.md."
        ),
        "x-protocol-version": PROTOCOL_VERSION,
        "x-max-message-bytes": MAX_MESSAGE_BYTES,
        **schema,
    }


def _server_ref(ref: str) -> str:
    return "#/$defs/" + SERVER_PREFIX + ref.removeprefix("#/$defs/")


def _rename_refs(node: Any) -> Any:
    """A schema with each ``#/$defs/X`` reference made ``#/$defs/server.X``."""
    if isinstance(node, dict):
        return {
            key: _server_ref(value) if key == "$ref" else _rename_refs(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rename_refs(item) for item in node]
    return node


def server_definitions() -> dict[str, Any]:
    """The server's messages: ``ServerMessage`` (their tagged union) and, named
    ``server.…``, each message and nested object, as ``$defs`` entries."""
    schema: dict[str, Any] = msgspec.json.schema(AnyServerMessage)
    mapping: dict[str, str] = schema["discriminator"]["mapping"]
    definitions: dict[str, Any] = schema["$defs"]
    for kind, struct in SERVER_MESSAGES.items():
        definition = definitions[mapping[kind].rpartition("/")[2]]
        definition["description"] = (struct.__doc__ or "").strip()
        definition["x-to"] = sorted(struct.TO)
    union = _rename_refs({key: value for key, value in schema.items() if key != "$defs"})
    union["discriminator"]["mapping"] = {kind: _server_ref(ref) for kind, ref in mapping.items()}
    union["description"] = (
        "Every message the server sends (signaling/server_messages.py), tagged by `type`."
    )
    defs = {SERVER_PREFIX + name: _rename_refs(value) for name, value in definitions.items()}
    return {SERVER_UNION: union, **defs}


def protocol_schema() -> dict[str, Any]:
    """The file's schema: the client messages', with the server messages' beside them in
    ``$defs`` (``ServerMessage`` and ``server.…``)."""
    schema = client_schema()
    server = server_definitions()
    assert not set(server) & set(schema["$defs"]), "a server definition's name is taken"
    schema["$defs"] = {**schema["$defs"], **server}
    schema["x-server-messages"] = f"#/$defs/{SERVER_UNION}"
    return schema


def render() -> str:
    """The schema file's text: keys sorted, two-space indent, one trailing newline."""
    return json.dumps(protocol_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=COMMAND, description=f"Write the protocol's JSON Schema to {SCHEMA_PATH.name}."
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the file is out of date; write nothing"
    )
    parser.add_argument("--output", type=Path, default=SCHEMA_PATH, help="default: %(default)s")
    args = parser.parse_args(argv)
    path: Path = args.output
    text = render()
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            return 0
        state = (
            "is missing"
            if current is None
            else "is out of date with signaling/messages.py and signaling/server_messages.py"
        )
        print(f"{path} {state}: run `{COMMAND}` to regenerate it", file=sys.stderr)
        return 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
