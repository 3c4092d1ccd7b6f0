"""A patient and an agent on two different server processes sharing one Redis."""

from __future__ import annotations

from redis.asyncio import Redis

from signaling.client import AgentBot, GuestBot, PatientBot
from tests.support import canary
from tests.support.desk_group import DeskGroup
from tests.support.invariants import check_invariants


async def test_call_across_two_processes(
    desk_group: DeskGroup, redis: Redis, loopback_ice: None
) -> None:
    origin = desk_group.url(0)
    patient = PatientBot(
        desk_group.url(0),
        desk_group.mint("invite", name=canary.PATIENT_NAME, queues=("pharmacy",)),
        origin=origin,
    )
    agent = AgentBot(
        desk_group.url(1), desk_group.mint("agent", name="Sam", queues=("pharmacy",)), origin=origin
    )
    try:
        await patient.connect()
        state = await patient.join(name=canary.PATIENT_NAME, reason=canary.PATIENT_REASON)
        assert state["position"] == 1
        await agent.connect()
        await agent.available()
        offer = await agent.next("agent.offer")  # made on process 1, delivered on process 2
        assert offer["patient"]["name"] == canary.PATIENT_NAME.split()[0]
        await patient.next("queue.state", state="offered")
        await agent.accept(offer)
        await patient.next("call.started")
        for bot in (patient, agent):
            await bot.wait_for(lambda b=bot: b.frames_received()[0] >= 10, 20, "video")  # type: ignore[misc]
            await bot.wait_for(lambda b=bot: b.frames_received()[1] >= 10, 20, "audio")  # type: ignore[misc]
        await patient.send("call.chat", text=canary.CHAT_TEXT)
        await agent.wait_for(lambda: len(agent.chats) == 1, 5, "chat")
        await agent.send("call.chat", text="hello from the agent")
        await patient.wait_for(lambda: len(patient.chats) == 1, 5, "chat")
        await agent.send("call.bye")
        await patient.next("call.ended")
        await patient.next("queue.state", state="done")
        await agent.next("agent.state", state="wrap_up")
        queues = ["appointments", "pharmacy", "billing", "technical"]
        assert await check_invariants(redis, desk_group.keys, queues) == []
        entries: list[tuple[str, dict[str, str]]] = await redis.xrange(desk_group.keys.events)  # type: ignore[assignment]
        events = [fields for _, fields in entries]
        story = [e["type"] for e in events if e.get("queue") == "pharmacy"]
        # What the patient was told about the wait is on the record too: at join nobody
        # answered the queue (any later change depends on when a push came).
        told = [e for e in events if e["type"] == "estimate"]
        assert story[:2] == ["joined", "estimate"] and told[0]["why"] == "nobody_staffed"
        assert [t for t in story if t != "estimate"] == [
            "joined", "offered", "accepted", "call_started", "call_ended"
        ]  # fmt: skip
    finally:
        await patient.close()
        await agent.close()


async def test_a_guest_whose_process_dies_rejoins_on_another(
    desk_group: DeskGroup, redis: Redis
) -> None:
    """The interpreter's socket is on process 0, the patient's and agent's on process 1.
    Process 0 is SIGKILLed mid-call: the guest's page reconnects to process 1 and is in
    the call again at once, with a new seq, so the others start a fresh connection."""
    origin = desk_group.url(0)
    patient = PatientBot(
        desk_group.url(1), desk_group.mint("invite", name="Ana", queues=("pharmacy",)),
        origin=origin, media=False,
    )  # fmt: skip
    agent = AgentBot(
        desk_group.url(1), desk_group.mint("agent", name="Sam", queues=("pharmacy",)),
        origin=origin, media=False,
    )  # fmt: skip
    guest: GuestBot | None = None
    try:
        await patient.connect()
        await patient.join(name="Ana")
        await agent.connect()
        await agent.available()
        await agent.accept(await agent.next("agent.offer"))
        call = (await patient.next("call.started"))["call"]
        link = await agent.request("call.invite", "call.invite_link", party="interpreter")
        token = link["link"].split("#token=")[1]
        guest = GuestBot(
            desk_group.url(0), token, origin=origin, alternates=(desk_group.url(1),),
            auto_reconnect=True,
        )  # fmt: skip
        await guest.connect()
        await guest.join_call("Lucía")
        before = await agent.next("call.parties", you="agent")
        seq = {p["handle"]: p["seq"] for p in before["parties"]}["g1"]
        mark = len(agent.received)

        desk_group.processes[0].kill()

        await guest.wait_for(lambda: guest is not None and guest.reconnects >= 1, 20, "reconnect")
        again = await guest.next("call.started", after=2, call=call)
        assert again["resumed"] is True
        after = await agent.next("call.parties", after=mark)
        now = {p["handle"]: p for p in after["parties"]}
        assert list(now) == ["patient", "agent", "g1"]
        assert now["g1"]["seq"] > seq and now["g1"]["name"] == "Lucía"
        await guest.send("call.chat", text="back again")
        await patient.wait_for(lambda: any(c["text"] == "back again" for c in patient.chats), 5)
    finally:
        if guest is not None:
            await guest.close()
        await patient.close()
        await agent.close()
