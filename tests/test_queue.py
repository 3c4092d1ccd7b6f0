"""The queue engine's contract, on real Redis and on the embedded store.

Time moves by the desk's clock skew, never by sleeping.
"""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from server.core.errors import BadRequest
from server.queue.engine import QueueEngine
from server.queue.errors import (
    NotAvailable,
    OfferExpired,
    StaleOffer,
    UnknownAgent,
    UnknownPatient,
    UnknownQueue,
    WrongState,
)
from server.queue.models import Offer, TickReport
from tests.support.events import recorded_events
from tests.support.invariants import check_invariants
from tests.support.queues import QUEUE_NAMES, details


async def signed_in(engine: QueueEngine, aid: str, queues: list[str], langs: list[str]) -> None:
    await engine.agent_signin(aid, aid.title(), queues, langs)


async def available(engine: QueueEngine, aid: str, queues: list[str] | None = None) -> Offer | None:
    await signed_in(engine, aid, queues or ["appointments"], ["en", "es"])
    return await engine.set_status(aid, "available")


async def positions(engine: QueueEngine, *pids: str) -> list[int]:
    return [p.position for p in await engine.positions(list(pids))]


async def advance(engine: QueueEngine, ms: int, alive: list[str]) -> TickReport:
    """Move the desk's clock forward in 5 s steps, as the world would.

    At each step the processes renew the leases of the sockets in ``alive``
    (``p:<pid>``, ``a:<aid>``) and the ticker runs. Returns everything settled.
    """
    report = TickReport()
    while ms > 0:
        step = min(ms, 5_000)
        await engine.skew_clock(step)
        ms -= step
        await engine.renew(alive)
        tick = await engine.tick()
        report.expired.extend(tick.expired)
        report.reaped.extend(tick.reaped)
        report.offers.extend(tick.offers)
        report.released.extend(tick.released)
    return report


async def event_types(engine: QueueEngine) -> list[str]:
    return [e["type"] for e in await recorded_events(engine)]


async def test_joining_twice_keeps_one_ticket(engine: QueueEngine) -> None:
    first = await engine.join("p1", "appointments", details())
    again = await engine.join("p1", "appointments", details())
    assert first.created and not again.created
    assert again.ticket == first.ticket
    assert await positions(engine, "p1") == [1]
    assert (await event_types(engine)).count("joined") == 1


async def test_order_urgent_then_returning_then_first_come(engine: QueueEngine) -> None:
    await engine.join("early", "appointments", details())
    await engine.join("late", "appointments", details())
    await engine.join("urgent", "appointments", details(priority="urgent"))
    assert await positions(engine, "urgent", "early", "late") == [1, 2, 3]

    # "early" reaches an agent whose connection then lapses: they come back in
    # the returning band, ahead of "late" who joined after them anyway, and
    # behind the urgent patient.
    offer = await available(engine, "a1")
    assert offer is not None and offer.patient == "urgent"
    await engine.accept("a1", offer.token)
    await engine.finish("a1")
    await engine.wrapup_done("a1", "resolved", available=True)
    assert (await engine.agent("a1"))["offer_patient"] == "early"
    await engine.accept("a1", (await engine.agent("a1"))["offer_token"])
    await engine.join("later", "appointments", details())
    await engine.join("urgent2", "appointments", details(priority="urgent"))
    # The agent's connection goes; the patients stay connected.
    await advance(engine, 61_000, ["p:early", "p:late", "p:later", "p:urgent2"])
    record = await engine.patient("early")
    assert record["band"] == "1" and record["returning"] == "1"
    assert await positions(engine, "urgent2", "early", "late", "later") == [1, 2, 3, 4]


async def test_offer_respects_queue_and_language(engine: QueueEngine) -> None:
    await engine.join("spanish", "appointments", details(language="es", priority="urgent"))
    await engine.join("english", "appointments", details(language="en"))
    await engine.join("pharmacy", "pharmacy", details())
    await signed_in(engine, "a1", ["appointments"], ["en"])
    offer = await engine.set_status("a1", "available")
    assert offer is not None and offer.patient == "english"
    skipped = [e for e in await recorded_events(engine) if e["type"] == "skipped"]
    assert skipped and skipped[0]["patient"] == "spanish"
    assert skipped[0]["reason"] == "language_not_served"
    # Nobody serves pharmacy here: that patient stays put.
    assert (await engine.patient("pharmacy"))["state"] == "waiting"


