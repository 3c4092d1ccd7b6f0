"""What an outside test of the running desk found (issue 12), one regression test each.

Each test names the finding it covers (``item N``); docs/security.md lists them all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pytest_aiohttp import AiohttpServer
from redis.asyncio import Redis

from server.auth.tokens import TokenRequest
from server.core.errors import Unauthorized
from signaling.client import AgentBot, ClientError, PatientBot
from tests.support.desks import LiveDesk, start_desk
from tests.support.events import recorded_events
from tests.support.sockets import closed_with, next_of

SURROGATE_TOKEN = '{"type": "auth", "role": "agent", "token": "eyJ\\ud800.x.y"}'


@pytest.fixture
async def twin_desks(
    aiohttp_server: AiohttpServer, redis_url: str, redis: Redis, tmp_path: Path
) -> AsyncIterator[tuple[LiveDesk, LiveDesk]]:
    """Two desk processes' worth of app on one Redis: limits must hold across them."""
    first = await start_desk(aiohttp_server, redis_url, tmp_path)
    origins = f"{first.url},http://127.0.0.1:1"
    second = await start_desk(
        aiohttp_server, redis_url, tmp_path, VIDEODESK_ALLOWED_ORIGINS=origins
    )
    yield first, second
    for desk in (second, first):
        await asyncio.wait_for(desk.server.close(), 20)


async def open_socket(
    desk: LiveDesk, http: aiohttp.ClientSession, origin: str | None = None
) -> aiohttp.ClientWebSocketResponse:
    return await http.ws_connect(
        desk.url.replace("http", "ws") + "/ws",
        headers={"Origin": origin or desk.url},
        max_msg_size=0,
        autoping=True,
    )


async def authed(
    desk: LiveDesk,
    http: aiohttp.ClientSession,
    token: str,
    role: str,
    origin: str | None = None,
) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
    """A socket after its ``auth`` message, with the first reply (welcome or error)."""
    ws = await open_socket(desk, http, origin)
    await ws.send_json({"type": "auth", "token": token, "role": role})
    return ws, await ws.receive_json(timeout=5)


async def still_answers(ws: aiohttp.ClientWebSocketResponse) -> None:
    await ws.send_json({"type": "ping", "id": "alive"})
    assert (await next_of(ws, "pong"))["ref"] == "alive"


# -- item 1: a lone surrogate in a token -------------------------------------------------


async def test_item1_surrogate_token_is_refused_not_a_server_error(
    live_desk: LiveDesk, http: aiohttp.ClientSession
) -> None:
    body = b'{"token": "eyJ\\ud800.x.y"}'
    headers = {"Content-Type": "application/json", "Origin": live_desk.url}
    async with http.post(f"{live_desk.url}/api/v1/session", data=body, headers=headers) as r:
        assert r.status in (400, 401) and (await r.json())["error"] in (
            "bad_request",
            "unauthorized",
        )
    with pytest.raises(Unauthorized):
        live_desk.tokens.decode("eyJ\ud800.x.y", "agent")
    ws = await open_socket(live_desk, http)
    await ws.send_str(SURROGATE_TOKEN)
    error = await next_of(ws, "error")
    assert error["code"] in ("invalid_field", "unauthorized")
    assert await closed_with(ws) == aiohttp.WSCloseCode.POLICY_VIOLATION
    # The desk is fine: the next person signs in.
    _, welcome = await authed(live_desk, http, live_desk.agent_token(), "agent")
    assert welcome["type"] == "welcome"


# -- item 2: a lone surrogate in a name ----------------------------------------------------


