"""The lobby echo peer checks only the candidates it should and advertises only the
desk's own addresses (issue 12 item 15)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from unittest import mock

import aioice.ice
import pytest

from signaling.candidates import CandidateScope
from signaling.echo import EchoPeer
from signaling.host_addresses import gather_also_on
from signaling.ice import IceConfig
from tests.support.redis_server import free_port
from tests.test_echo import WAIT, Client, _strip_candidates, client, peers  # noqa: F401


def line(address: str, port: int = 5000, kind: str = "host") -> str:
    extra = " raddr 0.0.0.0 rport 0" if kind != "host" else ""
    return f"candidate:1 1 udp 2130706431 {address} {port} typ {kind}{extra}"


@pytest.mark.parametrize(
    ("client_address", "advertised", "candidate", "allowed"),
    [
        # on the address the page came from: used
        ("81.2.69.142", (), line("81.2.69.142", kind="srflx"), True),
        ("81.2.69.142", (), line("81.2.69.142"), True),
        # anywhere else: not, unless it is a TURN relay on a public address
        ("81.2.69.142", (), line("81.2.69.160"), False),
        ("81.2.69.142", (), line("81.2.69.160", kind="relay"), True),
        # local addresses: never on a public desk, relay or not
        ("81.2.69.142", (), line("10.0.0.5"), False),
        ("81.2.69.142", (), line("127.0.0.1", kind="relay"), False),
        ("81.2.69.142", (), line("169.254.1.1"), False),
        ("81.2.69.142", ("81.2.69.1",), line("192.168.1.2", kind="relay"), False),
        # a desk served on loopback (a trial, the tests): the page's own loopback address
        ("127.0.0.1", ("127.0.0.1",), line("127.0.0.1"), True),
        ("127.0.0.1", ("127.0.0.1",), line("127.0.0.2"), False),
        # names (mDNS) and garbage are never used
        ("81.2.69.142", (), line("3f1b2c.local"), False),
        ("81.2.69.142", (), "candidate:nonsense", False),
    ],
)
def test_remote_candidates_the_scope_allows(
    client_address: str, advertised: tuple[str, ...], candidate: str, allowed: bool
) -> None:
    scope = CandidateScope(client_address=client_address, advertised=advertised)
    assert (scope.remote_problem(candidate) is None) is allowed


def test_remote_candidates_are_capped_per_test() -> None:
    scope = CandidateScope(client_address="81.2.69.142", max_candidates=3)
    results = [scope.remote_problem(line("81.2.69.142", 5000 + i)) for i in range(5)]
    assert results[:3] == [None] * 3
    assert results[3] == results[4] == "too many candidates for one test"


def test_the_answer_advertises_only_configured_host_addresses() -> None:
    answer = "\r\n".join(
        [
            "v=0",
            "m=video 9 UDP/TLS/RTP/SAVPF 96",
            "a=" + line("127.0.0.1"),
            "a=" + line("10.1.2.3"),
            "a=" + line("81.2.69.20", kind="srflx"),
            "a=end-of-candidates",
            "",
        ]
    )
    scope = CandidateScope(client_address="127.0.0.1", advertised=("127.0.0.1",))
    filtered = scope.filter_local_sdp(answer)
    assert "127.0.0.1 5000" in filtered and "81.2.69.20" in filtered
    assert "10.1.2.3" not in filtered
    assert "a=end-of-candidates" in filtered and filtered.endswith("\r\n")
    nothing = CandidateScope(client_address="127.0.0.1").filter_local_sdp(answer)
    assert "127.0.0.1 5000" not in nothing and "10.1.2.3" not in nothing


def test_the_address_the_page_connected_to_is_offered_too() -> None:
    """A page that reached the desk directly knows that address already (issue 16 item 7)."""
    answer = "\r\n".join(["v=0", "a=" + line("127.0.0.1"), "a=" + line("10.1.2.3"), ""])
    scope = CandidateScope(client_address="127.0.0.1", connected_address="127.0.0.1")
    assert scope.host_addresses == ("127.0.0.1",)
    assert scope.local_allowed, "a page on this machine may use its loopback candidate"
    filtered = scope.filter_local_sdp(answer)
    assert "127.0.0.1 5000" in filtered and "10.1.2.3" not in filtered
    behind_proxy = CandidateScope(client_address="10.0.0.9", connected_address=None)
    assert behind_proxy.host_addresses == ()


async def test_gathering_adds_loopback_for_one_block_only() -> None:
    with mock.patch.object(aioice.ice, "get_host_addresses", lambda v4, v6: ["192.0.2.7"]):
        with gather_also_on(("127.0.0.1", "203.0.113.5")):
            inside = aioice.ice.get_host_addresses(True, False)
            other = await asyncio.get_running_loop().run_in_executor(
                None, aioice.ice.get_host_addresses, True, False
            )
        after = aioice.ice.get_host_addresses(True, False)
    assert inside == ["192.0.2.7", "127.0.0.1"], "loopback added, other addresses left to aioice"
    assert other == ["192.0.2.7"], "another context (a thread here) is unaffected"
    assert after == ["192.0.2.7"]


class Listener(asyncio.DatagramProtocol):
    """A UDP port that counts what reaches it (a stand-in for a host the peer must not probe)."""

    def __init__(self) -> None:
        self.datagrams = 0
        self.arrived = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.datagrams += 1
        self.arrived.set()


def two_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """aioice gathers on two loopback addresses: one the desk advertises, one it does not."""
    return ["127.0.0.1", "127.0.0.3"] if use_ipv4 else []


@pytest.fixture
def two_interfaces() -> Iterator[None]:
    with mock.patch.object(aioice.ice, "get_host_addresses", two_host_addresses):
        yield


@pytest.mark.usefixtures("two_interfaces")
@pytest.mark.parametrize("scoped", [False, True])
async def test_the_peer_sends_no_checks_to_a_candidate_outside_its_scope(
    client: Client,  # noqa: F811
    peers: list[EchoPeer],  # noqa: F811
    scoped: bool,
) -> None:
    loop = asyncio.get_running_loop()
    target = free_port()
    transport, listener = await loop.create_datagram_endpoint(
        Listener, local_addr=("127.0.0.2", target)
    )
    try:
        scope = CandidateScope(client_address="127.0.0.1", advertised=("127.0.0.1",))
        peer = EchoPeer(IceConfig(), scope=scope if scoped else None)
        peers.append(peer)
        offer, trickled = _strip_candidates(await client.offer())
        mid = trickled[0][1]
        answer = await peer.answer(offer)
        # The attacker's candidate first, then the page's real ones.
        await peer.add_candidate(line("127.0.0.2", target), mid, None)
        await client.accept(answer)
        for candidate, candidate_mid in trickled:
            await peer.add_candidate(candidate, candidate_mid, None)
        await peer.add_candidate("", None, None)
        await asyncio.wait_for(client.connected.wait(), WAIT)
        assert ("127.0.0.3" in answer) is not scoped  # advertised only when unscoped
        if not scoped:
            # Without the scope the peer probes whatever the page names.
            await asyncio.wait_for(listener.arrived.wait(), WAIT)
        else:
            # Checks to a candidate start at once (aioice paces them every 20 ms); the
            # connection above took longer than that, so any would have arrived.
            await asyncio.sleep(1.0)
            assert listener.datagrams == 0
    finally:
        transport.close()