async def test_unknown_language_falls_back_to_the_queues_first(engine: QueueEngine) -> None:
    await engine.join("p1", "pharmacy", details(language="fr"))
    assert (await engine.patient("p1"))["language"] == "en"


async def test_accept_only_with_the_current_token(engine: QueueEngine) -> None:
    await engine.join("p1", "appointments", details())
    offer = await available(engine, "a1")
    assert offer is not None
    with pytest.raises(StaleOffer):
        await engine.accept("a1", str(int(offer.token) + 1))
    assert (await engine.patient("p1"))["state"] == "offered"
    call = await engine.accept("a1", offer.token)
    assert call.patient == "p1"
    with pytest.raises(StaleOffer):  # a second accept (double click)
        await engine.accept("a1", offer.token)
    assert (await engine.patient("p1"))["state"] == "in_call"
    assert (await event_types(engine)).count("accepted") == 1


async def test_decline_keeps_the_exact_place_and_the_next_agent_gets_the_offer(
    engine: QueueEngine,
) -> None:
    for pid in ("p1", "p2", "p3"):
        await engine.join(pid, "appointments", details())
    score_before = (await engine.patient("p1"))["score"]
    offer = await available(engine, "a1")
    assert offer is not None and offer.patient == "p1"
    assert await positions(engine, "p2", "p3") == [1, 2]
    await engine.decline("a1", offer.token)
    assert await positions(engine, "p1", "p2", "p3") == [1, 2, 3]
    assert (await engine.patient("p1"))["score"] == score_before
    agent = await engine.agent("a1")
    assert agent["state"] == "away" and agent["reason"] == "declined"
    second = await available(engine, "a2")
    assert second is not None and second.patient == "p1"


async def test_offer_expiry_keeps_the_place_and_sets_the_agent_away(engine: QueueEngine) -> None:
    for pid in ("p1", "p2"):
        await engine.join(pid, "appointments", details())
    offer = await available(engine, "a1")
    assert offer is not None
    alive = ["p:p1", "p:p2", "a:a1"]
    assert (await advance(engine, 19_000, alive)).expired == []
    await engine.skew_clock(1_500)
    with pytest.raises(OfferExpired):
        await engine.accept("a1", offer.token)
    report = await advance(engine, 1_000, alive)
    assert report.expired == [("a1", "appointments")]
    assert await positions(engine, "p1", "p2") == [1, 2]
    agent = await engine.agent("a1")
    assert agent["state"] == "away" and agent["reason"] == "missed_offer"
    assert agent["missed_offers"] == "1"
    with pytest.raises(StaleOffer):
        await engine.accept("a1", offer.token)


async def test_waiting_patient_keeps_the_place_through_the_grace_period(
    engine: QueueEngine,
) -> None:
    await engine.join("p1", "appointments", details())
    await engine.join("p2", "appointments", details())
    # p2's socket is still there; p1's is gone for 50 s.
    await advance(engine, 50_000, ["p:p2"])
    assert await positions(engine, "p1", "p2") == [1, 2]
    # p1 comes back within the grace period: same ticket, same place.
    again = await engine.join("p1", "appointments", details())
    assert not again.created and again.ticket == 1
    # ... and goes again, for just under the grace period, then just over it.
    await advance(engine, 59_000, ["p:p2"])
    assert await positions(engine, "p1", "p2") == [1, 2]
    report = await advance(engine, 2_000, ["p:p2"])
    assert ("p:p1", "appointments", "abandoned", "", "") in report.reaped
    assert (await engine.patient("p1"))["state"] == "abandoned"
    assert await positions(engine, "p2") == [1]
    # A lease that was reaped is not brought back by a late renewal.
    assert await engine.renew(["p:p1"]) == ["p:p1"]


