"""A long queue's waiting room: new places pushed the quick way between full refreshes.

The quick way is for queues with more than QUICK_ABOVE patients on one process; here the
threshold is lowered so that five patients make a long queue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.ws import positions
from signaling.client import PatientBot
from tests.support.desks import LiveDesk


@pytest.fixture
async def waiting(live_desk: LiveDesk, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[
    list[PatientBot]
]:  # fmt: skip
    monkeypatch.setattr(positions, "QUICK_ABOVE", 3)
    monkeypatch.setattr(positions, "QUICK_INTERVAL", 0.0)
    bots = [PatientBot(live_desk.url, live_desk.invite(), media=False) for _ in range(5)]
    # After the first round, no full refresh: what moves, moves the quick way.
    monkeypatch.setattr(positions, "FULL_REFRESH_INTERVAL", 600.0)
    try:
        for n, bot in enumerate(bots):
            await bot.connect()
            assert (await bot.join(name=f"P{n}"))["position"] == n + 1
        for n, bot in enumerate(bots):  # everyone has seen the whole queue
            await bot.next("queue.state", waiting=5, position=n + 1)
        yield bots
    finally:
        for bot in bots:
            await bot.close()


def _last_state(bot: PatientBot) -> dict[str, Any]:
    state = bot.last("queue.state")
    assert state is not None
    return state


async def test_everyone_behind_moves_up_when_the_head_leaves(waiting: list[PatientBot]) -> None:
    before = [_last_state(bot) for bot in waiting]
    marks = [len(bot.received) for bot in waiting]
    await waiting[0].request("queue.leave", "queue.state")
    for n, bot in enumerate(waiting[1:], start=1):
        state = await bot.next("queue.state", 5, after=marks[n], position=n, waiting=4)
        assert state["state"] == "waiting"
        # The wait goes on counting, and the range stays what it was.
        assert state["waited_s"] >= before[n]["waited_s"]
        assert state["estimate"] == before[n]["estimate"]
    marks = [len(bot.received) for bot in waiting]
    await waiting[2].request("queue.leave", "queue.state")
    for n, i in ((1, 1), (2, 3), (3, 4)):
        await waiting[i].next("queue.state", 5, after=marks[i], position=n, waiting=3)


async def test_a_patient_whose_state_moved_on_keeps_the_full_state(
    waiting: list[PatientBot],
) -> None:
    await waiting[3].send("queue.callback", mode="page")
    state = await waiting[3].next("queue.state", state="callback_pending", timeout=5)
    assert state["callback"]["mode"] == "page"
    mark = len(waiting[1].received)
    await waiting[0].request("queue.leave", "queue.state")
    await waiting[1].next("queue.state", 5, after=mark, position=1, waiting=4)
    later = _last_state(waiting[3])
    assert later["state"] == "callback_pending" and later["callback"]["mode"] == "page"
