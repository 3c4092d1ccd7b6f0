"""Tokens: issue → verify → revoke, and every bad token of docs/security.md ("Tokens") is a 401."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from redis.asyncio import Redis
from sqlalchemy import select

from server.auth.keyring import Keyring
from server.auth.tokens import TokenRequest, TokenService, audience
from server.core.redis_keys import Keys
from server.records import tables
from server.records.service import RECORDS
from tests.conftest import TEST_SECRET
from tests.support.records import recorded

Client = TestClient[web.Request, web.Application]
KID = Keyring.from_secrets(TEST_SECRET).current.kid


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def admin_claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "videodesk",
        "aud": audience("videodesk", "admin"),
        "sub": "u_test",
        "jti": "jti-" + str(now),
        "iat": now,
        "exp": now + 600,
        "typ": "admin",
    }
    for key, value in changes.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    return claims


def sign(claims: dict[str, Any], *, secret: str = TEST_SECRET, **header: Any) -> str:
    headers = {"kid": KID, **header}
    return jwt.encode(claims, secret, algorithm="HS256", headers=headers)


def raw_token(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    if key is None:
        return signing_input + "."
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(mac)


async def call_admin_api(client: Client, token: str) -> tuple[int, dict[str, Any]]:
    response = await client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {token}"})
    body = await response.json()
    return response.status, body


async def test_issue_verify_revoke(client: Client, tokens: TokenService) -> None:
    issued = await tokens.issue(TokenRequest(typ="admin", name="Root"))
    status, body = await call_admin_api(client, issued.token)
    assert status == 200
    assert [t["jti"] for t in body["tokens"]] == [issued.claims.jti]
    assert "token" not in body["tokens"][0]

    claims = await tokens.verify(issued.token, "admin")
    assert claims.sub == issued.claims.sub and claims.role == "admin"

    await tokens.revoke(issued.claims.jti)
    status, body = await call_admin_api(client, issued.token)
    assert status == 401
    assert body == {"error": "token_revoked", "message": "token has been revoked"}


def rsa_public_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def bad_tokens() -> dict[str, str]:
    now = int(time.time())
    good = admin_claims()
    cases = {
        "alg none": raw_token({"alg": "none", "kid": KID, "typ": "JWT"}, good, None),
        "alg none without kid": raw_token({"alg": "none"}, good, None),
        "HS256 signed with an RSA public key": raw_token(
            {"alg": "HS256", "kid": KID}, good, rsa_public_pem()
        ),
        "RS256 header with our kid": raw_token({"alg": "RS256", "kid": KID}, good, b"x"),
        "expired": sign(admin_claims(iat=now - 7200, exp=now - 3600)),
        "future iat": sign(admin_claims(iat=now + 3600, exp=now + 7200)),
        "not yet valid (nbf)": sign(admin_claims(nbf=now + 3600)),
        "wrong audience": sign(admin_claims(aud="videodesk:admins")),
        "audience of another desk": sign(admin_claims(aud="other:admin")),
        "issuer with a prefix": sign(admin_claims(iss="evil-videodesk")),
        "issuer with a suffix": sign(admin_claims(iss="videodesk.evil")),
        "unknown kid": sign(admin_claims(), kid="k000000000000"),
        "no kid": jwt.encode(admin_claims(), TEST_SECRET, algorithm="HS256"),
        "jku header, attacker key": sign(
            admin_claims(), secret="attacker-secret-" + "x" * 32, jku="https://evil.example/jwks"
        ),
        "jwk header, attacker key": sign(
            admin_claims(),
            secret="attacker-secret-" + "x" * 32,
            jwk={"kty": "oct", "k": b64(b"attacker-secret-" + b"x" * 32)},
        ),
        "unknown crit": sign(admin_claims(), crit=["exp-extension"], extension=1),
        "wrong typ claim": sign(admin_claims(typ="agent")),
        "sub not a string": sign(admin_claims(sub=12345)),
        "exp not a number": raw_token(
            {"alg": "HS256", "kid": KID}, admin_claims(exp="tomorrow"), TEST_SECRET.encode()
        ),
        "garbage": "not-a-token",
        "three dots": "a.b.c",
        "huge": "eyJ" + "A" * 6000,
    }
    for claim in ("exp", "iat", "iss", "aud", "sub", "jti"):
        cases[f"missing {claim}"] = sign(admin_claims(**{claim: None}))
    return cases


def test_a_token_id_can_be_typed_on_a_command_line(tokens: TokenService) -> None:
    """`videodesk token revoke <jti>` takes any id the desk issued: none starts with "-"
    (which the command line would read as an option)."""
    ids = {tokens.mint(TokenRequest(typ="agent", name="Sam")).claims.jti for _ in range(500)}
    assert len(ids) == 500
    assert all(jti.isalnum() and jti.isascii() for jti in ids), sorted(ids)[:3]


@pytest.mark.parametrize("case", sorted(bad_tokens()))
async def test_bad_token_is_a_401_json_error(client: Client, case: str) -> None:
    token = bad_tokens()[case]
    status, body = await call_admin_api(client, token)
    assert status == 401, body
    assert set(body) == {"error", "message"}
    assert body["error"] in ("unauthorized", "token_expired")


async def test_well_formed_token_of_the_test_builder_is_accepted(client: Client) -> None:
    # The bad cases above differ from this one token in exactly one way.
    status, _ = await call_admin_api(client, sign(admin_claims()))
    assert status == 200


async def test_agent_token_on_admin_api_is_forbidden(client: Client, tokens: TokenService) -> None:
    agent = await tokens.issue(TokenRequest(typ="agent", name="Sam", queues=("pharmacy",)))
    status, body = await call_admin_api(client, agent.token)
    assert status == 403
    assert body["error"] == "forbidden"


async def test_patient_invite_cannot_act_as_agent(tokens: TokenService) -> None:
    invite = tokens.mint(TokenRequest(typ="invite", name="Ana", queues=("appointments",)))
    with pytest.raises(Exception, match="not valid here"):
        tokens.decode(invite.token, "agent")
    assert tokens.decode(invite.token, "patient").queue == "appointments"


async def test_missing_or_wrong_scheme_is_401(client: Client) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
        response = await client.get("/api/v1/tokens", headers=headers)
        assert response.status == 401
        assert (await response.json())["error"] == "unauthorized"


async def test_key_rotation_keeps_old_tokens_valid(redis: Redis) -> None:
    keys = Keys("test")
    old_secret = "old-secret-" + "y" * 40
    old = TokenService(redis, keys, Keyring.from_secrets(old_secret), "videodesk")
    issued = old.mint(TokenRequest(typ="admin"))

    rotated = TokenService(
        redis, keys, Keyring.from_secrets(TEST_SECRET, (old_secret,)), "videodesk"
    )
    assert (await rotated.verify(issued.token, "admin")).jti == issued.claims.jti
    # New tokens are signed with the new key.
    fresh = rotated.mint(TokenRequest(typ="admin"))
    assert jwt.get_unverified_header(fresh.token)["kid"] == KID

    dropped = TokenService(redis, keys, Keyring.from_secrets(TEST_SECRET), "videodesk")
    with pytest.raises(Exception, match="not signed by this desk"):
        await dropped.verify(issued.token, "admin")


async def test_single_use_invite_used_twice_in_parallel_succeeds_once(redis_url: str) -> None:
    keyring = Keyring.from_secrets(TEST_SECRET)
    clients = [Redis.from_url(redis_url, decode_responses=True) for _ in range(8)]
    try:
        services = [TokenService(c, Keys("test"), keyring, "videodesk") for c in clients]
        invite = services[0].mint(TokenRequest(typ="invite", queues=("appointments",)))
        claims = services[0].decode(invite.token, "patient")
        results = await asyncio.gather(
            *(s.consume_invite(claims.jti, claims.exp, f"p_{i}") for i, s in enumerate(services))
        )
        assert results.count(True) == 1
        winner = f"p_{results.index(True)}"
        # The winner may join again (a page refresh); nobody else may.
        assert await services[0].consume_invite(claims.jti, claims.exp, winner)
        assert not await services[0].consume_invite(claims.jti, claims.exp, "p_other")
    finally:
        for c in clients:
            await c.aclose()


async def test_token_issue_revoke_and_failed_logins_are_audited(
    client: Client, tokens: TokenService, redis: Redis
) -> None:
    issued = await tokens.issue(TokenRequest(typ="agent", queues=("billing",)))
    await tokens.revoke(issued.claims.jti)
    status, _ = await call_admin_api(client, "not-a-token")
    assert status == 401
    entries: list[tuple[str, dict[str, str]]] = await redis.xrange(Keys("test").events)  # type: ignore[assignment]
    events = [fields for _, fields in entries]
    kinds = [e["type"] for e in events]
    assert kinds == ["token_issued", "token_revoked", "auth_failed"]
    assert events[0]["jti"] == issued.claims.jti and events[2]["where"] == "api"
    assert not any("eyJ" in value for e in events for value in e.values())


async def test_the_audit_trail_names_the_admin_who_issued_and_revoked(
    client: Client, tokens: TokenService
) -> None:
    admin = tokens.mint(TokenRequest(typ="admin", name="Root"))
    headers = {"Authorization": f"Bearer {admin.token}"}
    response = await client.post("/api/v1/tokens", json={"type": "agent"}, headers=headers)
    assert response.status == 201
    jti = (await response.json())["jti"]
    assert (await client.delete(f"/api/v1/tokens/{jti}", headers=headers)).status == 200
    await recorded(client.app)
    async with client.app[RECORDS].engine.connect() as conn:
        rows = (await conn.execute(
            select(tables.audit.c.action, tables.audit.c.actor)
            .where(tables.audit.c.action.in_(["token_issued", "token_revoked"]))
        )).all()  # fmt: skip
    assert sorted(rows) == [("token_issued", admin.claims.sub),
                            ("token_revoked", admin.claims.sub)]  # fmt: skip
