"""Guests of a call (an interpreter, a carer, a second clinician) through the live desk:
the agent's link, the guest's join, who everyone is told is in the call, the chat a guest
sees, leaving, removal, the end of the call, and what a guest's token does not grant.

Bots here send no media (the browser tests in tests/browser/test_guests.py run the
mesh); they check the protocol a page relies on.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import select

from server.records import tables
from server.records.service import RECORDS
from server.records.writer import AUDIT_TYPES
from signaling.client import AgentBot, ClientError, GuestBot, PatientBot
from tests.support.calls import Call, invite, token_of
from tests.support.desks import LiveDesk
from tests.support.records import recorded

# An offer as Chromium makes it (checked by the desk like any other).
from tests.test_sdp import CHROMIUM_OFFER


async def joined_guest(live_desk: LiveDesk, call: Call, name: str = "Lucía") -> GuestBot:
    guest = GuestBot(live_desk.url, await invite(call, language="es"))
    await guest.connect()
    await guest.join_call(name)
    return guest


def said(bot: PatientBot | AgentBot | GuestBot, text: str) -> bool:
    return any(chat["text"] == text for chat in bot.chats)


async def parties_become(bot: PatientBot | AgentBot | GuestBot, expected: list[str]) -> None:
    """Wait until the bot's last call.parties lists these handles."""

    def now() -> bool:
        last = bot.last("call.parties")
        return last is not None and [p["handle"] for p in last["parties"]] == expected

    await bot.wait_for(now, 5, f"call.parties {expected}")


def handles(message: dict[str, Any] | None) -> list[str]:
    assert message is not None
    return [p["handle"] for p in message["parties"]]


async def test_an_interpreter_joins_and_everyone_is_told(live_desk: LiveDesk, call: Call) -> None:
    link = await call.agent.request(
        "call.invite", "call.invite_link", party="interpreter", language="es"
    )
    assert link["language"] == "es" and link["expires_at"] > 0
    guest = GuestBot(live_desk.url, token_of(link["link"]))
    try:
        welcome = await guest.connect()
        assert welcome["role"] == "guest"
        assert welcome["session"]["party"] == "interpreter"
        assert guest.last("call.started") is None  # the lobby first: nothing until guest.join
        started = await guest.join_call("Lucía")
        assert started["call"] == call.id and started["peer"]["name"] == "Sam"
        for bot, you in ((guest, "g1"), (call.patient, "patient"), (call.agent, "agent")):
            parties = await bot.next("call.parties", you=you)
            assert parties["call"] == call.id
            by_handle = {p["handle"]: p for p in parties["parties"]}
            assert list(by_handle) == ["patient", "agent", "g1"]
            assert by_handle["g1"]["party"] == "interpreter"
            assert by_handle["g1"]["name"] == "Lucía" and by_handle["g1"]["language"] == "es"
            assert by_handle["patient"]["name"] == "Ana" and by_handle["agent"]["name"] == "Sam"
            # The guest joined last: it makes the offers to both.
            assert by_handle["g1"]["seq"] > by_handle["agent"]["seq"] > by_handle["patient"]["seq"]
            assert "party_ids" not in parties  # the ids behind the handles stay on the server
    finally:
        await guest.close()


async def test_sdp_and_ice_are_relayed_by_handle_with_from(live_desk: LiveDesk, call: Call) -> None:
    guest = await joined_guest(live_desk, call)
    try:
        await call.patient.next("call.parties")
        offer = {"type": "offer", "sdp": CHROMIUM_OFFER}
        await guest.send("call.sdp", description=offer, to="patient")
        relayed = await call.patient.next("call.sdp")
        assert relayed["from"] == "g1" and relayed["description"]["sdp"] == CHROMIUM_OFFER
        assert call.agent.last("call.sdp") is None  # only the party it was for
        await call.agent.send("call.ice", candidate=None, to="g1")
        ice = await guest.next("call.ice")
        assert ice["from"] == "agent" and ice["candidate"] is None
        # Between patient and agent nothing changes: no `to`, no `from`.
        await call.agent.send("call.ice", candidate=None)
        plain = await call.patient.next("call.ice")
        assert "from" not in plain
        # A handle nobody has in this call.
        with pytest.raises(ClientError) as refused:
            await guest.request("call.sdp", "never", description=offer, to="g7")
        assert refused.value.code == "not_in_call"
        # The desk checks a guest's SDP like anyone's.
        with pytest.raises(ClientError) as bad:
            bad_sdp = {"type": "offer", "sdp": "v=0\r\nnot sdp"}
            await guest.request("call.sdp", "never", description=bad_sdp, to="agent")
        assert bad.value.code.startswith("sdp_")
    finally:
        await guest.close()


