"""The Origin check shared by the WebSocket handshake and the session exchange."""

from __future__ import annotations


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """Exact match against the allow-list: no missing, ``null`` or look-alike origins."""
    return origin is not None and origin.lower().rstrip("/") in allowed
