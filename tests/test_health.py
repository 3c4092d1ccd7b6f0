"""/healthz answers while the process runs; /readyz follows Redis and draining."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient

from server import appkeys
from server.app import create_app
from server.settings import Settings
from tests.conftest import make_env
from tests.support.redis_server import RedisServer


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