async def test_lost_call_returns_the_patient_with_the_original_ticket(
    engine: QueueEngine,
) -> None:
    await engine.join("p1", "appointments", details())
    await engine.join("p2", "appointments", details())
    offer = await available(engine, "a1")
    assert offer is not None
    call = await engine.accept("a1", offer.token)
    await signed_in(engine, "a2", ["appointments"], ["en"])
    await engine.set_status("a2", "available")  # takes p2
    # a1's connection (and process) is gone; everyone else stays.
    report = await advance(engine, 61_000, ["p:p1", "p:p2", "a:a2"])
    record = await engine.patient("p1")
    assert record["ticket"] == "1" and record["band"] == "1"
    assert (await engine.agent("a1"))["state"] == "offline"
    assert ("a:a1", "appointments", "offline", call.call_id, "p1") in report.reaped
    ended = [e for e in await recorded_events(engine) if e["type"] == "call_ended"]
    assert ended[-1]["call"] == call.call_id and ended[-1]["reason"] == "agent_lost"
    # The next agent is offered the returning patient.
    offer = await available(engine, "a3")
    assert offer is not None and offer.patient == "p1"


async def test_agent_presence_lapse_returns_an_open_offer(engine: QueueEngine) -> None:
    await engine.join("p1", "appointments", details())
    offer = await available(engine, "a1")
    assert offer is not None
    # The agent's process dies just after the offer was made: the agent's idle
    # lease (15 s) lapses before the offer's 20 s deadline.
    report = await advance(engine, 16_000, ["p:p1"])
    assert ("a:a1", "appointments", "offline", "", "") in report.reaped
    assert (await engine.patient("p1"))["state"] == "waiting"
    assert await positions(engine, "p1") == [1]
    assert (await engine.agent("a1"))["state"] == "offline"


async def test_idle_agent_goes_offline_when_presence_lapses(engine: QueueEngine) -> None:
    await available(engine, "a1")
    await advance(engine, 10_000, ["a:a1"])
    assert (await engine.agent("a1"))["state"] == "available"
    await advance(engine, 16_000, [])
    assert (await engine.agent("a1"))["state"] == "offline"


async def test_hold_resume_finish_and_wrapup(engine: QueueEngine) -> None:
    await engine.join("p1", "appointments", details())
    offer = await available(engine, "a1")
    assert offer is not None
    call = await engine.accept("a1", offer.token)
    assert await engine.call_started(call.call_id) >= 0
    assert await engine.call_started(call.call_id) == 0  # recorded once
    await engine.hold("a1")
    assert (await engine.patient("p1"))["state"] == "on_hold"
    with pytest.raises(WrongState):
        await engine.hold("a1")
    await engine.resume("a1")
    await advance(engine, 240_000, ["p:p1", "a:a1"])
    end = await engine.finish("a1")
    assert end.patient == "p1" and end.handle_ms >= 240_000
    assert (await engine.patient("p1"))["state"] == "done"
    assert (await engine.agent("a1"))["state"] == "wrap_up"
    with pytest.raises(WrongState):
        await engine.set_status("a1", "available")
    await advance(engine, 30_000, ["a:a1"])
    await engine.wrapup_done("a1", "resolved", available=True)
    stats = await engine.redis.hgetall(engine.keys.stats("appointments"))
    assert int(stats["aht_ms"]) >= 240_000 and int(stats["awt_ms"]) >= 30_000
    assert stats["answered"] == "1" and stats["answered_in_target"] == "1"
    assert (await engine.agent("a1"))["state"] == "available"
    assert await engine.rate("p1", 4, "thank you") == call.call_id
    with pytest.raises(WrongState):
        await engine.wrapup_done("a1", "resolved", available=True)


async def test_transfer_to_a_queue_keeps_priority_and_the_note(engine: QueueEngine) -> None:
    await engine.join("p1", "appointments", details(priority="urgent"))
    await engine.join("p2", "billing", details())
    offer = await available(engine, "a1")
    assert offer is not None
    await engine.accept("a1", offer.token)
    pid, queue, none = await engine.transfer("a1", queue="billing", note="invoice 42 query")
    assert (pid, queue, none) == ("p1", "billing", None)
    record = await engine.patient("p1")
    assert record["queue"] == "billing" and record["band"] == "0"
    assert record["handoff_note"] == "invoice 42 query"
    assert await positions(engine, "p1", "p2") == [1, 2]  # urgent stays ahead
    assert (await engine.agent("a1"))["state"] == "wrap_up"


