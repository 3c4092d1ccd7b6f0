"""Relay-only mode (issue 10, item 7): the desk passes on only TURN relay candidates, so
neither party learns the other's addresses even from a client that ignores the policy it
was sent; the desk's own bots take the ICE servers and policy from ``welcome``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiortc import RTCIceTransportPolicy

from signaling.candidates import relay_candidates_only
from signaling.client import AgentBot, PatientBot
from tests.support.desks import LiveDesk
from tests.support.turn import TurnServer

HOST = "candidate:1 1 udp 2130706431 192.0.2.10 50000 typ host"
SRFLX = "candidate:2 1 udp 1694498815 198.51.100.4 50001 typ srflx raddr 192.0.2.10 rport 50000"
RELAY = "candidate:3 1 udp 16777215 203.0.113.5 3479 typ relay raddr 198.51.100.4 rport 50001"


def test_an_sdp_keeps_only_its_relay_candidates() -> None:
    sdp = "\r\n".join(["v=0", f"a={HOST}", f"a={SRFLX}", f"a={RELAY}", "a=end-of-candidates", ""])
    kept = relay_candidates_only(sdp)
    assert RELAY in kept and "a=end-of-candidates" in kept
    assert "192.0.2.10 50000" not in kept and "typ srflx" not in kept


@pytest.mark.parametrize(
    "desk_env",
    [
        {
            "VIDEODESK_RELAY_ONLY": "true",
            "VIDEODESK_ICE_SERVERS": "turn:127.0.0.1:3478",
            "VIDEODESK_TURN_SECRET": "t" * 48,
        }
    ],
)
async def test_the_desk_passes_on_relay_candidates_only_and_bots_obey_it(
    live_desk: LiveDesk,
) -> None:
    relay_desk = live_desk
    patient = PatientBot(relay_desk.url, relay_desk.invite(), media=False)
    agent = AgentBot(relay_desk.url, relay_desk.agent_token(), media=False, auto_accept=True)
    await patient.connect()
    await patient.join(name="Ana")
    await agent.connect()
    await agent.available()
    await agent.next("call.started")
    await patient.next("call.started")
    # The bots obey the desk's ICE as a browser does: its TURN server, credentials, policy.
    configuration = patient.configuration()
    assert configuration.iceTransportPolicy == RTCIceTransportPolicy.RELAY
    (turn,) = configuration.iceServers
    assert turn.urls == "turn:127.0.0.1:3478" and turn.username and turn.credential
    mark = len(agent.received)
    for line in (HOST, SRFLX, RELAY):
        await patient.send("call.ice", candidate={"candidate": line, "sdpMid": "0"})
    await patient.send("call.ice", candidate=None)  # end of candidates still goes through
    await agent.next("call.ice", after=mark, candidate=None)
    relayed = [m["candidate"] for m in agent.received[mark:] if m.get("type") == "call.ice"]
    assert [c["candidate"] if c else None for c in relayed] == [RELAY, None]
    for bot in (patient, agent):
        await bot.close()


@pytest.fixture(scope="module")
def turn() -> Iterator[TurnServer]:
    server = TurnServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def desk_env(turn: TurnServer) -> dict[str, str]:
    """This module's desk relays through the test's coturn (a test may say otherwise)."""
    return {
        "VIDEODESK_RELAY_ONLY": "true",
        "VIDEODESK_ICE_SERVERS": turn.url,
        "VIDEODESK_TURN_SECRET": turn.secret,
    }


@pytest.mark.timeout(60)
async def test_a_relay_only_call_goes_through_coturn(live_desk: LiveDesk, turn: TurnServer) -> None:
    coturn_desk = live_desk
    """Two bots with the desk's relay policy: media flows, every candidate the other side
    saw was a relay one, and coturn allocated relays (its log says so)."""
    patient = PatientBot(coturn_desk.url, coturn_desk.invite())
    agent = AgentBot(coturn_desk.url, coturn_desk.agent_token(), auto_accept=True)
    try:
        await patient.connect()
        await patient.join(name="Ana")
        await agent.connect()
        await agent.available()
        await agent.wait_for(lambda: agent.frames_received()[0] >= 10, 30, "video over TURN")
        await patient.wait_for(lambda: patient.frames_received()[0] >= 10, 30, "video over TURN")
        for bot in (patient, agent):
            for message in bot.received:
                if message.get("type") == "call.sdp":
                    lines = [
                        line
                        for line in message["description"]["sdp"].splitlines()
                        if line.startswith("a=candidate:")
                    ]
                    assert lines and all(" typ relay" in line for line in lines), lines
                if message.get("type") == "call.ice" and message.get("candidate"):
                    assert " typ relay" in message["candidate"]["candidate"]
        log = turn.log_text()
        # Each party got a relay allocation, and coturn holds permissions for the peers.
        assert log.count("ALLOCATE processed, success") >= 2, log[-2000:]
        assert "lifetime updated" in log, log[-2000:]
    finally:
        await patient.close()
        await agent.close()
