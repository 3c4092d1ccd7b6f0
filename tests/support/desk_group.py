"""Several real ``videodesk serve`` processes sharing one Redis, and tokens for them."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis

from server.auth.keyring import Keyring
from server.auth.tokens import TokenRequest, TokenService
from server.core.redis_keys import Keys
from tests.conftest import TEST_SECRET
from tests.support.processes import ServerProcess
from tests.support.redis_server import free_port


@dataclass
class DeskGroup:
    """``size`` server processes on one Redis; every process accepts the first's origin."""

    redis_url: str
    size: int = 2
    desk: str = field(default_factory=lambda: "c" + secrets.token_hex(3))
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[ServerProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        ports = [free_port() for _ in range(self.size)]
        origins = ",".join(f"http://127.0.0.1:{p}" for p in ports)
        for index, port in enumerate(ports):
            env = {
                "REDIS_URL": self.redis_url,
                "VIDEODESK_SECRET": TEST_SECRET,
                "VIDEODESK_DESK": self.desk,
                "VIDEODESK_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "VIDEODESK_ALLOWED_ORIGINS": origins,
                "VIDEODESK_LOG_LEVEL": "DEBUG",
                **self.extra_env,
            }
            self.processes.append(ServerProcess(f"server{index}", env, port=port))

    @property
    def keys(self) -> Keys:
        return Keys(self.desk)

    def url(self, index: int) -> str:
        return self.processes[index].url

    def tokens(self, redis: Redis) -> TokenService:
        return TokenService(redis, self.keys, Keyring.from_secrets(TEST_SECRET), "videodesk")

    def mint(self, typ: str, **fields: object) -> str:
        return self.mint_for(self.desk, typ, **fields)

    @staticmethod
    def mint_for(desk: str, typ: str, **fields: object) -> str:
        """A token signed with the test secret (no I/O: minting needs no Redis)."""
        service = TokenService(None, Keys(desk), Keyring.from_secrets(TEST_SECRET), "videodesk")  # type: ignore[arg-type]
        return service.mint(TokenRequest(typ=typ, **fields)).token  # type: ignore[arg-type]

    def start(self) -> None:
        for process in self.processes:
            process.start()

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()


@pytest.fixture
def desk_group(redis_url: str, redis: Redis) -> Iterator[DeskGroup]:
    """Two server processes on the test Redis (wiped)."""
    group = DeskGroup(redis_url)
    group.start()
    try:
        yield group
    finally:
        group.stop()
