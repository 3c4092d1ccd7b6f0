"""An agent who closes the console right after wrap-up (issue 16, bug 1): they are signed
out after the idle grace period, not the call's, and a patient is never left waiting on an
offer to a console that is gone."""

from __future__ import annotations

from redis.asyncio import Redis

from signaling.client import AgentBot, PatientBot
from tests.support.desks import LiveDesk
from tests.support.events import recorded_events


async def test_a_console_closed_after_wrap_up_is_offered_no_patient(
    live_desk: LiveDesk, redis: Redis
) -> None:
    desk = live_desk.desk
    first = PatientBot(live_desk.url, live_desk.invite(), media=False)
    leaving = AgentBot(
        live_desk.url, live_desk.agent_token(name="Sam"), media=False, auto_accept=True
    )
    await first.connect()
    await first.join(name="Ana")
    await leaving.connect()
    await leaving.available()
    await leaving.next("call.started")
    await leaving.send("agent.end")
    await leaving.next("agent.state", state="wrap_up")
    await leaving.request("agent.wrapup", "agent.state", outcome="resolved", next="available")
    await leaving.close()  # the tab is closed a moment after "Available for the next patient"
    await first.close()

    agent_ids = [str(a) for a in await redis.smembers(desk.keys.agents)]
    assert len(agent_ids) == 1
    lease = await redis.zscore(desk.keys.leases, f"a:{agent_ids[0]}")
    now = await desk.engine.clock_ms()
    assert lease is not None
    assert lease - now <= desk.settings.agent_grace_period * 1000, "still holds the call's lease"

    # A colleague who became available later; the closed console has been idle longest,
    # so it is first in line — and must be passed over at once.
    staying = AgentBot(live_desk.url, live_desk.agent_token(name="Kim"), media=False)
    await staying.connect()
    await staying.available()
    await staying.next("agent.state", state="available")
    second = PatientBot(live_desk.url, live_desk.invite(), media=False)
    await second.connect()
    await second.join(name="Bo")
    # Well inside the 20 s offer timeout the offer an absent console could not answer.
    offer = await staying.next("agent.offer", timeout=desk.settings.offer_timeout / 2)
    assert offer["token"]
    events = await recorded_events(desk.engine)
    skipped = [e for e in events if e["type"] == "declined" and e.get("reason") == "not_connected"]
    assert len(skipped) == 1, "the skip is an event with its reason"
    for bot in (second, staying):
        await bot.close()
