"""Canary personal data: tests use these values; no log may ever contain them.

``python -m tests.support.canary DIR`` greps every file under DIR for the
canaries, for anything shaped like a JWT (``eyJ…``) and for SDP lines, and fails
if it finds one (docs/security.md, "Privacy"). ``scripts/test`` runs it after the suite.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PATIENT_NAME = "Ana Canarywing"
PATIENT_REASON = "canary-reason: repeat prescription for amoxicillin"
PHONE_NUMBER = "+44 7700 900461"
CHAT_TEXT = "canary-chat: my date of birth is 01/02/1950"
NOTE_TEXT = "canary-note: patient sounded breathless"

CANARIES = (PATIENT_NAME, PATIENT_REASON, PHONE_NUMBER, CHAT_TEXT, NOTE_TEXT, "Canarywing")
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{10,}")
# SDP in a log shows up as any of these lines (keys, addresses, fingerprints).
SDP_SHAPE = re.compile(r"a=(fingerprint|ice-pwd|ice-ufrag|candidate):|\bc=IN IP4 ")


def findings(directory: Path) -> list[str]:
    found = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if JWT_SHAPE.search(line):
                found.append(f"{path}:{number}: a token")
            if SDP_SHAPE.search(line):
                found.append(f"{path}:{number}: SDP")
            for canary in CANARIES:
                if canary in line:
                    found.append(f"{path}:{number}: canary personal data {canary!r}")
    return found


def main(argv: list[str]) -> int:
    directory = Path(argv[1] if len(argv) > 1 else ".test-logs")
    if not directory.is_dir():
        print(f"privacy check: {directory} does not exist", file=sys.stderr)
        return 1
    found = findings(directory)
    for line in found[:50]:
        print(f"privacy check: {line}", file=sys.stderr)
    if found:
        print(f"privacy check: FAILED ({len(found)} findings)", file=sys.stderr)
        return 1
    files = sum(1 for p in directory.rglob("*") if p.is_file())
    print(f"privacy check: {files} log files clean", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