async def test_transfer_to_an_agent(engine: QueueEngine) -> None:
    await engine.join("p1", "appointments", details())
    offer = await available(engine, "a1")
    assert offer is not None
    await engine.accept("a1", offer.token)
    await signed_in(engine, "a2", ["pharmacy"], ["en"])
    with pytest.raises(NotAvailable):  # a2 is away: nothing changes
        await engine.transfer("a1", agent="a2", note="needs a pharmacist")
    assert (await engine.patient("p1"))["state"] == "in_call"
    await engine.set_status("a2", "available")
    _, _, transfer = await engine.transfer("a1", agent="a2", note="needs a pharmacist")
    assert transfer is not None and transfer.kind == "transfer" and transfer.agent == "a2"
    await engine.decline("a2", transfer.token)
    # Declined: the patient waits in their queue, at the front (their own ticket).
    assert (await engine.patient("p1"))["state"] == "waiting"
    assert await positions(engine, "p1") == [1]


async def test_call_back_keeps_the_place_and_is_offered_as_a_call_back(
    engine: QueueEngine,
) -> None:
    await engine.join("p1", "appointments", details())
    await engine.join("p2", "appointments", details())
    await engine.request_callback("p1", "phone", "+44 7700 900461")
    assert await positions(engine, "p1", "p2") == [1, 2]
    # The call-back patient may close the page: no lease, no abandonment.
    await advance(engine, 600_000, ["p:p2"])
    assert (await engine.patient("p1"))["state"] == "callback_pending"
    offer = await available(engine, "a1")
    assert offer is not None and offer.patient == "p1" and offer.kind == "callback"
    await engine.decline("a1", offer.token)
    assert (await engine.patient("p1"))["state"] == "callback_pending"
    with pytest.raises(WrongState):
        await engine.request_callback("p1", "phone", "")
    await engine.cancel_callback("p1")
    assert (await engine.patient("p1"))["state"] == "waiting"
    assert await positions(engine, "p1") == [1]


async def test_leaving_from_every_state(engine: QueueEngine) -> None:
    await engine.join("waiting", "appointments", details())
    assert (await engine.leave("waiting"))[0] == "waiting"
    await engine.join("offered", "appointments", details())
    offer = await available(engine, "a1")
    assert offer is not None
    await engine.leave("offered")
    assert (await engine.agent("a1"))["state"] == "available"
    await engine.join("in_call", "appointments", details())
    offer = (await engine.dispatch(["appointments"]))[0]
    await engine.accept("a1", offer.token)
    await engine.leave("in_call")
    assert (await engine.patient("in_call"))["state"] == "done"
    assert (await engine.agent("a1"))["state"] == "wrap_up"
    assert (await engine.leave("in_call"))[0] == "done"  # leaving again changes nothing
    with pytest.raises(UnknownPatient):
        await engine.leave("nobody")


async def test_bad_input_is_a_typed_error_and_changes_nothing(engine: QueueEngine) -> None:
    with pytest.raises(UnknownQueue):
        await engine.join("p1", "cardiology", details())
    with pytest.raises(UnknownAgent):
        await engine.set_status("ghost", "available")
    with pytest.raises(UnknownAgent):
        await engine.accept("ghost", "1")
    with pytest.raises(BadRequest):
        await engine.set_status("ghost", "sleeping")
    await engine.join("p1", "appointments", details())
    await signed_in(engine, "a1", ["appointments"], ["en"])
    with pytest.raises(NotAvailable):  # away agents are not offered anyone
        await engine.offer_next("a1")
    with pytest.raises(StaleOffer):
        await engine.decline("a1", "7")
    with pytest.raises(WrongState):
        await engine.finish("a1")
    with pytest.raises(BadRequest):
        await engine.rate("p1", 9, "")
    assert await positions(engine, "p1") == [1]
    assert (await engine.agent("a1"))["state"] == "away"


async def test_scripts_reload_after_script_flush(engine: QueueEngine) -> None:
    await engine.join("p1", "appointments", details())
    await engine.redis.script_flush()
    await engine.join("p2", "appointments", details())
    offer = await available(engine, "a1")
    await engine.redis.script_flush()
    assert offer is not None
    await engine.accept("a1", offer.token)
    assert await positions(engine, "p2") == [1]


async def test_events_tell_the_story_of_a_call(engine: QueueEngine) -> None:
    await engine.join("p1", "appointments", details())
    offer = await available(engine, "a1")
    assert offer is not None
    call = await engine.accept("a1", offer.token)
    await engine.call_started(call.call_id)
    await engine.finish("a1")
    await engine.wrapup_done("a1", "resolved", available=False)
    story = [e for e in await recorded_events(engine) if e.get("patient") == "p1" or e.get("call")]
    assert [e["type"] for e in story] == [
        "joined",
        "offered",
        "accepted",
        "call_started",
        "call_ended",
        "wrapup",
    ]
    for event in await recorded_events(engine):
        assert "Pat" not in event.values() and "a question" not in event.values()


