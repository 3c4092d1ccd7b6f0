"""/healthz answers while the process runs; /readyz follows Redis and draining."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient
from redis.asyncio import Redis

from server.app import create_app
from server.core import appkeys
from server.core.settings import Settings
from tests.conftest import make_env
from tests.support.redis_server import RedisServer, free_port


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


async def test_readyz_follows_redis_going_away_and_coming_back(
    private_redis: RedisServer, tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    settings = Settings.from_env(make_env(private_redis.url, tmp_path))
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/readyz")).status == 200

    private_redis.stop()
    response = await client.get("/readyz")
    assert response.status == 503
    assert (await response.json())["error"] == "redis_unavailable"
    assert (await client.get("/healthz")).status == 200

    private_redis.start()
    response = await client.get("/readyz")
    assert response.status == 200, await response.text()


async def test_readyz_is_503_while_draining(
    private_redis: RedisServer, tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    settings = Settings.from_env(make_env(private_redis.url, tmp_path))
    client = await aiohttp_client(create_app(settings))
    client.app[appkeys.LIFECYCLE].draining = True
    response = await client.get("/readyz")
    assert response.status == 503
    assert (await response.json())["error"] == "draining"


async def test_embedded_store_is_ready(tmp_path: Path, aiohttp_client: AiohttpClient) -> None:
    settings = Settings.from_env(make_env(None, tmp_path))
    assert settings.embedded
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/readyz")).status == 200


async def test_readyz_is_503_while_redis_refuses_writes(
    private_redis: RedisServer, tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    """Issue 10 item 5: a replica answers PING but takes no write (the old primary after
    a failover): not ready."""
    settings = Settings.from_env(make_env(private_redis.url, tmp_path))
    client = await aiohttp_client(create_app(settings))
    admin = Redis.from_url(private_redis.url)
    try:
        await admin.replicaof("127.0.0.1", free_port())
        response = await client.get("/readyz")
        assert response.status == 503
        assert (await response.json())["error"] == "redis_read_only"
        await admin.replicaof("NO", "ONE")
        assert (await client.get("/readyz")).status == 200
    finally:
        await admin.aclose()


async def test_the_session_exchange_is_503_not_500_while_redis_is_down(
    private_redis: RedisServer, tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    """Issue 10 item 4 (HTTP): the rate limiter's ConnectionError is "try again"."""
    settings = Settings.from_env(make_env(private_redis.url, tmp_path))
    client = await aiohttp_client(create_app(settings))
    private_redis.stop()
    try:
        response = await client.post(
            "/api/v1/session",
            json={"token": "x.y.z"},
            headers={"Origin": settings.public_url},
        )
        assert response.status == 503
        assert (await response.json())["error"] == "unavailable"
        assert response.headers["Retry-After"] == "2"
    finally:
        private_redis.start()