async def test_item2_surrogate_in_a_name_is_invalid_on_the_socket_and_the_api(
    live_desk: LiveDesk, http: aiohttp.ClientSession
) -> None:
    ws, welcome = await authed(live_desk, http, live_desk.invite(), "patient")
    assert welcome["type"] == "welcome"
    await ws.send_str('{"type": "queue.join", "id": "j1", "name": "Ana\\ud800"}')
    error = await next_of(ws, "error")
    assert (error["code"], error["ref"]) == ("invalid_field", "j1")
    for control in ("Ana\\u0007", "Ana\\u0085", "Ana\\u2028", "Ana\\tB"):
        await ws.send_str(f'{{"type": "queue.join", "name": "{control}"}}')
        assert (await next_of(ws, "error"))["code"] == "invalid_field"
    await still_answers(ws)
    admin = live_desk.token("admin")
    raw = b'{"type": "agent", "name": "Sam\\udfff"}'
    async with http.post(
        f"{live_desk.url}/api/v1/tokens",
        data=raw,
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
    ) as r:
        assert r.status == 400 and (await r.json())["error"] == "bad_request"


# -- item 3: token expiry on open sockets ---------------------------------------------------


def short_lived(desk: LiveDesk, typ: str, seconds_left: int, **fields: Any) -> str:
    """A token that verifies now and expires in ``seconds_left`` seconds."""
    now = int(time.time())
    request = TokenRequest(typ=typ, ttl=60, **fields)  # type: ignore[arg-type]
    return desk.tokens.mint(request, now=now - 60 + seconds_left).token


async def test_item3_an_agent_socket_closes_when_its_token_expires(
    live_desk: LiveDesk, http: aiohttp.ClientSession
) -> None:
    token = short_lived(live_desk, "agent", 2, queues=("billing",))
    ws, welcome = await authed(live_desk, http, token, "agent")
    assert welcome["type"] == "welcome"
    # An idle socket is closed by the presence loop, a busy one on its next message.
    error = await next_of(ws, "error", timeout=15)
    assert error["code"] == "token_expired"
    assert await closed_with(ws) == aiohttp.WSCloseCode.POLICY_VIOLATION
    # Within the verification leeway the token still verifies, but it opens no socket.
    _, reply = await authed(live_desk, http, token, "agent")
    assert reply["code"] == "token_expired"


async def test_item3_a_patient_in_a_visit_keeps_the_socket_until_the_visit_ends(
    live_desk: LiveDesk, http: aiohttp.ClientSession
) -> None:
    token = short_lived(live_desk, "invite", 3, queues=("appointments",))
    patient = PatientBot(live_desk.url, token, media=False, use_cookie=False)
    await patient.connect()
    await patient.join(name="Ana")
    expires = time.time() + 3
    # Well past expiry the patient still waits with their place, and can still talk.
    await patient.wait_for(lambda: time.time() > expires + 5, 15, "expiry to pass")
    assert (await patient.request("ping", "pong"))["type"] == "pong"
    assert patient.connected
    last = patient.last("queue.state")
    assert last is not None and last["state"] == "waiting"
    await patient.send("queue.leave")
    await patient.next("error", code="token_expired", timeout=20)
    await patient.wait_for(lambda: not patient.connected, 10, "the socket to close")
    await patient.close()


# -- item 4: the authentication deadline ------------------------------------------------------


async def test_item4_pings_do_not_extend_the_authentication_deadline(
    live_desk: LiveDesk, http: aiohttp.ClientSession
) -> None:
    ws = await open_socket(live_desk, http)

    async def keep_pinging() -> None:
        while not ws.closed:
            await ws.ping()
            await asyncio.sleep(0.5)

    pinger = asyncio.create_task(keep_pinging())
    try:
        # One deadline around the wait: the client's receive timer restarts on each pong too.
        error = await asyncio.wait_for(next_of(ws, "error", timeout=12), 12)
        assert error["code"] == "auth_timeout"
        assert await closed_with(ws) == aiohttp.WSCloseCode.POLICY_VIOLATION
    finally:
        pinger.cancel()


