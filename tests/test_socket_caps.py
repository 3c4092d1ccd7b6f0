"""Socket caps counted across processes (issue 10, item 6): one address may hold at most
``VIDEODESK_MAX_SOCKETS_PER_ADDRESS`` open sockets on the whole desk, wherever they
land; another address is not held back by it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from signaling.client import ClientError, PatientBot
from tests.support.desk_group import DeskGroup


@pytest.fixture
def capped(redis_url: str) -> Iterator[DeskGroup]:
    group = DeskGroup(
        redis_url,
        extra_env={
            "VIDEODESK_MAX_SOCKETS_PER_ADDRESS": "3",
            "VIDEODESK_TRUSTED_PROXIES": "127.0.0.1/32",
        },
    )
    group.start()
    try:
        yield group
    finally:
        group.stop()


def patient_from(group: DeskGroup, index: int, address: str) -> PatientBot:
    return PatientBot(
        group.url(index),
        group.mint("desk", queues=("appointments",)),
        origin=group.url(0),
        media=False,
        forwarded_for=address,
    )


async def connect_within(group: DeskGroup, index: int, address: str, seconds: float) -> PatientBot:
    async with asyncio.timeout(seconds):
        while True:
            bot = patient_from(group, index, address)
            try:
                await bot.connect()
                return bot
            except ClientError as exc:
                await bot.close()
                assert exc.code == "too_many_connections"
                await asyncio.sleep(0.1)


async def test_one_address_is_capped_across_processes(capped: DeskGroup) -> None:
    crowd = "198.51.100.7"
    bots = [patient_from(capped, i % 2, crowd) for i in range(3)]  # both processes
    other = patient_from(capped, 1, "198.51.100.8")
    extra = patient_from(capped, 1, crowd)
    try:
        for bot in bots:
            await bot.connect()
        # The fourth socket from that address is refused, on either process.
        with pytest.raises(ClientError) as refused:
            await extra.connect()
        assert refused.value.code == "too_many_connections"
        # Someone else behind the same proxy gets in.
        await other.connect()
        # A socket closing frees its place for the next one (once the desk has seen it close).
        await bots[0].close()
        bots.append(await connect_within(capped, 0, crowd, seconds=10))
    finally:
        for bot in (*bots, other, extra):
            await bot.close()
