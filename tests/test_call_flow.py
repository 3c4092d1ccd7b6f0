"""A whole call through the desk with real aiortc peers sending media."""

from __future__ import annotations

import pytest

from signaling.client import AgentBot, PatientBot
from tests.support.desks import LiveDesk
from tests.support.events import recorded_events
from tests.support.invariants import check_invariants


async def test_patient_and_agent_have_a_call(live_desk: LiveDesk, loopback_ice: None) -> None:
    patient = PatientBot(live_desk.url, live_desk.invite(name="Ana"))
    agent = AgentBot(live_desk.url, live_desk.agent_token())
    try:
        await patient.connect()
        state = await patient.join(name="Ana", reason="prescription")
        assert state["state"] == "waiting" and state["position"] == 1, patient.received
        await agent.connect()
        await agent.available()
        offer = await agent.next("agent.offer")
        assert offer["patient"]["name"] == "Ana"
        await agent.accept(offer)
        await agent.next("call.started")
        await patient.next("call.started")
        await agent.wait_for(lambda: agent.frames_received()[0] >= 10, 20, "video frames")
        await patient.wait_for(lambda: patient.frames_received()[0] >= 10, 20, "video frames")
        await patient.wait_for(lambda: patient.frames_received()[1] >= 10, 20, "audio frames")
        await agent.wait_for(lambda: agent.frames_received()[1] >= 10, 20, "audio frames")
        await patient.send("call.chat", text="hello from the patient")
        await agent.wait_for(lambda: len(agent.chats) == 1, 5, "chat")
        assert agent.chats[0]["text"] == "hello from the patient"
        await agent.send("call.bye")
        await patient.next("call.ended")
        final = await patient.next("queue.state", state="done")
        assert final["position"] == 0
        agent_state = await agent.next("agent.state", state="wrap_up")
        assert agent_state["state"] == "wrap_up"
        desk = live_desk.desk
        types = [e["type"] for e in await recorded_events(desk.engine)]
        for expected in ("joined", "offered", "accepted", "call_started", "call_ended"):
            assert expected in types
        assert await check_invariants(desk.engine.redis, desk.keys, list(desk.engine.queues)) == []
    finally:
        await patient.close()
        await agent.close()


@pytest.mark.parametrize("origin", [None, "null", "http://127.0.0.1:8080.evil.com"])
async def test_bad_origin_is_refused(live_desk: LiveDesk, origin: str | None) -> None:
    import aiohttp

    headers = {"Origin": origin} if origin else {}
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await http.ws_connect(live_desk.url.replace("http", "ws") + "/ws", headers=headers)
        assert caught.value.status == 403
