"""Which ICE candidates a server-side aiortc peer (the lobby's echo test) may use.

A server peer sends STUN connectivity checks to every address the remote side's
candidates name, so an unchecked peer can be pointed at any host and port (a
request-forgery primitive), and its own candidates tell the client every
interface address the server has. :class:`CandidateScope` closes both:

* remote candidates are used only when they name the address the client's
  socket came from (its host or server-reflexive candidate), or are ``relay``
  candidates (a TURN server's address); only IP literals, never mDNS names;
* loopback, private and link-local addresses are refused, unless the desk itself
  is served on such an address (a trial on one machine, a desk on a LAN), which
  its configured advertised addresses say;
* at most ``max_candidates`` remote candidates per test;
* the peer's own host candidates are advertised only for the configured public
  addresses and the address the page connected to, when it connected directly (not
  through a proxy): the page knows that address already, so offering it tells the page
  nothing new, and it is the one address the page is known to reach (server-reflexive
  and relay candidates are public by nature).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from aiortc.sdp import candidate_from_sdp

MAX_REMOTE_CANDIDATES = 8

Address = IPv4Address | IPv6Address


def _address(text: str) -> Address | None:
    try:
        address = ip_address(text.strip("[]"))
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _local(address: Address) -> bool:
    return not address.is_global


def _parse(line: str) -> tuple[Address | None, str] | None:
    """(address, type) of an ``a=candidate`` value, or None when it does not parse."""
    try:
        candidate = candidate_from_sdp(line.removeprefix("a=").removeprefix("candidate:"))
    except Exception:  # aiortc's parser asserts and int()s untrusted text
        return None
    return _address(str(candidate.ip)), str(candidate.type)


@dataclass(slots=True)
class CandidateScope:
    """The rule for one connection test; it counts the remote candidates it allowed."""

    client_address: str
    advertised: tuple[str, ...] = ()
    connected_address: str | None = None
    max_candidates: int = MAX_REMOTE_CANDIDATES
    allowed: int = 0

    @property
    def host_addresses(self) -> tuple[str, ...]:
        """The addresses the peer's host candidates may name: the configured ones and the
        one the page connected to."""
        addresses = [str(a) for a in (_address(t) for t in self.advertised) if a is not None]
        connected = _address(self.connected_address or "")
        if connected is not None and str(connected) not in addresses:
            addresses.append(str(connected))
        return tuple(addresses)

    @property
    def local_allowed(self) -> bool:
        """The desk is served on a loopback, private or link-local address itself."""
        return any(_local(ip_address(text)) for text in self.host_addresses)

    def remote_problem(self, line: str) -> str | None:
        """Why a remote candidate may not be used (and counts it when it may)."""
        parsed = _parse(line)
        if parsed is None:
            return "the candidate could not be parsed"
        address, kind = parsed
        if address is None:
            return "the candidate does not name an IP address"
        if _local(address) and not self.local_allowed:
            return "the candidate names a local address"
        if kind != "relay" and address != _address(self.client_address):
            return "the candidate is not on the address this page connected from"
        if self.allowed >= self.max_candidates:
            return "too many candidates for one test"
        self.allowed += 1
        return None

    def filter_remote_sdp(self, sdp: str) -> str:
        """The client's SDP without the candidates :meth:`remote_problem` refuses."""
        return _keep_candidates(sdp, lambda value: self.remote_problem(value) is None)

    def filter_local_sdp(self, sdp: str) -> str:
        """Our answer with host candidates only for the advertised addresses."""
        advertised = {ip_address(text) for text in self.host_addresses}

        def keep(value: str) -> bool:
            parsed = _parse(value)
            if parsed is None:
                return False
            address, kind = parsed
            return kind in ("srflx", "relay") or (address is not None and address in advertised)

        return _keep_candidates(sdp, keep)


def _keep_candidates(sdp: str, keep: Callable[[str], bool]) -> str:
    newline = "\r\n" if "\r\n" in sdp else "\n"
    lines = sdp.split(newline)
    kept = [line for line in lines if not line.startswith("a=candidate:") or keep(line)]
    return newline.join(kept)


def is_relay(line: str) -> bool:
    """Whether an ``a=candidate`` value is a TURN relay candidate."""
    parsed = _parse(line)
    return parsed is not None and parsed[1] == "relay"


def relay_candidates_only(sdp: str) -> str:
    """The SDP without its host, server-reflexive and peer-reflexive candidates (the
    relay-only policy: nobody learns the other party's addresses)."""
    return _keep_candidates(sdp, is_relay)