async def test_item4_unauthenticated_sockets_per_address_are_capped(
    live_desk: LiveDesk, http: aiohttp.ClientSession
) -> None:
    limit = 10  # VIDEODESK_MAX_UNAUTHENTICATED_PER_ADDRESS's default
    waiting = [await open_socket(live_desk, http) for _ in range(limit)]
    upgrade = {
        "Origin": live_desk.url,
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    async with http.get(f"{live_desk.url}/ws", headers=upgrade) as refused:
        assert refused.status == 429
        assert (await refused.json())["error"] == "rate_limited"
    for ws in waiting:
        await ws.close()
    # Once they are gone, a socket that authenticates gets in.
    _, welcome = await authed(live_desk, http, live_desk.agent_token(), "agent")
    assert welcome["type"] == "welcome"


# -- item 5: one failed sign-in budget, HTTP and WebSocket, every process ----------------------


async def test_item5_failed_sign_ins_share_one_budget_across_sockets_api_and_processes(
    twin_desks: tuple[LiveDesk, LiveDesk], http: aiohttp.ClientSession
) -> None:
    first, second = twin_desks
    codes = []
    for attempt in range(31):
        desk = first if attempt % 2 else second
        ws, reply = await authed(desk, http, f"eyJbad.{attempt}.x", "agent", origin=first.url)
        codes.append(reply["code"])
        await ws.close()
    assert codes[:30] == ["unauthorized"] * 30
    assert codes[30] == "rate_limited"
    # The REST API and the session exchange spend the same budget: refused before any
    # token is looked at, even a good one.
    async with http.get(
        f"{first.url}/api/v1/tokens", headers={"Authorization": f"Bearer {first.token('admin')}"}
    ) as r:
        assert r.status == 429 and "Retry-After" in r.headers
    async with http.post(
        f"{second.url}/api/v1/session",
        json={"token": "eyJbad.x.y"},
        headers={"Origin": first.url},
    ) as r:
        assert r.status == 429


# -- item 6: sockets per token and per session, across processes ---------------------------------


async def test_item6_sockets_per_token_are_counted_across_processes(
    twin_desks: tuple[LiveDesk, LiveDesk], http: aiohttp.ClientSession
) -> None:
    first, second = twin_desks
    token = first.agent_token()
    limit = 4  # VIDEODESK_MAX_SOCKETS_PER_TOKEN's default
    opened = []
    for index in range(limit):
        ws, welcome = await authed(
            (first, second)[index % 2], http, token, "agent", origin=first.url
        )
        assert welcome["type"] == "welcome"
        opened.append(ws)
    for desk in (first, second):
        ws, refused = await authed(desk, http, token, "agent", origin=first.url)
        assert refused["code"] == "too_many_connections"
        assert await closed_with(ws) == aiohttp.WSCloseCode.POLICY_VIOLATION
    await opened.pop().close()

    async def admitted() -> bool:
        ws, reply = await authed(second, http, token, "agent", origin=first.url)
        if reply["type"] == "welcome":
            opened.append(ws)
            return True
        await ws.close()
        return False

    for _ in range(50):  # the closed socket's count is released as it closes
        if await admitted():
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("a socket closed on one process still counted on the other")
    for ws in opened:
        await ws.close()


async def test_item6_sockets_per_browser_session_are_counted_across_processes(
    twin_desks: tuple[LiveDesk, LiveDesk],
) -> None:
    first, second = twin_desks
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.post(
            f"{first.url}/api/v1/session",
            json={"token": first.agent_token()},
            headers={"Origin": first.url},
        ) as r:
            assert r.status == 201
        cookie = {c.key: c.value for c in jar}["vd_agent"]
        pages = []
        results = []
        for index in range(4 + 1):  # VIDEODESK_MAX_SOCKETS_PER_SESSION's default is 4
            desk = (first, second)[index % 2]
            ws = await browser.ws_connect(
                desk.url.replace("http", "ws") + "/ws?as=agent",
                headers={"Origin": first.url, "Cookie": f"vd_agent={cookie}"},
            )
            pages.append(ws)
            results.append((await ws.receive_json(timeout=5))["type"])
        assert results[:-1] == ["welcome"] * (len(results) - 1)
        assert results[-1] == "error"
        for ws in pages:
            await ws.close()


# -- item 7: login CSRF ---------------------------------------------------------------------------


async def test_item7_the_session_exchange_refuses_cross_site_and_non_json_posts(
    live_desk: LiveDesk, http: aiohttp.ClientSession
) -> None:
    url = f"{live_desk.url}/api/v1/session"
    token = live_desk.agent_token()
    form = json.dumps({"token": token})
    for origin in ("https://evil.example", "null", f"{live_desk.url}.evil.com"):
        async with http.post(
            url, data=form, headers={"Origin": origin, "Content-Type": "text/plain"}
        ) as r:
            assert r.status == 403 and "Set-Cookie" not in r.headers
            assert (await r.json())["error"] == "bad_origin"
    async with http.post(
        url, data=form, headers={"Origin": live_desk.url, "Content-Type": "text/plain"}
    ) as r:
        assert r.status == 415 and "Set-Cookie" not in r.headers
    async with http.post(url, json={"token": token}, headers={"Origin": live_desk.url}) as r:
        assert r.status == 201 and "vd_agent" in r.headers.get("Set-Cookie", "")


# -- item 8: a revoked patient leaves the queue at once -------------------------------------------


async def test_item8_revoking_a_waiting_patients_token_removes_them_at_once(
    live_desk: LiveDesk,
) -> None:
    issued = await live_desk.tokens.issue(TokenRequest(typ="invite", queues=("appointments",)))
    patient = PatientBot(live_desk.url, issued.token, media=False)
    await patient.connect()
    await patient.join(name="Ana")
    engine = live_desk.desk.engine
    assert await engine.redis.zcard(live_desk.desk.keys.queue("appointments")) == 1
    await live_desk.tokens.revoke(issued.claims.jti)
    await patient.next("error", code="token_revoked")

    async def removed() -> bool:
        events = await recorded_events(engine)
        return any(e["type"] == "left" and e.get("reason") == "revoked" for e in events)

    for _ in range(100):
        if await removed():
            break
        await asyncio.sleep(0.05)
    assert await removed(), "no left/revoked event"
    assert await engine.redis.zcard(live_desk.desk.keys.queue("appointments")) == 0
    # An agent who becomes available now is not offered the revoked patient.
    agent = AgentBot(live_desk.url, live_desk.agent_token(), media=False)
    await agent.connect()
    await agent.available()
    await agent.next("agent.state", state="available")
    assert agent.last("agent.offer") is None
    await agent.close()
    await patient.close()


async def test_item8_revoking_a_patient_in_a_call_ends_it_for_both_sides(
    live_desk: LiveDesk,
) -> None:
    issued = await live_desk.tokens.issue(TokenRequest(typ="invite", queues=("appointments",)))
    patient = PatientBot(live_desk.url, issued.token, media=False)
    agent = AgentBot(live_desk.url, live_desk.agent_token(), media=False, auto_accept=True)
    await patient.connect()
    await patient.join(name="Ana")
    await agent.connect()
    await agent.available()
    await agent.next("call.started")
    await live_desk.tokens.revoke(issued.claims.jti)
    ended = await agent.next("call.ended")
    assert ended["reason"] == "revoked"
    await agent.next("agent.state", state="wrap_up")
    await agent.close()
    await patient.close()


# -- item 9: unknown queues in a token grant nothing ----------------------------------------------


async def test_item9_an_agent_token_for_a_retired_queue_is_offered_nothing(
    live_desk: LiveDesk, caplog: pytest.LogCaptureFixture
) -> None:
    patient = PatientBot(live_desk.url, live_desk.invite(), media=False)
    await patient.connect()
    await patient.join(name="Ana")
    caplog.set_level(logging.WARNING, logger="server.queue.engine")
    retired = AgentBot(live_desk.url, live_desk.agent_token(queues=("retired-queue",)), media=False)
    await retired.connect()
    await retired.available()
    await retired.next("agent.state", state="available")
    assert await live_desk.desk.engine.dispatch() == []
    assert retired.last("agent.offer") is None
    second = AgentBot(
        live_desk.url, live_desk.agent_token(name="Kim", queues=("retired-queue",)), media=False
    )
    await second.connect()
    warnings = [r for r in caplog.records if "retired-queue" in r.getMessage()]
    assert len(warnings) == 1, "warned once per queue name"
    # The patient keeps their place for an agent who does serve appointments.
    assert await live_desk.desk.engine.redis.zcard(live_desk.desk.keys.queue("appointments")) == 1
    for bot in (second, retired, patient):
        await bot.close()


# -- item 10: one invite, one patient -------------------------------------------------------------


async def test_item10_a_second_holder_of_an_invite_is_another_patient_and_cannot_join(
    live_desk: LiveDesk,
) -> None:
    invite = live_desk.invite()
    first = PatientBot(live_desk.url, invite, media=False, use_cookie=False)
    second = PatientBot(live_desk.url, invite, media=False, use_cookie=False)
    await first.connect()
    place = await first.join(name="Ana")
    await second.connect()
    with pytest.raises(ClientError) as used:
        await second.request("queue.join", "queue.joined", name="Eve")
    assert used.value.code == "invite_used"
    # The second holder sees no place and cannot make the first one leave.
    seen = [m["state"] for m in second.received if m["type"] == "queue.state"]
    assert not {"waiting", "offered"} & set(seen), seen
    await second.send("queue.leave")
    await second.request("ping", "pong")  # handled in order: the leave is done
    assert place["state"] == "waiting"
    assert await live_desk.desk.engine.redis.zcard(live_desk.desk.keys.queue("appointments")) == 1
    last = first.last("queue.state")
    assert last is not None and last["state"] == "waiting" and last["queue"] == place["queue"]
    await first.close()
    await second.close()


# -- item 11: revoking an unknown jti -------------------------------------------------------------


async def test_item11_revoking_a_token_the_desk_never_issued_is_404_and_writes_nothing(
    live_desk: LiveDesk, http: aiohttp.ClientSession, redis: Redis
) -> None:
    admin = {"Authorization": f"Bearer {live_desk.token('admin')}"}
    async with http.delete(f"{live_desk.url}/api/v1/tokens/never-issued", headers=admin) as r:
        assert r.status == 404 and (await r.json())["error"] == "unknown_token"
    assert await redis.exists(live_desk.desk.keys.revoked("never-issued")) == 0
    issued = await live_desk.tokens.issue(TokenRequest(typ="agent", queues=("billing",)))
    async with http.delete(
        f"{live_desk.url}/api/v1/tokens/{issued.claims.jti}", headers=admin
    ) as r:
        assert r.status == 200 and (await r.json())["revoked"] is True


# -- item 13: an expected disconnect is not an error ----------------------------------------------


async def test_item13_connect_then_close_before_auth_logs_no_error(
    live_desk: LiveDesk, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(5):
        ws = await open_socket(live_desk, http)
        await ws.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", live_desk.server.port or 0)
    writer.write(
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Origin: " + live_desk.url.encode() + b"\r\n\r\n"
    )
    await reader.readuntil(b"\r\n\r\n")
    writer.close()  # gone without a close frame
    await writer.wait_closed()
    _, welcome = await authed(live_desk, http, live_desk.agent_token(), "agent")
    assert welcome["type"] == "welcome"  # the desk carried on
    await asyncio.sleep(0)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert any("closed before authenticating" in r.getMessage() for r in caplog.records)


# -- item 14: no client address in a Redis key name -----------------------------------------------


async def test_item14_rate_limit_keys_hold_no_client_address(
    live_desk: LiveDesk, http: aiohttp.ClientSession, redis: Redis
) -> None:
    origin = {"Origin": live_desk.url}
    async with http.post(
        f"{live_desk.url}/api/v1/session", json={"token": live_desk.invite()}, headers=origin
    ):
        pass
    async with http.post(f"{live_desk.url}/api/v1/help/search", json={"q": "prescription"}):
        pass
    async with http.get(f"{live_desk.url}/api/v1/tokens", headers={"Authorization": "Bearer x"}):
        pass
    ws, _ = await authed(live_desk, http, "eyJbad.x.y", "agent")
    await ws.close()
    names = [key async for key in redis.scan_iter(match="vd:*")]
    rate = [name for name in names if ":rate:" in name]
    assert len(rate) >= 3, names
    assert not [name for name in names if "127.0.0.1" in name or "::1" in name]
