"""Bad input on the WebSocket (docs/security.md, "Sessions and sockets"): each gets its
specific error or close code, and another client's call on the same process carries on unharmed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from server.auth.tokens import TokenRequest
from signaling.client import AgentBot, PatientBot
from tests.support import canary
from tests.support.desks import LiveDesk
from tests.support.sockets import closed_with, next_of


async def raw_socket(
    desk: LiveDesk, http: aiohttp.ClientSession, token: str | None = None, role: str = "patient"
) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(
        desk.url.replace("http", "ws") + "/ws", headers={"Origin": desk.url}, max_msg_size=0
    )
    if token is not None:
        await ws.send_json({"type": "auth", "token": token, "role": role})
        welcome = await ws.receive_json(timeout=5)
        assert welcome["type"] == "welcome", welcome
    return ws


@pytest.fixture
async def call_in_progress(
    live_desk: LiveDesk, loopback_ice: None
) -> AsyncIterator[tuple[PatientBot, AgentBot]]:
    """A real call with media flowing, on the same process as the attacker's sockets."""
    patient = PatientBot(live_desk.url, live_desk.invite(name=canary.PATIENT_NAME))
    agent = AgentBot(live_desk.url, live_desk.agent_token(), auto_accept=True)
    await patient.connect()
    await patient.join(name=canary.PATIENT_NAME, reason=canary.PATIENT_REASON)
    await agent.connect()
    await agent.available()
    await agent.wait_for(lambda: agent.frames_received()[0] >= 5, 20, "video")
    await patient.wait_for(lambda: patient.frames_received()[0] >= 5, 20, "video")
    try:
        yield patient, agent
    finally:
        await patient.close()
        await agent.close()


async def still_healthy(patient: PatientBot, agent: AgentBot) -> None:
    """Media still flows both ways and chat still arrives."""
    video_a, video_p = agent.frames_received()[0], patient.frames_received()[0]
    await agent.wait_for(lambda: agent.frames_received()[0] >= video_a + 10, 10, "more video")
    await patient.wait_for(lambda: patient.frames_received()[0] >= video_p + 10, 10, "more video")
    chats = len(agent.chats)
    await patient.send("call.chat", text=canary.CHAT_TEXT)
    await agent.wait_for(lambda: len(agent.chats) > chats, 5, "chat")


async def test_no_authentication_within_five_seconds_is_closed(
    live_desk: LiveDesk, http: aiohttp.ClientSession
) -> None:
    ws = await raw_socket(live_desk, http)
    error = await next_of(ws, "error", timeout=8)
    assert error["code"] == "auth_timeout"
    assert await closed_with(ws) == aiohttp.WSCloseCode.POLICY_VIOLATION


@pytest.mark.parametrize(
    ("first", "code"),
    [
        ({"type": "auth", "token": "junk", "role": "patient"}, "unauthorized"),
        ({"type": "queue.join", "name": "x"}, "unauthorized"),
        ({"type": "auth", "token": "x", "role": "root"}, "invalid_field"),
    ],
)
async def test_bad_first_message_is_closed_with_1008(
    live_desk: LiveDesk, http: aiohttp.ClientSession, first: dict[str, Any], code: str
) -> None:
    ws = await raw_socket(live_desk, http)
    await ws.send_json(first)
    assert (await next_of(ws, "error"))["code"] == code
    assert await closed_with(ws) == aiohttp.WSCloseCode.POLICY_VIOLATION


async def test_agent_token_cannot_claim_to_be_an_admin(
    live_desk: LiveDesk, http: aiohttp.ClientSession
) -> None:
    ws = await raw_socket(live_desk, http)
    await ws.send_json({"type": "auth", "token": live_desk.agent_token(), "role": "admin"})
    assert (await next_of(ws, "error"))["code"] == "unauthorized"
    assert await closed_with(ws) == aiohttp.WSCloseCode.POLICY_VIOLATION


async def test_revoking_a_token_closes_its_live_socket(
    live_desk: LiveDesk, http: aiohttp.ClientSession
) -> None:
    issued = await live_desk.tokens.issue(TokenRequest(typ="agent", queues=("billing",)))
    ws = await raw_socket(live_desk, http, issued.token, role="agent")
    await live_desk.tokens.revoke(issued.claims.jti)
    assert (await next_of(ws, "error"))["code"] == "token_revoked"
    assert await closed_with(ws) == aiohttp.WSCloseCode.POLICY_VIOLATION
    again = await raw_socket(live_desk, http)
    await again.send_json({"type": "auth", "token": issued.token, "role": "agent"})
    assert (await next_of(again, "error"))["code"] == "token_revoked"


async def test_message_over_64_kib_is_closed_with_1009(
    live_desk: LiveDesk, http: aiohttp.ClientSession
) -> None:
    ws = await raw_socket(live_desk, http, live_desk.invite(), "patient")
    await ws.send_str(json.dumps({"type": "queue.join", "name": "x" * 70_000}))
    assert await closed_with(ws) == aiohttp.WSCloseCode.MESSAGE_TOO_BIG


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_json"),
        ('{"type": "queue.join", "name": NaN}', "bad_json"),
        ("[" * 10000 + "]" * 10000, "bad_json"),
        ('{"name": "x"}', "missing_field"),
        ('{"type": "queue.explode"}', "unknown_type"),
        ('{"type": "queue.join", "name": "x", "admin": true}', "unknown_field"),
        ('{"type": "queue.join"}', "missing_field"),
        ('{"type": "queue.join", "name": 42}', "invalid_field"),
        ('{"type": "queue.join", "name": "a\\u0000b"}', "invalid_field"),
        ('{"type": "queue.join", "name": "x", "language": "english"}', "invalid_field"),
        ('{"type": "survey.submit", "rating": 4.5}', "invalid_field"),
        ('{"type": "survey.submit", "rating": true}', "invalid_field"),
        ('{"type": "agent.accept", "token": "1"}', "forbidden"),
        ('{"type": "staff.message", "queue": "billing", "text": "hi"}', "forbidden"),
        ('{"type": "call.chat", "text": "nobody to talk to"}', "no_call"),
        ('{"type": "auth", "token": "x", "role": "agent"}', "already_authenticated"),
    ],
)
async def test_malformed_message_gets_its_error_and_the_loop_goes_on(
    live_desk: LiveDesk, http: aiohttp.ClientSession, message: str, code: str
) -> None:
    ws = await raw_socket(live_desk, http, live_desk.invite(), "patient")
    await ws.send_str(message)
    assert (await next_of(ws, "error"))["code"] == code
    await ws.send_json({"type": "ping", "id": "after"})
    assert (await next_of(ws, "pong"))["ref"] == "after"


