"""Signing keys: a local ``kid → (alg, key)`` table with rotation.

The algorithm of a token is never taken from the token: the ``kid`` in its
header selects an entry of this table and the entry says which algorithm to
verify with (RFC 8725 §2.1, §3.1). New tokens are signed with the current key;
previous keys stay valid for verification so that rotating the secret does not
sign everyone out (keep them for one token lifetime, then drop them).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from server.core.settings import Settings, SettingsError

log = logging.getLogger(__name__)

ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    algorithm: str
    secret: bytes


def _kid_for(secret: bytes) -> str:
    # The kid names a key without revealing it: a short hash, not the key itself.
    return "k" + hashlib.sha256(b"videodesk-kid\x00" + secret).hexdigest()[:12]


def make_key(secret: str) -> SigningKey:
    raw = secret.encode()
    return SigningKey(kid=_kid_for(raw), algorithm=ALGORITHM, secret=raw)


@dataclass(frozen=True, slots=True)
class Keyring:
    """The current signing key and every key still accepted, by kid."""

    current: SigningKey
    accepted: dict[str, SigningKey]

    @classmethod
    def from_secrets(cls, current: str, previous: tuple[str, ...] = ()) -> Keyring:
        key = make_key(current)
        accepted = {key.kid: key}
        for old in previous:
            old_key = make_key(old)
            accepted.setdefault(old_key.kid, old_key)
        return cls(current=key, accepted=accepted)

    def address_key(self) -> bytes:
        """A key for hashing client addresses into rate-limit bucket names (never the
        signing key itself: a hash of it under its own label)."""
        return hmac.new(self.current.secret, b"videodesk address tags", hashlib.sha256).digest()

    def lookup(self, kid: object) -> SigningKey | None:
        if not isinstance(kid, str):
            return None
        return self.accepted.get(kid)


def load_secret(settings: Settings) -> tuple[str, str]:
    """Return the signing secret and where it came from.

    ``VIDEODESK_SECRET`` wins. Without it, a secret is generated once and kept in
    ``settings.secret_file`` (mode 0600) so tokens survive a restart.
    """
    if settings.secret is not None:
        return settings.secret, "VIDEODESK_SECRET"
    path = settings.secret_file
    try:
        return _read_or_create(path), str(path)
    except OSError as exc:
        raise SettingsError(
            "VIDEODESK_SECRET_FILE", f"cannot read or create {path}: {exc.strerror or exc}"
        ) from None


def _read_or_create(path: Path) -> str:
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise SettingsError(
                "VIDEODESK_SECRET_FILE",
                f"{path} is readable by other users (mode {mode:o}); run chmod 600 on it",
            )
        secret = path.read_text().strip()
        if len(secret.encode()) < 32:
            raise SettingsError("VIDEODESK_SECRET_FILE", f"{path} holds fewer than 32 bytes")
        return secret
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = secrets.token_urlsafe(48)
    # Written to a private temporary file, then linked into place: a second
    # process starting at the same moment either wins the link or reads the
    # complete file, never a half-written one.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        return _read_or_create(path)
    finally:
        temporary.unlink()
    log.info("generated a signing secret in %s (mode 0600)", path)
    return secret
