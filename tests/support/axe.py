"""axe-core, the accessibility engine the browser tests inject into the patient pages.

Pinned to one version and checked against the npm registry's integrity hash, then
kept at ``.cache/axe-core-<version>/axe.min.js`` (gitignored). The tests run in a
network namespace without the internet, so ``scripts/test`` fetches it beforehand::

    python -m tests.support.axe

Fetching is plain ``urllib`` from the npm registry's tarball URL: no npm, no Node.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

VERSION = "4.10.3"
TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
# dist.integrity of https://registry.npmjs.org/axe-core/4.10.3
INTEGRITY = (
    "sha512-"
    "Xm7bpRXnDSX2YE2YFfBk2FnF0ep6tmG7xPh8iHee8MIcrgq762Nkce856dYtJYLkuIoYZvGfTs/PbZhideTcEg=="
)
MEMBER = "package/axe.min.js"
ROOT = Path(__file__).resolve().parents[2]
CACHED = ROOT / ".cache" / f"axe-core-{VERSION}" / "axe.min.js"
MISSING_HINT = (
    f"axe-core {VERSION} is not at {CACHED}. Fetch it first (needs the npm registry): "
    ".venv/bin/python -m tests.support.axe   (scripts/test does this before the tests)"
)


class IntegrityError(Exception):
    """The downloaded tarball is not the one the registry published."""


def check_integrity(data: bytes, integrity: str = INTEGRITY) -> None:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise IntegrityError(f"unsupported integrity algorithm {algorithm}")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")
    if actual != expected:
        raise IntegrityError(f"axe-core {VERSION}: sha512 {actual} is not {expected}")


def extract(data: bytes) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        member = archive.extractfile(MEMBER)
        if member is None:
            raise IntegrityError(f"{MEMBER} is missing from the axe-core tarball")
        return member.read()


def fetch(target: Path = CACHED, timeout: float = 60.0) -> Path:
    """Download, verify and unpack axe.min.js (once: an existing file is kept)."""
    if target.exists():
        return target
    with urllib.request.urlopen(TARBALL, timeout=timeout) as response:
        data = response.read()
    check_integrity(data)
    script = extract(data)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(script)
    partial.replace(target)
    return target


def source() -> str:
    """The axe.min.js text; raises FileNotFoundError with what to run when it is missing."""
    if not CACHED.exists():
        raise FileNotFoundError(MISSING_HINT)
    return CACHED.read_text(encoding="utf-8")


def main() -> int:
    path = fetch()
    print(f"axe-core {VERSION}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