async def test_flooding_is_rate_limited_then_closed(
    live_desk: LiveDesk, http: aiohttp.ClientSession
) -> None:
    ws = await raw_socket(live_desk, http, live_desk.invite(), "patient")
    for _ in range(200):
        await ws.send_json({"type": "ping"})
    assert (await next_of(ws, "error"))["code"] == "rate_limited"
    assert await closed_with(ws) == aiohttp.WSCloseCode.POLICY_VIOLATION


async def test_bad_input_does_not_harm_another_call(
    live_desk: LiveDesk, http: aiohttp.ClientSession, call_in_progress: tuple[PatientBot, AgentBot]
) -> None:
    patient, agent = call_in_progress
    attacker = await raw_socket(live_desk, http, live_desk.invite(), "patient")
    for junk in ("{", '{"type": "call.sdp"}', "x" * 1000, '{"type": "agent.end"}'):
        await attacker.send_str(junk)
    await attacker.send_bytes(b"\x00\xff")
    await still_healthy(patient, agent)


def valid_offer_sdp(agent: AgentBot) -> str:
    assert agent.media is not None
    sdp: str = agent.media.pc.localDescription.sdp
    return sdp


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda sdp: sdp + "a=x" * 20000, "sdp_too_large"),
        (lambda sdp: "v=0\r\ngarbage\r\n", "sdp_invalid"),
        (lambda sdp: sdp.replace("a=fingerprint:", "a=fingerprinx:"), "sdp_no_fingerprint"),
        (lambda sdp: sdp + "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc\r\n", "sdp_crypto"),
        (lambda sdp: sdp.replace("UDP/TLS/RTP/SAVPF", "RTP/AVP"), "sdp_plain_rtp"),
    ],
)
async def test_bad_sdp_gets_its_code_and_the_call_carries_on(
    call_in_progress: tuple[PatientBot, AgentBot], mutate: Any, code: str
) -> None:
    patient, agent = call_in_progress
    sdp = mutate(valid_offer_sdp(agent))
    with pytest.raises(Exception, match=code):
        await agent.request("call.sdp", "never", description={"type": "offer", "sdp": sdp})
    await still_healthy(patient, agent)


async def test_candidates_are_capped_per_call(
    call_in_progress: tuple[PatientBot, AgentBot],
) -> None:
    patient, agent = call_in_progress
    candidate = {"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", "sdpMid": "0"}
    codes: list[str] = []
    for _ in range(110):
        msg_id = await patient.send("call.ice", candidate=candidate)
        await asyncio.sleep(0.06)  # stay under the message rate limit
        errors = [e for e in patient.errors if e.get("ref") == msg_id]
        codes.extend(e["code"] for e in errors)
    assert "too_many_candidates" in codes
    await still_healthy(patient, agent)


async def test_one_browser_can_hold_an_agent_a_patient_and_an_admin(
    live_desk: LiveDesk,
) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        for token in (live_desk.agent_token(), live_desk.invite()):
            async with http.post(f"{live_desk.url}/api/v1/session", json={"token": token}) as r:
                assert r.status == 201
        assert {c.key for c in jar} == {"vd_agent", "vd_patient"}
        for role in ("agent", "patient"):
            async with http.get(f"{live_desk.url}/api/v1/session?as={role}") as r:
                assert (await r.json())["session"]["role"] == role
            ws = await http.ws_connect(
                live_desk.url.replace("http", "ws") + f"/ws?as={role}",
                headers={"Origin": live_desk.url},
            )
            assert (await next_of(ws, "welcome"))["role"] == role
            await ws.close()
        ws = await http.ws_connect(
            live_desk.url.replace("http", "ws") + "/ws?as=admin", headers={"Origin": live_desk.url}
        )
        await ws.send_json({"type": "auth", "token": live_desk.token("admin"), "role": "admin"})
        assert (await next_of(ws, "welcome"))["role"] == "admin"
        await ws.close()


async def test_idle_agent_sessions_time_out(live_desk: LiveDesk) -> None:
    import time

    from server.ws import leases

    agent = AgentBot(live_desk.url, live_desk.agent_token(), media=False)
    try:
        await agent.connect()
        await agent.next("agent.state")
        desk = live_desk.desk
        (conn,) = list(desk.hub.all("agent"))
        leases.end_idle_agents(desk)  # active: nothing happens
        await asyncio.sleep(0.2)
        assert agent.connected
        conn.last_activity = time.monotonic() - desk.settings.agent_idle_timeout - 1
        leases.end_idle_agents(desk)
        await agent.wait_for(lambda: not agent.connected, 5, "the socket to close")
        assert agent.close_code == aiohttp.WSCloseCode.POLICY_VIOLATION
    finally:
        await agent.close()