async def test_a_guest_sees_only_the_chat_since_they_joined(
    live_desk: LiveDesk, call: Call
) -> None:
    await call.patient.send("call.chat", text="before the interpreter")
    await call.agent.wait_for(lambda: len(call.agent.chats) == 1, 5, "chat")
    guest = await joined_guest(live_desk, call)
    try:
        started = guest.last("call.started")
        assert started is not None and started["history"] == []
        await call.patient.next("call.parties", you="patient")  # the patient's page knows
        await call.patient.send("call.chat", text="hola")
        await guest.wait_for(lambda: len(guest.chats) == 1, 5, "chat")
        assert guest.chats[0]["from"] == "patient" and guest.chats[0]["text"] == "hola"
        await guest.send("call.chat", text="she says hello")
        for bot in (call.patient, call.agent):
            await bot.wait_for(lambda b=bot: said(b, "she says hello"), 5, "chat")  # type: ignore[misc]
            assert bot.chats[-1]["from"] == "guest" and bot.chats[-1]["handle"] == "g1"
        # A reload (once the desk has kept the chat: it writes it behind the relay): the
        # history again, still only from the join on.
        chat_log = live_desk.desk.chat_log
        for _ in range(100):
            if len(await chat_log.history(call.id)) == 3:
                break
            await asyncio.sleep(0.05)
        await guest.reconnect()
        again = await guest.next("call.started", resumed=True, after=len(guest.received) - 3)
        assert [c["text"] for c in again["history"]] == ["hola", "she says hello"]
    finally:
        await guest.close()


async def test_a_guest_token_grants_nothing_outside_its_call(
    live_desk: LiveDesk, call: Call
) -> None:
    token = await invite(call)
    guest = GuestBot(live_desk.url, token)
    try:
        await guest.connect()
        refused_kinds: tuple[tuple[str, dict[str, Any]], ...] = (
            ("queue.join", {"name": "Eve", "reason": "", "language": "en"}),
            ("agent.status", {"status": "available"}),
            ("call.invite", {"party": "carer"}),
            ("staff.message", {"queue": "appointments", "text": "hi"}),
        )
        for kind, fields in refused_kinds:
            with pytest.raises(ClientError) as refused:
                await guest.request(kind, "never", **fields)
            assert refused.value.code == "forbidden", kind
        # Not in the call yet (the lobby): nothing to relay to anyone.
        with pytest.raises(ClientError) as early:
            await guest.request("call.chat", "never", text="hello?")
        assert early.value.code == "no_call"
        # The token opens no patient, agent or admin page or API.
        status, body = await live_desk_get(live_desk, "/api/v1/tokens", token)
        assert status in (401, 403) and "error" in body
    finally:
        await guest.close()


