"""Shared fixtures: a real Redis (wiped per test), settings, the app and a client.

Without REDIS_URL the session starts its own throwaway ``redis-server`` on a
free port; with REDIS_URL the tests use (and wipe) that server instead.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient
from redis.asyncio import Redis

from server.app import create_app
from server.auth.tokens import TOKENS, TokenService
from server.core.logs import quiet_third_party_loggers
from server.core.settings import Settings
from tests.support.redis_server import RedisServer

# Fixture modules shared by several test files.
pytest_plugins = [
    "tests.support.redis_cluster",
    "tests.support.queues",
    "tests.support.loopback",
    "tests.support.desks",
    "tests.support.calls",
    "tests.support.desk_group",
    "tests.support.sockets",
    "tests.support.postgres",
]

# The same loggers the server quiets: aiortc logs SDP, aioice logs IP addresses.
quiet_third_party_loggers()

TEST_SECRET = "test-secret-for-videodesk-only-" + "0123456789abcdef" * 2


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    given = os.environ.get("REDIS_URL")
    if given:
        yield given
        return
    server = RedisServer()
    server.start()
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


def make_env(redis_url: str | None, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "VIDEODESK_SECRET": TEST_SECRET,
        "VIDEODESK_SECRET_FILE": str(tmp_path / "secret"),
        "VIDEODESK_DESK": "test",
        "VIDEODESK_LOG_LEVEL": "DEBUG",
        **extra,
    }
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    return env


@pytest.fixture
def settings(redis: Redis, redis_url: str, tmp_path: Path) -> Settings:
    """Settings for a desk on the test Redis (the ``redis`` fixture wiped it)."""
    return Settings.from_env(make_env(redis_url, tmp_path))


@pytest.fixture
def app(settings: Settings) -> web.Application:
    return create_app(settings)


@pytest.fixture
async def client(
    app: web.Application, aiohttp_client: AiohttpClient
) -> TestClient[web.Request, web.Application]:
    return await aiohttp_client(app)


@pytest.fixture
def tokens(client: TestClient[web.Request, web.Application]) -> TokenService:
    return client.app[TOKENS]
