"""The client's address behind trusted proxies (``VIDEODESK_TRUSTED_PROXIES``).

Per-address limits (sign-in failures, sockets waiting to authenticate, searches) must
count each person, not the proxy every request comes through. The address is taken
from the forwarding headers only when the direct peer is a trusted proxy, walking the
chain from the nearest hop: the first address that is not a trusted proxy is the
client. A peer that is not trusted is the client itself, whatever headers it sends,
so a forged ``X-Forwarded-For`` changes nothing.

RFC 7239 ``Forwarded`` is parsed by aiohttp (``request.forwarded``); without it,
``X-Forwarded-For`` is read. The address is never logged or used in a key as it is
(:meth:`server.core.ratelimit.RateLimiter.address_bucket`). ``/metrics`` ignores all of this
on purpose: its allow-list is about the direct connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from aiohttp import web

Network = IPv4Network | IPv6Network
UNKNOWN = "unknown"


def _address(text: str) -> IPv4Address | IPv6Address | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # Forwarded: for="[2001:db8::1]:4711"
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # 192.0.2.60:4711
        text = text.partition(":")[0]
    try:
        return ip_address(text)
    except ValueError:
        return None


def _trusted(address: IPv4Address | IPv6Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


def forwarded_hops(request: web.BaseRequest) -> list[str]:
    """The addresses the proxies recorded, client first (``Forwarded`` wins)."""
    if request.forwarded:
        return [str(hop.get("for", "")) for hop in request.forwarded]
    header = ",".join(request.headers.getall("X-Forwarded-For", []))
    return [item for item in (part.strip() for part in header.split(",")) if item]


def client_address(request: web.BaseRequest, trusted: Sequence[Network]) -> str:
    """The address to count this request against."""
    peer = request.remote or UNKNOWN
    peer_address = _address(peer)
    if not trusted or peer_address is None or not _trusted(peer_address, trusted):
        return peer
    client = peer_address
    for hop in reversed(forwarded_hops(request)):
        address = _address(hop)
        if address is None:
            break  # an obfuscated or broken entry: the last good hop is all we know
        client = address
        if not _trusted(address, trusted):
            break
    return str(client)
