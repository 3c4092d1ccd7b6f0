"""Supervisors through the live desk (bots, no media: tests/browser/test_supervision.py
runs the media): who may supervise, which calls, how many parties, and what the other
pages are told."""

from __future__ import annotations

from typing import Any

import pytest

from signaling.client import Bot, ClientError, GuestBot
from tests.support.calls import Call, invite
from tests.support.desks import LiveDesk


class AdminBot(Bot):
    """The admin console's socket: authenticated by its first message."""

    role = "admin"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, use_cookie=False, media=False, **kwargs)


async def admin(live_desk: LiveDesk) -> AdminBot:
    bot = AdminBot(live_desk.url, live_desk.token("admin", name="Rosa"))
    await bot.connect()
    return bot


async def test_a_supervisor_joins_a_call_and_changes_mode(live_desk: LiveDesk, call: Call) -> None:
    supervisor = await admin(live_desk)
    try:
        started = await supervisor.request("supervisor.watch", "call.started", call=call.id)
        assert started["call"] == call.id and started["peer"]["name"] == "Sam"
        for bot, you in ((supervisor, "s1"), (call.patient, "patient"), (call.agent, "agent")):
            parties = await bot.next("call.parties", you=you)
            by_handle = {p["handle"]: p for p in parties["parties"]}
            assert list(by_handle) == ["patient", "agent", "s1"]
            assert by_handle["s1"]["party"] == "supervisor" and by_handle["s1"]["mode"] == "monitor"
            assert by_handle["s1"]["name"] == "Rosa"
            assert parties.get("notice", False) is False  # VIDEODESK_SUPERVISOR_NOTICE is off
        mark = len(call.patient.received)
        await supervisor.send("supervisor.mode", mode="whisper")
        changed = await call.patient.next("call.parties", after=mark)
        assert {p["handle"]: p.get("mode") for p in changed["parties"]}["s1"] == "whisper"
        # The supervisor is not one of the call's chatters, and may not hang it up.
        with pytest.raises(ClientError) as chat:
            await supervisor.request("call.chat", "never", text="hello")
        assert chat.value.code == "forbidden"
        mark = len(call.agent.received)
        await supervisor.request("supervisor.stop", "call.ended")
        gone = await call.agent.next("call.parties", after=mark)
        assert [p["handle"] for p in gone["parties"]] == ["patient", "agent"]
        with pytest.raises(ClientError) as again:
            await supervisor.request("supervisor.mode", "never", mode="barge")
        assert again.value.code == "not_in_call"
    finally:
        await supervisor.close()


async def test_only_admins_supervise(live_desk: LiveDesk, call: Call) -> None:
    guest = GuestBot(live_desk.url, await invite(call))
    try:
        await guest.connect()
        for bot in (call.patient, call.agent, guest):
            with pytest.raises(ClientError) as refused:
                await bot.request("supervisor.watch", "never", call=call.id)
            assert refused.value.code == "forbidden", bot.role
    finally:
        await guest.close()


async def test_a_supervisor_is_refused_a_call_that_is_over_or_full(
    live_desk: LiveDesk, call: Call
) -> None:
    supervisor = await admin(live_desk)
    guests = [
        GuestBot(live_desk.url, await invite(call, party)) for party in ("interpreter", "carer")
    ]
    try:
        with pytest.raises(ClientError) as unknown:
            await supervisor.request("supervisor.watch", "never", call="c_nosuchcall")
        assert unknown.value.code == "call_over"
        with pytest.raises(ClientError) as malformed:
            await supervisor.request("supervisor.watch", "never", call="../p:1")
        assert malformed.value.code == "invalid_field"
        for guest in guests:
            await guest.connect()
            await guest.join_call()
        with pytest.raises(ClientError) as full:
            await supervisor.request("supervisor.watch", "never", call=call.id)
        assert full.value.code == "call_full"
        await guests[1].send("call.bye")
        await guests[1].next("call.ended")
        await supervisor.request("supervisor.watch", "call.started", call=call.id)
        await call.agent.send("call.bye")
        ended = await supervisor.next("call.ended")
        assert ended["reason"] == "completed"
        with pytest.raises(ClientError) as over:
            await supervisor.request("supervisor.watch", "never", call=call.id)
        assert over.value.code == "call_over"
    finally:
        for guest in guests:
            await guest.close()
        await supervisor.close()


async def test_an_admin_page_closing_takes_the_supervisor_out(
    live_desk: LiveDesk, call: Call
) -> None:
    supervisor = await admin(live_desk)
    await supervisor.request("supervisor.watch", "call.started", call=call.id, mode="barge")
    await call.patient.next("call.parties")
    mark = len(call.patient.received)
    await supervisor.close()
    after = await call.patient.next("call.parties", after=mark)
    assert [p["handle"] for p in after["parties"]] == ["patient", "agent"]


class SupervisorBot(AdminBot):
    """The console opened with a supervisor token."""

    role = "supervisor"


async def test_a_supervisor_token_is_scoped_to_its_queues(live_desk: LiveDesk, call: Call) -> None:
    elsewhere = SupervisorBot(
        live_desk.url, live_desk.token("supervisor", name="Lee", queues=("billing",))
    )
    here = SupervisorBot(
        live_desk.url, live_desk.token("supervisor", name="Rosa", queues=("appointments",))
    )
    try:
        welcome = await elsewhere.connect()
        assert welcome["role"] == "supervisor"
        view = await elsewhere.next("dashboard", timeout=10)
        assert [q["name"] for q in view["queues"]] == ["billing"]
        assert view["agents"] == []  # Sam serves appointments only
        with pytest.raises(ClientError) as refused:
            await elsewhere.request("supervisor.watch", "never", call=call.id)
        assert refused.value.code == "forbidden"
        await here.connect()
        view = await here.next("dashboard", timeout=10)
        assert [a["call"] for a in view["agents"]] == [call.id]
        await here.request("supervisor.watch", "call.started", call=call.id)
        parties = await call.agent.next("call.parties")
        assert [p["handle"] for p in parties["parties"]] == ["patient", "agent", "s1"]
        # Nothing of the admin's: the staff message, the admin API.
        with pytest.raises(ClientError) as staff:
            await here.request("staff.message", "never", queue="appointments", text="hello")
        assert staff.value.code == "forbidden"
    finally:
        await elsewhere.close()
        await here.close()


async def test_a_supervisor_bearer_token_reads_its_dashboard_and_nothing_else(
    live_desk: LiveDesk,
) -> None:
    import aiohttp

    token = live_desk.token("supervisor", name="Rosa", queues=("pharmacy",))
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(live_desk.url + "/api/v1/dashboard", headers=headers) as response:
            assert response.status == 200
            view = await response.json()
        assert [q["name"] for q in view["queues"]] == ["pharmacy"]
        for path in ("/api/v1/tokens", "/api/v1/dashboard/history", "/api/v1/webhooks"):
            async with http.get(live_desk.url + path, headers=headers) as response:
                assert response.status == 403, path
                assert "error" in await response.json()
