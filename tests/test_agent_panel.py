"""An agent's console shows its queues as soon as it connects (issue 16, found on the
screenshots: "Your queues: Loading…" until the next round of the presence loop)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from server.ws import presence
from signaling.client import AgentBot, PatientBot
from tests.support.desks import LiveDesk


async def _silent(*_: object) -> None:
    return None


async def test_the_queues_arrive_with_the_sign_in(
    live_desk: LiveDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The presence loop's panel rounds are silenced: only the sign-in can send the panel.
    monkeypatch.setattr(presence, "panels", SimpleNamespace(push=_silent))
    patient = PatientBot(live_desk.url, live_desk.invite(), media=False)
    await patient.connect()
    await patient.join(name="Ana", reason="My results")
    agent = AgentBot(live_desk.url, live_desk.agent_token(name="Sam"), media=False)
    await agent.connect()
    panel = await agent.next("agent.queues")
    [queue] = panel["queues"]
    assert queue["name"] == "appointments"
    assert queue["waiting"] == 1
    assert [p["name"] for p in queue["patients"]] == ["Ana"]
    for bot in (agent, patient):
        await bot.close()
