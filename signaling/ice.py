"""ICE server configuration for browsers and for the server's own aiortc peers.

TURN credentials follow the TURN REST API scheme that coturn's ``use-auth-secret``
checks: ``username = "<expiry>:<opaque id>"`` and
``password = base64(HMAC-SHA1(secret, username))``. The opaque id is random, never a
name (docs/security.md), and the expiry bounds how long a leaked credential works.

aiortc peers always get an explicit list: with none, aiortc falls back to Google's
public STUN server, and an unreachable server stalls ``setLocalDescription``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from aiortc.rtcicetransport import parse_stun_turn_uri

__all__ = [
    "IceConfig",
    "aiortc_configuration",
    "browser_ice_servers",
    "browser_policy",
    "turn_credentials",
]

logger = logging.getLogger(__name__)

_STUN_SCHEMES = ("stun:", "stuns:")
_TURN_SCHEMES = ("turn:", "turns:")


@dataclass(frozen=True)
class IceConfig:
    """STUN/TURN servers and policy, as configured for the desk.

    ``servers`` holds ``stun:``/``stuns:``/``turn:``/``turns:`` URLs. TURN URLs need
    ``turn_secret`` (coturn's ``static-auth-secret``); ``turn_ttl`` is the lifetime of a
    minted credential in seconds and should not exceed the longest call. ``relay_only``
    makes browsers use TURN relays only, which hides their IP addresses from the other
    party, and so needs at least one TURN URL.
    """

    servers: tuple[str, ...] = ()
    turn_secret: str | None = None
    turn_ttl: int = 3600
    relay_only: bool = False

    def __post_init__(self) -> None:
        for url in self.servers:
            if not url.startswith(_STUN_SCHEMES + _TURN_SCHEMES) or len(url.split()) != 1:
                raise ValueError("ICE server URLs must be stun:, stuns:, turn: or turns: URLs")
        if self.turn_urls and not self.turn_secret:
            raise ValueError("TURN servers need a TURN secret")
        if self.turn_ttl <= 0:
            raise ValueError("the TURN credential lifetime must be positive")
        if self.relay_only and not self.turn_urls:
            raise ValueError("a relay-only policy needs a TURN server")

    @property
    def stun_urls(self) -> tuple[str, ...]:
        """The STUN URLs, in configured order."""
        return tuple(url for url in self.servers if url.startswith(_STUN_SCHEMES))

    @property
    def turn_urls(self) -> tuple[str, ...]:
        """The TURN URLs, in configured order."""
        return tuple(url for url in self.servers if url.startswith(_TURN_SCHEMES))


def turn_credentials(secret: str, ttl: int, *, now: float | None = None) -> tuple[str, str]:
    """Mint a TURN REST API ``(username, password)`` valid for ``ttl`` seconds from ``now``.

    Call this only for an authenticated party (docs/security.md).
    """
    if not secret:
        raise ValueError("the TURN secret must not be empty")
    if ttl <= 0:
        raise ValueError("the TURN credential lifetime must be positive")
    expiry = int(time.time() if now is None else now) + ttl
    # Random and unrelated to the person: coturn logs usernames, and so may anyone who
    # sees the TURN traffic. Hex keeps ':' (the expiry separator) out of it.
    opaque = secrets.token_hex(8)
    username = f"{expiry}:{opaque}"
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def browser_ice_servers(config: IceConfig) -> list[dict[str, object]]:
    """The ``iceServers`` list for a browser's ``RTCPeerConnection``.

    TURN URLs share one freshly minted credential; mint a new list per session.
    """
    servers: list[dict[str, object]] = []
    if config.stun_urls:
        servers.append({"urls": list(config.stun_urls)})
    if config.turn_urls and config.turn_secret:
        username, credential = turn_credentials(config.turn_secret, config.turn_ttl)
        servers.append(
            {"urls": list(config.turn_urls), "username": username, "credential": credential}
        )
    return servers


def browser_policy(config: IceConfig) -> str:
    """The browser's ``iceTransportPolicy``: ``"relay"`` or ``"all"``."""
    return "relay" if config.relay_only else "all"


def aiortc_configuration(config: IceConfig) -> RTCConfiguration:
    """An explicit :class:`aiortc.RTCConfiguration` for a server-side peer.

    aiortc uses only the first STUN and the first TURN server it can use, and raises on a
    URL it cannot parse when the peer creates its transports; so only the first usable
    ``stun:`` URL and the first usable ``turn:``/``turns:`` URL are passed on. With no
    servers configured the list is empty, which keeps aiortc off Google's STUN server.
    """
    stun = _first_usable(config.stun_urls)
    turn = _first_usable(config.turn_urls)
    servers: list[RTCIceServer] = []
    if stun is not None:
        servers.append(RTCIceServer(urls=stun))
    if turn is not None and config.turn_secret:
        username, credential = turn_credentials(config.turn_secret, config.turn_ttl)
        servers.append(RTCIceServer(urls=turn, username=username, credential=credential))
    policy = RTCIceTransportPolicy.RELAY if config.relay_only else RTCIceTransportPolicy.ALL
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


def configuration_from_desk(ice: dict[str, Any]) -> RTCConfiguration:
    """The :class:`aiortc.RTCConfiguration` for what the desk sent in ``welcome.ice``
    (``iceServers`` with their credentials, ``iceTransportPolicy``): a bot obeys the desk
    as a browser does, relay-only included. The same aiortc limits as
    :func:`aiortc_configuration`: the first usable STUN and TURN URL."""
    stun: RTCIceServer | None = None
    turn: RTCIceServer | None = None
    for server in ice.get("iceServers") or []:
        urls = server.get("urls") or []
        urls = [urls] if isinstance(urls, str) else list(urls)
        stuns = tuple(u for u in urls if str(u).startswith("stun"))
        turns = tuple(u for u in urls if str(u).startswith("turn"))
        if stun is None and (url := _first_usable(stuns)) is not None:
            stun = RTCIceServer(urls=url)
        if turn is None and (url := _first_usable(turns)) is not None:
            turn = RTCIceServer(
                urls=url, username=server.get("username"), credential=server.get("credential")
            )
    relay = ice.get("iceTransportPolicy") == "relay"
    policy = RTCIceTransportPolicy.RELAY if relay else RTCIceTransportPolicy.ALL
    servers = [s for s in (stun, turn) if s is not None]
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


def _first_usable(urls: tuple[str, ...]) -> str | None:
    for url in urls:
        try:
            parsed = parse_stun_turn_uri(url)
        except ValueError:
            continue
        # aiortc ignores stuns: and turn:...?transport=tls, and turns: over UDP.
        scheme, transport = parsed["scheme"], parsed.get("transport")
        if (
            scheme == "stun"
            or (scheme == "turn" and transport in ("udp", "tcp"))
            or (scheme == "turns" and transport == "tcp")
        ):
            return url
    if urls:
        logger.warning("none of %d configured ICE URLs of one kind is usable by aiortc", len(urls))
    return None
