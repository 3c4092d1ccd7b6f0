"""Call-backs (virtual hold, page ring, time slots) and staff messages, over the protocol."""

from __future__ import annotations

import json

from sqlalchemy import select

from server.records import tables
from server.records.service import RECORDS
from signaling.client import AgentBot, Bot, ClientError, PatientBot
from tests.support import canary
from tests.support.desks import LiveDesk
from tests.support.records import recorded


async def test_call_back_keeps_its_place_and_is_offered_as_a_call_back_task(
    live_desk: LiveDesk,
) -> None:
    first = PatientBot(live_desk.url, live_desk.invite(name=canary.PATIENT_NAME), media=False)
    second = PatientBot(live_desk.url, live_desk.invite(name="Ben"), media=False)
    agent = AgentBot(live_desk.url, live_desk.agent_token(), media=False)
    try:
        await first.connect()
        await first.join(name=canary.PATIENT_NAME)
        await second.connect()
        await second.join(name="Ben")
        try:
            await first.request("queue.callback", "never", mode="phone")
        except ClientError as exc:
            assert exc.code == "phone_needed"
        await first.send("queue.callback", mode="phone", phone=canary.PHONE_NUMBER)
        state = await first.next("queue.state", state="callback_pending")
        assert state["position"] == 1 and state["callback"] == {"mode": "phone", "slot": None}
        await first.close()  # they may leave the page
        await agent.connect()
        await agent.available()
        offer = await agent.next("agent.offer")
        assert offer["kind"] == "callback" and "callback" in offer["patient"]["flags"]
        assert offer["patient"]["callback"] == {"mode": "phone", "phone": canary.PHONE_NUMBER}
        await agent.accept(offer)
        task = await agent.next("agent.callback")
        assert task["patient"]["callback"]["phone"] == canary.PHONE_NUMBER
        assert task["page_open"] is False
        try:
            await agent.request("agent.ring", "never")
        except ClientError as exc:
            assert exc.code == "not_connected"
        await agent.send("agent.end")
        await agent.next("agent.state", state="wrap_up")
        await agent.send("agent.wrapup", outcome="callback_arranged", next="away")
        await agent.next("agent.state", state="away")
        assert (await second.next("queue.state", position=1))["state"] == "waiting"
    finally:
        for bot in (first, second, agent):
            await bot.close()


async def test_ringing_the_page_of_a_call_back_patient(
    live_desk: LiveDesk, loopback_ice: None
) -> None:
    patient = PatientBot(live_desk.url, live_desk.invite(name="Ana"))
    agent = AgentBot(live_desk.url, live_desk.agent_token())
    try:
        await patient.connect()
        await patient.join(name="Ana")
        await patient.send("queue.callback", mode="page")
        await patient.next("queue.state", state="callback_pending")
        await agent.connect()
        await agent.available()
        await agent.accept(await agent.next("agent.offer"))
        task = await agent.next("agent.callback")
        assert task["page_open"] is True
        await agent.request("agent.ring", "agent.ringing")
        ring = await patient.next("call.ring")
        assert ring["agent"]["name"] == "Sam"
        await patient.send("call.ring_answer", accept=True)
        await agent.next("call.started", kind="callback")
        await patient.next("call.started", kind="callback")
        await patient.wait_for(lambda: patient.frames_received()[0] >= 5, 20, "video")
        await agent.wait_for(lambda: agent.frames_received()[0] >= 5, 20, "video")
    finally:
        await patient.close()
        await agent.close()


async def test_a_call_back_booked_for_a_time_slot(live_desk: LiveDesk) -> None:
    patient = PatientBot(live_desk.url, live_desk.invite(name="Ana"), media=False)
    try:
        await patient.connect()
        await patient.join(name="Ana")
        slots = (await patient.request("queue.slots", "queue.slots"))["slots"]
        assert len(slots) == 8 and slots == sorted(slots)
        try:
            await patient.request("queue.callback", "never", mode="page", slot=slots[0] + 1)
        except ClientError as exc:
            assert exc.code == "slot_unavailable"
        await patient.send("queue.callback", mode="phone", phone="+34 600 000 000", slot=slots[2])
        state = await patient.next("queue.state", state="callback_pending")
        assert state["position"] == 0  # out of the queue until the slot starts
        assert state["callback"] == {"mode": "phone", "slot": slots[2]}
    finally:
        await patient.close()


async def test_staff_message_reaches_every_waiting_patient_of_that_queue_only(
    live_desk: LiveDesk,
) -> None:
    pharmacy = [
        PatientBot(live_desk.url, live_desk.invite(queue="pharmacy"), media=False) for _ in range(3)
    ]
    billing = PatientBot(live_desk.url, live_desk.invite(queue="billing"), media=False)
    admin_ws = AgentBot(live_desk.url, live_desk.token("admin"), media=False, use_cookie=False)
    admin_ws.role = "admin"
    try:
        for bot in [*pharmacy, billing]:
            await bot.connect()
            await bot.join(name="Pat")
        await admin_ws.connect()
        await admin_ws.request(
            "staff.message",
            "staff.sent",
            queue="pharmacy",
            text="The pharmacy team is 10 minutes behind today.",
        )
        for bot in pharmacy:
            notice = await bot.next("queue.notice")
            assert notice["text"].startswith("The pharmacy team")
        assert billing.last("queue.notice") is None
        # The audit trail says who told which queue, never the words.
        await recorded(live_desk.app)
        async with live_desk.app[RECORDS].engine.connect() as conn:
            rows = (await conn.execute(
                select(tables.audit.c.actor, tables.audit.c.details)
                .where(tables.audit.c.action == "staff_message")
            )).all()  # fmt: skip
        assert len(rows) == 1 and rows[0][0] != "system"
        assert json.loads(rows[0][1])["queue"] == "pharmacy"
        assert "behind" not in rows[0][1]
    finally:
        bots: list[Bot] = [*pharmacy, billing, admin_ws]
        for any_bot in bots:
            await any_bot.close()
