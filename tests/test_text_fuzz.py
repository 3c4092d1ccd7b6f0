"""Arbitrary Unicode in every text field of every HTTP body and WebSocket message
(issue 12): lone surrogates, control characters, line separators, very long strings.
Each answer is a 4xx or an error code — never a 5xx or ``internal`` — and the socket
and the server still answer afterwards."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from server.app import create_app
from server.auth.tokens import TOKENS, TokenRequest
from server.core.settings import Settings
from signaling.messages import CLIENT_MESSAGES
from tests.conftest import make_env
from tests.support.redis_server import free_port

NASTY = st.one_of(
    st.text(st.characters(categories=["Cs", "Cc", "Cf", "Zl", "Zp", "L", "N", "P", "S"])),
    st.sampled_from(["\ud800", "a\udfffb", "\x00", "\r\nINFO forged", "\u2028", "\t=2+2"]),
    # Long, but a message still fits the 64 KiB frame limit (a bigger one closes with 1009,
    # by design: tests/test_ws_security.py) even with every character escaped as \uXXXX.
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "\ud800", "é"]), st.integers(1, 10_000)),
)

# (role, message type, field) for every field of every message a client may send.
MESSAGE_FIELDS = [
    (role, kind, name)
    for kind, spec in CLIENT_MESSAGES.items()
    if kind != "auth"
    for role in sorted(spec.roles & {"patient", "agent", "admin"})[:1]
    for name in spec.fields
]
HTTP_FIELDS = [
    ("/api/v1/session", {"token": "x"}, "token"),
    *(
        ("/api/v1/tokens", {"type": "invite", "queue": "appointments"}, name)
        for name in ("type", "name", "label", "queue", "reason", "priority")
    ),
    ("/api/v1/tokens", {"type": "agent"}, "queues"),
    ("/api/v1/tokens", {"type": "agent"}, "languages"),
    ("/api/v1/help/search", {"q": "x"}, "q"),
]


def shaped(kind: str, name: str, value: str) -> Any:
    """The value where the field wants it (inside the object for SDP and ICE fields)."""
    if name == "description":
        return {"type": "offer", "sdp": value}
    if name == "candidate":
        return {"candidate": value, "sdpMid": "0"}
    if name in ("needs", "queues", "languages"):
        return [value]
    return value


class Desk:
    """A desk served in this thread's own event loop (hypothesis drives it synchronously)."""

    def __init__(self, redis_url: str, tmp_path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = make_env(redis_url, tmp_path, VIDEODESK_PUBLIC_URL=self.url, VIDEODESK_DESK="fuzz")
        self.app = create_app(Settings.from_env(env))
        self.runner = web.AppRunner(self.app)
        self.sockets: dict[str, aiohttp.ClientWebSocketResponse] = {}
        self.count = 0

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        self.http = aiohttp.ClientSession()
        tokens = self.app[TOKENS]
        self.admin = tokens.mint(TokenRequest(typ="admin")).token
        for role, typ, queues in (
            ("patient", "invite", ("appointments",)),
            ("agent", "agent", ("appointments",)),
            ("admin", "admin", ()),
        ):
            token = tokens.mint(TokenRequest(typ=typ, queues=queues)).token  # type: ignore[arg-type]
            self.sockets[role] = await self.connect(role, token)

    async def connect(self, role: str, token: str) -> aiohttp.ClientWebSocketResponse:
        ws = await self.http.ws_connect(
            self.url.replace("http", "ws") + "/ws", headers={"Origin": self.url}, max_msg_size=0
        )
        await ws.send_json({"type": "auth", "token": token, "role": role})
        welcome = await ws.receive_json(timeout=5)
        assert welcome["type"] == "welcome", welcome
        return ws

    async def message(self, role: str, kind: str, name: str, value: str) -> list[dict[str, Any]]:
        """Send one message then a ping; the errors that answered the message."""
        ws = self.sockets[role]
        self.count += 1
        ref, ping = f"f{self.count}", f"p{self.count}"
        await ws.send_str(json.dumps({"type": kind, "id": ref, name: shaped(kind, name, value)}))
        await ws.send_json({"type": "ping", "id": ping})
        errors = []
        while True:
            reply = await ws.receive_json(timeout=10)
            if reply["type"] == "pong" and reply.get("ref") == ping:
                break
            if reply["type"] == "error" and reply.get("ref") == ref:
                errors.append(reply)
        await asyncio.sleep(0.11)  # stay under the per-socket message rate
        return errors

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        headers = {"Origin": self.url, "Authorization": f"Bearer {self.admin}"}
        # json.dumps escapes lone surrogates as \ud800, the way an attacker would send them.
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
        async with self.http.post(self.url + path, data=data, headers=headers) as response:
            return response.status, await response.json()

    async def healthy(self) -> bool:
        async with self.http.get(self.url + "/healthz") as response:
            return response.status == 200

    async def stop(self) -> None:
        for ws in self.sockets.values():
            await ws.close()
        await self.http.close()
        await self.runner.cleanup()


def test_arbitrary_text_never_breaks_a_socket_or_the_server(redis_url: str, tmp_path: Path) -> None:
    desk = Desk(redis_url, tmp_path)
    desk.run(desk.start())
    try:

        @settings(max_examples=150, deadline=None, database=None)
        @given(field=st.sampled_from(MESSAGE_FIELDS), value=NASTY)
        def over_the_socket(field: tuple[str, str, str], value: str) -> None:
            role, kind, name = field
            errors = desk.run(desk.message(role, kind, name, value))
            assert "internal" not in [e["code"] for e in errors], (kind, name, errors)

        @settings(max_examples=80, deadline=None, database=None)
        @given(field=st.sampled_from(HTTP_FIELDS), value=NASTY)
        def over_http(field: tuple[str, dict[str, Any], str], value: str) -> None:
            path, base, name = field
            status, body = desk.run(desk.post(path, {**base, name: shaped("", name, value)}))
            assert status < 500, (path, name, status, body)
            if status >= 400:
                assert isinstance(body.get("error"), str)
            assert desk.run(desk.healthy())

        over_the_socket()
        over_http()
        for ws in desk.sockets.values():  # every socket is still open and answering
            assert not ws.closed
    finally:
        desk.run(desk.stop())
        desk.loop.close()