async def test_all_keys_of_a_desk_share_one_hash_slot(engine: QueueEngine) -> None:
    await engine.join("p1", "appointments", details())
    await engine.join("p2", "pharmacy", details())
    offer = await available(engine, "a1")
    assert offer is not None
    await engine.accept("a1", offer.token)
    await engine.finish("a1")
    keys = [k async for k in engine.redis.scan_iter(match=engine.keys.prefix + "*")]
    assert len(keys) > 10
    assert len({key_slot(k.encode()) for k in keys}) == 1


async def test_lua_key_names_agree_with_the_keys_module(engine: QueueEngine) -> None:
    from server.queue.scripts import declared_keys, source
    from signaling import lua

    library = source("join").split("\n-- join:")[0]
    probe = lua.register(
        engine.redis,
        library + "\nreturn {kp('x'), ka('x'), kc('x'), kq('x'), kql('x', 'en'), kstaffed('x'),"
        " kavail('x'), kstats('x'), K_SEQ, K_OFFERS, K_LEASES, K_EVENTS, K_AGENTS, K_CBSCHED}",
    )
    k = engine.keys
    names = await probe(keys=declared_keys(k), args=[k.prefix])
    assert names == [
        k.patient("x"),
        k.agent("x"),
        k.call("x"),
        k.queue("x"),
        k.queue_language("x", "en"),
        k.staffed("x"),
        k.available("x"),
        k.stats("x"),
        k.seq,
        k.offers,
        k.leases,
        k.events,
        k.agents,
        k.callbacks_scheduled,
    ]


async def test_invariant_checker_notices_a_broken_desk(engine: QueueEngine) -> None:
    await engine.join("p1", "appointments", details())
    await engine.redis.zrem(engine.keys.queue("appointments"), "p1")
    problems = await check_invariants(engine.redis, engine.keys, QUEUE_NAMES)
    assert any("p1" in p for p in problems)
    await engine.redis.zadd(engine.keys.queue("appointments"), {"p1": 2 * 2**40 + 1})


async def test_scheduled_call_back_leaves_and_returns_at_its_slot(engine: QueueEngine) -> None:
    await engine.join("p1", "appointments", details())
    await engine.join("p2", "appointments", details())
    now = await engine.clock_ms()
    with pytest.raises(WrongState):
        await engine.request_callback("p1", "phone", "+44 7700 900461", slot_ms=now - 1)
    await engine.request_callback("p1", "phone", "+44 7700 900461", slot_ms=now + 30 * 60_000)
    assert await positions(engine, "p1", "p2") == [0, 1]
    assert (await engine.patient("p1"))["state"] == "callback_pending"
    await advance(engine, 29 * 60_000, ["p:p2"])
    assert await positions(engine, "p1") == [0]
    report = await advance(engine, 65_000, ["p:p2"])
    assert "appointments" in report.released
    assert await positions(engine, "p1", "p2") == [1, 2]  # the original ticket: first again
    offer = await available(engine, "a1")
    assert offer is not None and offer.patient == "p1" and offer.kind == "callback"
    call = await engine.accept("a1", offer.token)
    assert call.kind == "callback"
    await engine.finish("a1")
    assert (await engine.patient("p1"))["state"] == "done"


async def test_cancelling_a_scheduled_call_back_restores_the_place(engine: QueueEngine) -> None:
    await engine.join("p1", "appointments", details())
    await engine.join("p2", "appointments", details())
    slot = await engine.clock_ms() + 3_600_000
    await engine.request_callback("p1", "page", slot_ms=slot)
    await engine.cancel_callback("p1")
    assert await positions(engine, "p1", "p2") == [1, 2]
    assert (await engine.patient("p1"))["state"] == "waiting"


async def test_self_help_resolution_is_counted(engine: QueueEngine) -> None:
    await engine.join("p1", "billing", details())
    state, queue, _, _ = await engine.leave("p1", "self_help")
    assert (state, queue) == ("waiting", "billing")
    stats = await engine.redis.hgetall(engine.keys.stats("billing"))
    assert stats["self_help"] == "1" and stats["left"] == "1"
