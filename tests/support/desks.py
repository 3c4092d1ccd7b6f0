"""A desk served over real TCP on loopback (in this process), with token helpers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer

from server.app import create_app
from server.auth.tokens import TOKENS, TokenRequest, TokenService
from server.core.settings import Settings
from server.ws.desk import DESK, Desk
from tests.conftest import make_env
from tests.support.redis_server import free_port


@dataclass
class LiveDesk:
    server: TestServer
    app: web.Application

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def desk(self) -> Desk:
        return self.app[DESK]

    @property
    def tokens(self) -> TokenService:
        return self.app[TOKENS]

    def token(self, typ: str, **fields: object) -> str:
        request = TokenRequest(typ=typ, **fields)  # type: ignore[arg-type]
        return self.app[TOKENS].mint(request).token

    def agent_token(self, name: str = "Sam", queues: tuple[str, ...] = ("appointments",)) -> str:
        return self.token("agent", name=name, queues=queues)

    def invite(self, name: str = "", queue: str = "appointments", **fields: object) -> str:
        return self.token("invite", name=name, queues=(queue,), **fields)


async def start_desk(
    aiohttp_server: AiohttpServer, redis_url: str | None, tmp_path: Path, **env: str
) -> LiveDesk:
    port = free_port()
    settings = Settings.from_env(
        make_env(redis_url, tmp_path, VIDEODESK_PUBLIC_URL=f"http://127.0.0.1:{port}", **env)
    )
    app = create_app(settings)
    server = await aiohttp_server(app, port=port)
    return LiveDesk(server=server, app=app)


@pytest.fixture
def desk_env() -> dict[str, str]:
    """Extra environment of ``live_desk``: a test that needs settings of its own says
    ``@pytest.mark.parametrize("desk_env", [{"VIDEODESK_…": "…"}])``."""
    return {}


@pytest.fixture
async def live_desk(
    aiohttp_server: AiohttpServer,
    redis_url: str,
    redis: object,
    tmp_path: Path,
    desk_env: dict[str, str],
) -> AsyncIterator[LiveDesk]:
    """A desk on the test Redis (wiped), served on a loopback port."""
    desk = await start_desk(aiohttp_server, redis_url, tmp_path, **desk_env)
    yield desk
    try:
        await asyncio.wait_for(desk.server.close(), 20)
    except TimeoutError:
        for task in asyncio.all_tasks():
            print("still running:", task.get_name(), task.get_coro())
            task.print_stack(limit=8)
        raise
