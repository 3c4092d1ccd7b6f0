"""A patient who tells the assistant about an emergency (issue 16, bug 2): they get the
emergency message, and staff learn of it — the offer, the context and the dashboard say
so, the stream has an audit event without the words, and where the desk is configured to
escalate the patient goes ahead of everyone in the normal band."""

from __future__ import annotations

import asyncio

import pytest

from server.observability.dashboard import snapshot
from server.ws.emergency import emergency_words
from signaling.client import AgentBot, PatientBot
from tests.support.desks import LiveDesk
from tests.support.events import recorded_events

CHEST_PAIN = "I have chest pain and can't breathe"


async def only_patient(desk: LiveDesk) -> str:
    """The one patient id the desk knows (the bots do not learn their own)."""
    leases = await desk.desk.engine.redis.zrange(desk.desk.keys.leases, 0, -1)
    pids = [str(m)[2:] for m in leases if str(m).startswith("p:")]
    assert len(pids) == 1
    return pids[0]


async def flagged(desk: LiveDesk, pid: str) -> dict[str, str]:
    """The patient's record once flagged (the flag follows the assistant's reply)."""
    async with asyncio.timeout(10):
        while not (record := await desk.desk.engine.patient(pid)).get("emergency"):
            await asyncio.sleep(0.05)
    return record


def test_the_words_heard_are_the_phrases_found() -> None:
    assert emergency_words(CHEST_PAIN) == ["chest pain", "can't breathe"]
    assert emergency_words("Tengo DOLOR DE PECHO") == ["dolor de pecho"]
    # Whole words, as written: the pattern "desmay" finds "desmayé".
    assert emergency_words("Me desmayé esta mañana") == ["desmayé"]
    assert emergency_words("I need a repeat prescription") == []


async def test_staff_learn_of_an_emergency_told_to_the_assistant(live_desk: LiveDesk) -> None:
    desk = live_desk.desk
    patient = PatientBot(live_desk.url, live_desk.invite(name="Ana"), media=False)
    await patient.connect()
    await patient.join(name="Ana", reason="My appointment")
    reply = await patient.request("assistant.ask", "assistant.reply", text=CHEST_PAIN)
    assert reply["kind"] == "emergency"

    pid = await only_patient(live_desk)
    record = await flagged(live_desk, pid)
    assert record["emergency"] == "chest pain,can't breathe"
    assert record["band"] == "2", "the default (flag) does not change the order"
    queue = next(q for q in (await snapshot(desk.engine))["queues"] if q["name"] == "appointments")
    assert [e["words"] for e in queue["emergencies"]] == [["chest pain", "can't breathe"]]

    agent = AgentBot(live_desk.url, live_desk.agent_token(), media=False)
    await agent.connect()
    await agent.available()
    offer = await agent.next("agent.offer")
    assert "emergency" in offer["patient"]["flags"]
    assert offer["patient"]["emergency_words"] == ["chest pain", "can't breathe"]

    # Said again: still one audit event, and it carries no words (health information).
    await patient.request("assistant.ask", "assistant.reply", text="chest pain")
    audit = [e for e in await recorded_events(desk.engine) if e["type"] == "emergency"]
    assert len(audit) == 1
    assert audit[0]["patient"] == pid
    assert audit[0]["escalated"] == "0"
    assert "chest" not in str(audit[0])
    for bot in (patient, agent):
        await bot.close()


async def test_an_open_offer_is_sent_again_with_the_flag(live_desk: LiveDesk) -> None:
    patient = PatientBot(live_desk.url, live_desk.invite(), media=False)
    agent = AgentBot(live_desk.url, live_desk.agent_token(), media=False)
    await patient.connect()
    await patient.join(name="Bo")
    await agent.connect()
    await agent.available()
    first = await agent.next("agent.offer")
    assert "emergency" not in first["patient"]["flags"]
    mark = len(agent.received)
    await patient.request("assistant.ask", "assistant.reply", text="he fainted")
    again = await agent.next("agent.offer", after=mark)
    assert again["token"] == first["token"], "the same offer, not a new one"
    assert "emergency" in again["patient"]["flags"]
    for bot in (patient, agent):
        await bot.close()


@pytest.mark.parametrize("desk_env", [{"VIDEODESK_EMERGENCY_ESCALATION": "urgent"}])
async def test_an_escalating_desk_moves_the_patient_to_the_urgent_band(
    live_desk: LiveDesk,
) -> None:
    escalating_desk = live_desk
    desk = escalating_desk.desk
    waiting = []
    for name in ("Ana", "Bo", "Cy"):
        bot = PatientBot(escalating_desk.url, escalating_desk.invite(), media=False)
        await bot.connect()
        await bot.join(name=name)
        waiting.append(bot)
    last = waiting[-1]
    mark = len(last.received)
    await last.request("assistant.ask", "assistant.reply", text="No puedo respirar")
    state = await last.next("queue.state", after=mark, position=1)
    assert state["state"] == "waiting"
    second = await waiting[0].next("queue.state", after=0, position=2)
    assert second["state"] == "waiting", "the others move down one place, in order"

    agent = AgentBot(escalating_desk.url, escalating_desk.agent_token(), media=False)
    await agent.connect()
    await agent.available()
    offer = await agent.next("agent.offer")
    assert offer["patient"]["name"] == "Cy"
    assert {"emergency", "urgent"} <= set(offer["patient"]["flags"])
    audit = [e for e in await recorded_events(desk.engine) if e["type"] == "emergency"]
    assert [(e["band"], e["escalated"]) for e in audit] == [("0", "1")]
    await agent.close()
    for bot in waiting:
        await bot.close()


async def test_an_emergency_in_the_reason_flags_the_patient_at_join(live_desk: LiveDesk) -> None:
    patient = PatientBot(live_desk.url, live_desk.invite(), media=False)
    await patient.connect()
    await patient.join(name="Di", reason="severe pain in my side since this morning")
    record = await flagged(live_desk, await only_patient(live_desk))
    assert record["emergency"] == "severe pain"
    await patient.close()
