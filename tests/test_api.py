"""The admin REST API, JSON errors and security headers on every response."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from server.app import create_app
from server.auth.tokens import TokenRequest, TokenService
from server.core.settings import Settings

Client = TestClient[web.Request, web.Application]


async def admin_headers(tokens: TokenService) -> dict[str, str]:
    admin = await tokens.issue(TokenRequest(typ="admin", name="Root"))
    return {"Authorization": f"Bearer {admin.token}"}


async def test_issue_list_revoke_round_trip(client: Client, tokens: TokenService) -> None:
    headers = await admin_headers(tokens)
    response = await client.post(
        "/api/v1/tokens",
        json={"type": "agent", "name": "Sam", "queues": ["pharmacy"], "languages": ["en"]},
        headers=headers,
    )
    assert response.status == 201
    agent = await response.json()
    assert agent["link"].startswith("http://127.0.0.1:8080/agent#token=eyJ")
    assert "?" not in agent["link"]
    claims = await tokens.verify(agent["token"], "agent")
    assert claims.name == "Sam" and claims.queues == ("pharmacy",)

    response = await client.post(
        "/api/v1/tokens",
        json={"type": "invite", "name": "Ana", "queue": "appointments", "priority": "urgent"},
        headers=headers,
    )
    invite = await response.json()
    assert response.status == 201 and invite["link"].split("#")[0].endswith("/p")
    patient = await tokens.verify(invite["token"], "patient")
    assert patient.single_use and patient.priority == "urgent"

    listed = await (await client.get("/api/v1/tokens", headers=headers)).json()
    by_jti = {t["jti"]: t for t in listed["tokens"]}
    assert by_jti[agent["jti"]]["label"] == "Sam"
    assert all("token" not in t for t in listed["tokens"])

    response = await client.delete(f"/api/v1/tokens/{agent['jti']}", headers=headers)
    assert response.status == 200
    assert (await response.json())["known"] is True
    listed = await (await client.get("/api/v1/tokens", headers=headers)).json()
    assert {t["jti"]: t for t in listed["tokens"]}[agent["jti"]]["revoked"] is True
    with pytest.raises(Exception, match="revoked"):
        await tokens.verify(agent["token"], "agent")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "root"}, "bad_request"),
        ({"type": "agent", "queues": ["nowhere"]}, "unknown_queue"),
        ({"type": "invite"}, "unknown_queue"),
        ({"type": "agent", "languages": ["xx"]}, "unknown_language"),
        ({"type": "agent", "name": "x" * 81}, "bad_request"),
        ({"type": "agent", "name": "line\nbreak"}, "bad_request"),
        ({"type": "agent", "ttl": 10}, "bad_request"),
        ({"type": "agent", "ttl": "long"}, "bad_request"),
        ({"type": "agent", "isAdmin": True}, "bad_request"),
        ({"type": "invite", "queue": "pharmacy", "priority": "vip"}, "bad_request"),
        (["not", "an", "object"], "bad_request"),
    ],
)
async def test_bad_issue_request_is_a_400(
    client: Client, tokens: TokenService, body: Any, code: str
) -> None:
    response = await client.post("/api/v1/tokens", json=body, headers=await admin_headers(tokens))
    assert response.status == 400
    assert (await response.json())["error"] == code


async def test_body_that_is_not_json(client: Client, tokens: TokenService) -> None:
    headers = await admin_headers(tokens)
    for raw in (b"{", b"\xff\xfe", b"[" * 5000 + b"]" * 5000):
        response = await client.post("/api/v1/tokens", data=raw, headers=headers)
        assert response.status == 400
        assert (await response.json())["error"] in ("bad_request", "too_large")


async def test_too_large_body(client: Client, tokens: TokenService) -> None:
    headers = await admin_headers(tokens)
    response = await client.post("/api/v1/tokens", data=b"x" * 200_000, headers=headers)
    assert response.status in (400, 413)
    assert "error" in await response.json()


async def test_revoking_a_jti_the_desk_never_recorded_is_404_but_the_service_can_deny_it(
    client: Client, tokens: TokenService
) -> None:
    offline = tokens.mint(TokenRequest(typ="agent", queues=("billing",)))
    response = await client.delete(
        f"/api/v1/tokens/{offline.claims.jti}", headers=await admin_headers(tokens)
    )
    assert response.status == 404 and (await response.json())["error"] == "unknown_token"
    assert (await tokens.verify(offline.token, "agent")).jti == offline.claims.jti
    # The command line (which holds the signing secret) may deny a token minted offline.
    assert await tokens.revoke(offline.claims.jti, unknown_ok=True) is False
    with pytest.raises(Exception, match="revoked"):
        await tokens.verify(offline.token, "agent")


async def test_wrong_method_and_unknown_path_are_json(client: Client) -> None:
    response = await client.put("/api/v1/tokens")
    assert response.status == 405
    assert (await response.json())["error"] == "method_not_allowed"
    response = await client.get("/api/v1/nothing-here")
    assert response.status == 404
    assert await response.json() == {"error": "not_found", "message": "Not Found"}


async def test_failed_logins_are_rate_limited(client: Client) -> None:
    statuses = []
    for _ in range(35):
        response = await client.get("/api/v1/tokens", headers={"Authorization": "Bearer junk"})
        statuses.append(response.status)
    assert statuses[:30] == [401] * 30
    assert statuses[-1] == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert (await response.json())["error"] == "rate_limited"


async def test_unexpected_exception_is_a_json_500_without_traceback(
    settings: Settings, aiohttp_client: AiohttpClient
) -> None:
    app = create_app(settings)

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("secret internal detail")

    app.router.add_get("/broken", broken)
    client = await aiohttp_client(app)
    response = await client.get("/broken")
    assert response.status == 500
    body = await response.text()
    assert "secret internal detail" not in body and "Traceback" not in body
    assert (await response.json())["error"] == "internal"
    assert "Content-Security-Policy" in response.headers


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/api/v1/tokens", "/no-such-page"])
async def test_security_headers_on_every_response(client: Client, path: str) -> None:
    response = await client.get(path)
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "nonce-"):
        assert directive in csp
    assert headers["Permissions-Policy"].startswith("camera=(self), microphone=(self)")
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "aiohttp" not in headers.get("Server", "")
    assert "Strict-Transport-Security" not in headers  # plain http: no HSTS


async def test_hsts_behind_tls(
    redis_url: str, tmp_path: Any, aiohttp_client: AiohttpClient
) -> None:
    from tests.conftest import make_env

    env = make_env(redis_url, tmp_path, VIDEODESK_PUBLIC_URL="https://desk.example.org")
    client = await aiohttp_client(create_app(Settings.from_env(env)))
    response = await client.get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_nonce_differs_per_response(client: Client) -> None:
    first = (await client.get("/healthz")).headers["Content-Security-Policy"]
    second = (await client.get("/healthz")).headers["Content-Security-Policy"]
    assert first != second