async def live_desk_get(live_desk: LiveDesk, path: str, token: str) -> tuple[int, dict[str, str]]:
    import aiohttp

    async with (
        aiohttp.ClientSession() as http,
        http.get(live_desk.url + path, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        return response.status, await response.json()


async def test_a_guest_link_is_single_use(live_desk: LiveDesk, call: Call) -> None:
    token = await invite(call)
    first, second = GuestBot(live_desk.url, token), GuestBot(live_desk.url, token)
    try:
        await first.connect()
        await second.connect()  # both opened the link before either joined
        await first.join_call("Lucía")
        with pytest.raises(ClientError) as used:
            await second.join_call("Eve")
        assert used.value.code == "link_used"
        third = GuestBot(live_desk.url, token)
        with pytest.raises(ClientError) as late:
            await third.connect()  # opened after the join: refused at once
        assert late.value.code == "invite_used"
        await third.close()
        assert handles(call.agent.last("call.parties")) == ["patient", "agent", "g1"]
    finally:
        await first.close()
        await second.close()


async def test_a_guest_leaves_and_may_join_again(live_desk: LiveDesk, call: Call) -> None:
    guest = await joined_guest(live_desk, call)
    try:
        await call.agent.next("call.parties", you="agent")
        mark = len(call.agent.received)
        await guest.send("call.bye")
        ended = await guest.next("call.ended")
        assert ended["reason"] == "left" and ended["call"] == call.id
        left = await call.agent.next("call.parties", after=mark)
        assert handles(left) == ["patient", "agent"]
        assert call.patient.last("call.ended") is None  # the call goes on
        await guest.join_call("Lucía")  # the same browser, while the call lasts
        await parties_become(call.agent, ["patient", "agent", "g2"])
    finally:
        await guest.close()


async def test_the_agent_removes_a_guest(live_desk: LiveDesk, call: Call) -> None:
    guest = await joined_guest(live_desk, call)
    try:
        await call.patient.next("call.parties", you="patient")
        mark = len(call.patient.received)
        await call.agent.send("call.remove", handle="g1")
        ended = await guest.next("call.ended")
        assert ended["reason"] == "removed"
        now = await call.patient.next("call.parties", after=mark)
        assert handles(now) == ["patient", "agent"]
        await guest.wait_for(lambda: not guest.connected, 5, "the socket closed")
        with pytest.raises(ClientError) as ended_session:
            await guest.connect()  # its session went with the token
        assert ended_session.value.code == "no_session"
        again = GuestBot(live_desk.url, guest.token)
        with pytest.raises(ClientError) as revoked:
            await again.connect()  # the link opened again
        assert revoked.value.code == "token_revoked"
        await again.close()
        with pytest.raises(ClientError) as gone:
            await call.agent.request("call.remove", "never", handle="g1")
        assert gone.value.code == "not_in_call"
    finally:
        await guest.close()


async def test_a_guest_link_after_the_call_is_refused(live_desk: LiveDesk, call: Call) -> None:
    guest = await joined_guest(live_desk, call)
    unused = await invite(call, "carer")
    late = GuestBot(live_desk.url, unused)
    try:
        await late.connect()  # the lobby opens while the call lasts
        await call.agent.send("call.bye")
        assert (await guest.next("call.ended"))["reason"] == "completed"
        with pytest.raises(ClientError) as over:
            await late.join_call("Eve")
        assert over.value.code == "call_over"
        fresh = GuestBot(live_desk.url, unused)
        await fresh.connect()
        with pytest.raises(ClientError) as still:
            await fresh.join_call("Eve")
        assert still.value.code == "call_over"
        await fresh.close()
    finally:
        await guest.close()
        await late.close()


async def test_a_call_takes_at_most_two_guests(live_desk: LiveDesk, call: Call) -> None:
    one = await joined_guest(live_desk, call, "Lucía")
    two = GuestBot(live_desk.url, await invite(call, "clinician"))
    try:
        await two.connect()
        await two.join_call("Dr Ortiz")
        await parties_become(one, ["patient", "agent", "g1", "g2"])
        parties = one.last("call.parties")
        assert parties is not None
        by_handle = {p["handle"]: p for p in parties["parties"]}
        assert list(by_handle) == ["patient", "agent", "g1", "g2"]
        assert by_handle["g2"]["seq"] > by_handle["g1"]["seq"]  # the second guest offers
        with pytest.raises(ClientError) as full:
            await call.agent.request("call.invite", "call.invite_link", party="carer")
        assert full.value.code == "call_full"
    finally:
        await one.close()
        await two.close()


async def test_a_reconnecting_page_gets_a_new_seq(live_desk: LiveDesk, call: Call) -> None:
    guest = await joined_guest(live_desk, call)
    try:
        first = await guest.next("call.parties", you="g1")
        seqs = {p["handle"]: p["seq"] for p in first["parties"]}
        mark = len(guest.received)
        await call.patient.reconnect()
        await call.patient.next("call.started", resumed=True)
        later = await guest.next("call.parties", after=mark)
        now = {p["handle"]: p["seq"] for p in later["parties"]}
        assert now["patient"] > seqs["g1"]  # the patient's page offers to the guest afresh
        assert now["g1"] == seqs["g1"] and now["agent"] == seqs["agent"]
        # The guest's own reload: it is back in the call at once, with a new seq.
        mark = len(call.agent.received)
        await guest.reconnect()
        await guest.next("call.started", after=len(guest.received) - 3)
        after = await call.agent.next("call.parties", after=mark)
        assert {p["handle"]: p["seq"] for p in after["parties"]}["g1"] > now["patient"]
    finally:
        await guest.close()


async def test_guests_are_audited_without_their_names(live_desk: LiveDesk, call: Call) -> None:
    guest = await joined_guest(live_desk, call, "Lucía")
    try:
        await call.agent.send("call.remove", handle="g1")
        await guest.next("call.ended")
        await parties_become(call.agent, ["patient", "agent"])
        await recorded(live_desk.app)
        async with live_desk.app[RECORDS].engine.connect() as conn:
            rows = (await conn.execute(
                select(tables.audit.c.action, tables.audit.c.details)
                .where(tables.audit.c.action.like("guest_%"))
                .order_by(tables.audit.c.id)
            )).all()  # fmt: skip
        assert [action for action, _ in rows] == ["guest_invited", "guest_joined", "guest_removed"]
        assert {action for action, _ in rows} <= AUDIT_TYPES
        for _, details in rows:
            fields = json.loads(details) if isinstance(details, str) else details
            assert fields["call"] == call.id and fields["party"] == "interpreter"
        assert "Lucía" not in repr(rows)
    finally:
        await guest.close()


async def test_every_pair_of_four_sees_video_with_real_media(
    live_desk: LiveDesk, loopback_ice: None
) -> None:
    """aiortc bots as all four parties: each guest connects to everyone (the mesh), and
    every party receives every other party's video."""
    patient = PatientBot(live_desk.url, live_desk.invite(name="Ana"))
    agent = AgentBot(live_desk.url, live_desk.agent_token())
    guests: list[GuestBot] = []
    try:
        await patient.connect()
        await patient.join(name="Ana")
        await agent.connect()
        await agent.available()
        await agent.accept(await agent.next("agent.offer"))
        await patient.next("call.started")
        for party in ("interpreter", "carer"):
            link = await agent.request("call.invite", "call.invite_link", party=party)
            guest = GuestBot(live_desk.url, token_of(link["link"]), media=True)
            guests.append(guest)
            await guest.connect()
            await guest.join_call(party.title())
        g1, g2 = guests
        pairs: list[tuple[PatientBot | AgentBot | GuestBot, str]] = [
            (patient, "g1"), (patient, "g2"), (agent, "g1"), (agent, "g2"),
            (g1, "patient"), (g1, "agent"), (g1, "g2"),
            (g2, "patient"), (g2, "agent"), (g2, "g1"),
        ]  # fmt: skip
        for bot, other in pairs:
            await bot.wait_for(
                lambda b=bot, o=other: b.party_first_video(o) is not None,  # type: ignore[misc]
                30,
                f"video from {other}",
            )
        await patient.wait_for(lambda: patient.frames_received()[0] > 0, 20, "the agent's video")
    finally:
        for guest in guests:
            await guest.close()
        await patient.close()
        await agent.close()


async def test_a_guest_link_by_e_mail_needs_a_mail_server(live_desk: LiveDesk, call: Call) -> None:
    with pytest.raises(ClientError) as refused:
        await call.agent.request("call.invite", "never", party="carer", email="marta@example.org")
    assert refused.value.code == "mail_not_configured"
    assert await live_desk.desk.parties.count(call.id) == 0
