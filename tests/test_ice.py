"""ICE server configuration and TURN REST credentials (docs/security.md, "SDP, ICE and
the lobby's test peer")."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from signaling.ice import (
    IceConfig,
    aiortc_configuration,
    browser_ice_servers,
    browser_policy,
    turn_credentials,
)
from tests.support.canary import PATIENT_NAME
from tests.support.loopback import loopback_ice  # noqa: F401

SECRET = "turn-secret-for-tests-only"
STUN = "stun:stun.desk.example:3478"
TURN_UDP = "turn:turn.desk.example:3478?transport=udp"
TURN_TCP = "turn:turn.desk.example:3478?transport=tcp"
TURNS = "turns:turn.desk.example:5349?transport=tcp"


def coturn_accepts(secret: str, username: str, password: str, now: float) -> bool:
    """What coturn's use-auth-secret does, written independently of signaling.ice."""
    expected = base64.b64encode(
        hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    ).decode()
    expiry = int(username.split(":", 1)[0])
    return hmac.compare_digest(expected, password) and expiry > now


def test_credential_verifies_with_independent_hmac() -> None:
    now = 1_700_000_000.0
    username, password = turn_credentials(SECRET, 600, now=now)
    assert coturn_accepts(SECRET, username, password, now)
    assert not coturn_accepts("another-secret", username, password, now)
    assert not coturn_accepts(SECRET, username + "x", password, now)


def test_username_is_expiry_and_opaque_id() -> None:
    now = 1_700_000_000.7
    username, _ = turn_credentials(SECRET, 600, now=now)
    expiry, opaque = username.split(":")
    assert int(expiry) == 1_700_000_600
    assert len(opaque) >= 16 and all(c in "0123456789abcdef" for c in opaque)
    assert PATIENT_NAME.split()[0] not in username


def test_credential_expires_after_ttl() -> None:
    now = 1_700_000_000.0
    username, password = turn_credentials(SECRET, 600, now=now)
    assert coturn_accepts(SECRET, username, password, now + 599)
    assert not coturn_accepts(SECRET, username, password, now + 600)


def test_credentials_are_fresh_and_default_to_wall_clock() -> None:
    first, _ = turn_credentials(SECRET, 60)
    second, _ = turn_credentials(SECRET, 60)
    assert first != second
    assert abs(int(first.split(":")[0]) - (time.time() + 60)) < 5


@pytest.mark.parametrize(("secret", "ttl"), [("", 60), (SECRET, 0), (SECRET, -1)])
def test_credentials_refuse_bad_input(secret: str, ttl: int) -> None:
    with pytest.raises(ValueError):
        turn_credentials(secret, ttl)


def test_browser_servers_turn_gets_credentials_stun_none() -> None:
    config = IceConfig(servers=(STUN, TURN_UDP, TURNS), turn_secret=SECRET, turn_ttl=900)
    servers = browser_ice_servers(config)
    assert servers[0] == {"urls": [STUN]}
    turn = servers[1]
    assert turn["urls"] == [TURN_UDP, TURNS]
    username, credential = turn["username"], turn["credential"]
    assert isinstance(username, str) and isinstance(credential, str)
    assert coturn_accepts(SECRET, username, credential, time.time())
    assert int(username.split(":")[0]) <= time.time() + 900 + 1
    assert browser_policy(config) == "all"


def test_browser_servers_mint_per_call() -> None:
    config = IceConfig(servers=(TURN_UDP,), turn_secret=SECRET)
    assert browser_ice_servers(config)[0]["username"] != browser_ice_servers(config)[0]["username"]


def test_relay_policy() -> None:
    config = IceConfig(servers=(TURN_UDP,), turn_secret=SECRET, relay_only=True)
    assert browser_policy(config) == "relay"
    assert aiortc_configuration(config).iceTransportPolicy == RTCIceTransportPolicy.RELAY


def test_empty_config() -> None:
    config = IceConfig()
    assert browser_ice_servers(config) == []
    assert browser_policy(config) == "all"
    rtc = aiortc_configuration(config)
    assert isinstance(rtc, RTCConfiguration)
    # An empty list, not None: None makes aiortc use Google's public STUN server.
    assert rtc.iceServers == []
    assert rtc.iceTransportPolicy == RTCIceTransportPolicy.ALL


@pytest.mark.usefixtures("loopback_ice")
async def test_empty_config_gathers_no_server_candidates() -> None:
    pc = RTCPeerConnection(aiortc_configuration(IceConfig()))
    try:
        pc.addTransceiver("audio")
        await pc.setLocalDescription(await pc.createOffer())
        sdp: str = pc.localDescription.sdp
        assert "typ host" in sdp
        assert "typ srflx" not in sdp and "typ relay" not in sdp
    finally:
        await pc.close()


def test_aiortc_gets_first_usable_stun_and_turn() -> None:
    config = IceConfig(
        servers=("stuns:stun.desk.example", STUN, "stun:second.example", TURNS, TURN_UDP),
        turn_secret=SECRET,
    )
    servers = aiortc_configuration(config).iceServers
    assert servers is not None
    assert [s.urls for s in servers] == [STUN, TURNS]
    assert servers[0].username is None and servers[0].credential is None
    assert servers[1].username is not None and servers[1].credential is not None
    assert coturn_accepts(SECRET, servers[1].username, servers[1].credential, time.time())


def test_aiortc_skips_urls_it_cannot_use() -> None:
    config = IceConfig(
        servers=("turn:[2001:db8::1]:3478", "turn:turn.desk.example?transport=tls", TURN_TCP),
        turn_secret=SECRET,
    )
    servers = aiortc_configuration(config).iceServers
    assert servers is not None and [s.urls for s in servers] == [TURN_TCP]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"servers": ("http://stun.example",)},
        {"servers": ("stun:a.example stun:b.example",)},
        {"servers": (TURN_UDP,)},  # no secret
        {"servers": (TURN_UDP,), "turn_secret": ""},
        {"turn_ttl": 0},
        {"relay_only": True},  # relay without TURN
        {"servers": (STUN,), "relay_only": True},
    ],
)
def test_config_refuses_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        IceConfig(**kwargs)  # type: ignore[arg-type]
