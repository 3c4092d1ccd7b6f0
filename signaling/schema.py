"""The JSON Schema of the WebSocket protocol's client messages, made from the structs.

``python -m signaling.schema`` writes ``docs/protocol.schema.json``: ``msgspec.json.schema``
of the tagged union of :mod:`signaling.messages` (one ``$defs`` entry per message, the
``type`` tag as the discriminator), each message with what it does (``description``) and
who may send it (``x-roles``). ``python -m signaling.schema --check`` only compares, and
exits 1 when the committed file is out of date. The file is for client authors and tools;
the structs stay the source of truth (the text rule of :mod:`signaling.text`, single-line
or multi-line, is beyond JSON Schema and is in docs/protocol.md).
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

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "protocol.schema.json"
COMMAND = "python -m signaling.schema"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


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


def render() -> str:
    """The schema file's text: keys sorted, two-space indent, one trailing newline."""
    return json.dumps(client_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=COMMAND, description=f"Write the client messages' JSON Schema to {SCHEMA_PATH.name}."
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
        state = "is missing" if current is None else "is out of date with signaling/messages.py"
        print(f"{path} {state}: run `{COMMAND}` to regenerate it", file=sys.stderr)
        return 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
