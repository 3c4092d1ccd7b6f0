"""Per-address limits behind a reverse proxy (issue 10, item 6): only a trusted proxy's
forwarding headers name the client; anyone else's are ignored."""

from __future__ import annotations

from ipaddress import ip_network

import aiohttp
import pytest
from aiohttp.test_utils import make_mocked_request

from server.core.proxies import client_address
from server.core.ratelimit import LoginFailures
from tests.support.desks import LiveDesk

PROXY = [ip_network("10.0.0.0/8")]


def request_from(peer: str, **headers: str) -> aiohttp.web.Request:
    transport = type("T", (), {"get_extra_info": lambda self, name, d=None: (peer, 5000)})()
    return make_mocked_request("GET", "/", headers=headers, transport=transport)


@pytest.mark.parametrize(
    ("peer", "headers", "client"),
    [
        # no trusted proxy: the peer, whatever it sends
        ("203.0.113.9", {"X-Forwarded-For": "198.51.100.1"}, "203.0.113.9"),
        # through the trusted proxy
        ("10.0.0.2", {"X-Forwarded-For": "198.51.100.1"}, "198.51.100.1"),
        # a client forging an entry in front of the proxy's: the proxy's own record wins
        ("10.0.0.2", {"X-Forwarded-For": "192.0.2.66, 198.51.100.1"}, "198.51.100.1"),
        # two trusted hops
        ("10.0.0.2", {"X-Forwarded-For": "198.51.100.1, 10.0.0.3"}, "198.51.100.1"),
        # RFC 7239 wins over X-Forwarded-For; IPv6 with a port
        (
            "10.0.0.2",
            {"Forwarded": 'for="[2001:db8::7]:4711"', "X-Forwarded-For": "198.51.100.1"},
            "2001:db8::7",
        ),
        # garbage from the proxy: the proxy is all we know
        ("10.0.0.2", {"X-Forwarded-For": "not-an-address"}, "10.0.0.2"),
        ("10.0.0.2", {}, "10.0.0.2"),
    ],
)
def test_the_client_behind_trusted_proxies(peer: str, headers: dict[str, str], client: str) -> None:
    assert client_address(request_from(peer, **headers), PROXY) == client


def test_nothing_is_trusted_by_default() -> None:
    request = request_from("127.0.0.1", **{"X-Forwarded-For": "198.51.100.1"})
    assert client_address(request, []) == "127.0.0.1"


async def fail_sign_ins(desk: LiveDesk, http: aiohttp.ClientSession, forwarded: str) -> int:
    """Bad sign-ins from one forwarded address until refused: the status of the last."""
    headers = {"Origin": desk.url, "X-Forwarded-For": forwarded}
    for _ in range(LoginFailures.PER_MINUTE + 1):
        async with http.post(
            f"{desk.url}/api/v1/session", json={"token": "not.a.token"}, headers=headers
        ) as response:
            if response.status == 429:
                return 429
            assert response.status == 401
    return 401


# The test client, on this machine, plays the proxy.
@pytest.mark.parametrize("desk_env", [{"VIDEODESK_TRUSTED_PROXIES": "127.0.0.0/8"}])
async def test_two_clients_behind_the_proxy_have_their_own_budgets(
    live_desk: LiveDesk, http: aiohttp.ClientSession
) -> None:
    proxied_desk = live_desk
    assert await fail_sign_ins(proxied_desk, http, "198.51.100.1") == 429
    headers = {"Origin": proxied_desk.url, "X-Forwarded-For": "198.51.100.2"}
    async with http.post(
        f"{proxied_desk.url}/api/v1/session", json={"token": "not.a.token"}, headers=headers
    ) as response:
        assert response.status == 401, "another client is not refused for the first one's tries"


async def test_a_forged_header_from_an_untrusted_peer_changes_nothing(
    live_desk: LiveDesk, http: aiohttp.ClientSession
) -> None:
    assert await fail_sign_ins(live_desk, http, "198.51.100.1") == 429
    headers = {"Origin": live_desk.url, "X-Forwarded-For": "198.51.100.2"}
    async with http.post(
        f"{live_desk.url}/api/v1/session", json={"token": "not.a.token"}, headers=headers
    ) as response:
        assert response.status == 429, "a new X-Forwarded-For does not buy a new budget"
