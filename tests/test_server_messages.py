"""What a live desk sends is what signaling/server_messages.py says, message by message.

Real visits run through a desk on loopback (patients, agents and an admin as bots, with
media where the call needs it), and every message each bot receives is decoded as one of
the server-message structs (``forbid_unknown_fields``: a field the structs do not name
fails, as does a missing one or one of the wrong kind). The schema file's
``ServerMessage`` must accept each of them too, and web/static/js/lib/protocol.js's
``ServerMessages`` typedef must name exactly the server's message types.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import msgspec
import pytest
from aiortc import RTCPeerConnection

from signaling import server_messages as sm
from signaling.client import AgentBot, Bot, ClientError, GuestBot, PatientBot
from signaling.schema import SCHEMA_PATH, SERVER_UNION
from tests.support.desks import LiveDesk

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL_JS = ROOT / "web" / "static" / "js" / "lib" / "protocol.js"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(
    {"$schema": SCHEMA["$schema"], "$defs": SCHEMA["$defs"], "$ref": f"#/$defs/{SERVER_UNION}"},
    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
)

# The types the flows below make the desk send, by flow.
VISIT = {
    "welcome", "pong", "error", "queue.state", "queue.joined", "queue.notice", "queue.slots",
    "help.suggestions", "assistant.reply", "staff.sent", "agent.state", "agent.queues",
    "agent.offer", "agent.note_saved", "call.started", "call.sdp", "call.ice", "call.chat",
    "call.peer", "call.peer_media", "call.hold", "call.ended", "survey.thanks", "dashboard",
}  # fmt: skip
CALL_BACK_AND_LOBBY = {
    "welcome", "queue.state", "queue.joined", "agent.state", "agent.offer", "agent.callback",
    "agent.ringing", "agent.ring_declined", "call.ring", "agent.offer_cancelled",
    "lobby.test_answer",
}  # fmt: skip
GUESTS = {
    "welcome", "call.started", "call.invite_link", "call.parties", "call.chat", "call.screen",
    "call.ended",
}  # fmt: skip
# Sent by the desk, but by none of the flows here (and why).
NOT_COVERED: dict[str, str] = {}


def problems(bots: list[Bot]) -> tuple[set[str], list[str]]:
    """The types the bots received, and what was wrong with any message."""
    seen: set[str] = set()
    wrong: list[str] = []
    for bot in bots:
        for message in bot.received:
            seen.add(str(message.get("type")))
            try:
                checked = sm.check(message)
            except msgspec.ValidationError as exc:
                wrong.append(f"{bot.role} got {message.get('type')}: {exc}: {message}")
                continue
            if sm.to_dict(checked) != message:  # the struct keeps all of it, as sent
                wrong.append(f"{bot.role}: {message} is {sm.to_dict(checked)} as a struct")
            for error in VALIDATOR.iter_errors(message):
                wrong.append(f"{bot.role}: schema: {error.message} in {message}")
    return seen, wrong


async def test_every_message_of_a_visit_is_a_server_message(
    live_desk: LiveDesk, loopback_ice: None
) -> None:
    patient = PatientBot(live_desk.url, live_desk.invite(name="Ana"))
    agent = AgentBot(live_desk.url, live_desk.agent_token())
    billing = AgentBot(
        live_desk.url, live_desk.agent_token(name="Lee", queues=("billing",)), media=False
    )
    admin = AgentBot(live_desk.url, live_desk.token("admin"), media=False, use_cookie=False)
    admin.role = "admin"
    bots: list[Bot] = [patient, agent, billing, admin]
    try:
        await admin.connect()
        welcome = await patient.connect()
        assert "desk" in welcome
        await patient.request("ping", "pong")
        try:
            await patient.request("queue.join", "never", name=5)
        except ClientError as exc:
            assert exc.code == "invalid_field"
        await patient.join(name="Ana", reason="prescription")
        await patient.request("help.suggest", "help.suggestions", text="prescription refill")
        await patient.request("assistant.ask", "assistant.reply", text="How do I log in?")
        await patient.request("queue.slots", "queue.slots")
        await admin.request("staff.message", "staff.sent", queue="appointments", text="Soon.")
        await patient.next("queue.notice")

        await billing.connect()
        await billing.available()
        await agent.connect()
        await agent.next("agent.queues")
        await agent.available()
        await agent.accept(await agent.next("agent.offer"))
        await patient.next("call.started")
        await patient.wait_for(lambda: patient.frames_received()[0] >= 5, 20, "video")
        await agent.wait_for(lambda: agent.frames_received()[0] >= 5, 20, "video")
        await agent.next("call.peer_media")
        await patient.send("call.chat", text="hello")
        await agent.wait_for(lambda: len(agent.chats) == 1, 5, "chat")
        candidate = {
            "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 9 typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
            "usernameFragment": "abcd",
        }
        await agent.send("call.ice", candidate=candidate)
        await patient.next("call.ice", candidate=candidate)
        await agent.send("call.ice", candidate=None)
        await patient.next("call.ice", candidate=None)
        await agent.request("agent.note", "agent.note_saved", text="asked about a refill")
        mark = len(patient.received)
        await agent.request("agent.hold", "call.hold")
        await patient.next("call.hold", after=mark, on=True)

        chat_log = live_desk.desk.chat_log
        for _ in range(50):  # the chat is kept a moment after it is relayed
            if await chat_log.history(patient.call_id):
                break
            await asyncio.sleep(0.05)
        mark = len(agent.received)
        await patient.reconnect()  # resumed: the chat so far comes back, and on hold
        resumed = await patient.next("call.started", resumed=True)
        assert resumed["on_hold"] is True and [c["text"] for c in resumed["history"]] == ["hello"]
        await agent.next("call.peer", after=mark, status="connected")
        await agent.send("agent.unhold")
        await patient.next("call.hold", on=False)

        mark = len(patient.received)
        await agent.send("agent.transfer", queue="billing", note="a billing question")
        await patient.next("call.ended", after=mark, reason="transferred")
        offer = await billing.next("agent.offer")
        assert "transferred" in offer["patient"]["flags"]
        await billing.accept(offer)
        await patient.next("call.started", after=mark)
        mark = len(patient.received)
        await billing.send("agent.end")
        await patient.next("call.ended", after=mark, reason="completed")
        await patient.request("survey.submit", "survey.thanks", rating=5)
        await admin.next("dashboard")
    finally:
        for bot in bots:
            await bot.close()
    seen, wrong = problems(bots)
    assert not wrong, "\n".join(wrong)
    assert seen >= VISIT, f"not sent: {VISIT - seen}"


async def test_every_message_of_a_call_back_and_a_lobby_test_is_a_server_message(
    live_desk: LiveDesk, loopback_ice: None
) -> None:
    waiting = PatientBot(live_desk.url, live_desk.invite(name="Ana"), media=False)
    leaving = PatientBot(live_desk.url, live_desk.invite(name="Ben"), media=False)
    agent = AgentBot(live_desk.url, live_desk.agent_token(), media=False)
    other = AgentBot(live_desk.url, live_desk.agent_token(name="Kim"), media=False)
    bots: list[Bot] = [waiting, leaving, agent, other]
    pc = RTCPeerConnection()
    try:
        await waiting.connect()
        await waiting.join(name="Ana")
        pc.addTransceiver("video", direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        description = {"type": "offer", "sdp": pc.localDescription.sdp}
        answer = await waiting.request(
            "lobby.test_offer", "lobby.test_answer", description=description
        )
        assert answer["description"]["type"] == "answer"
        await waiting.send("lobby.test_end")
        await waiting.send("queue.callback", mode="page")
        await waiting.next("queue.state", state="callback_pending")
        await agent.connect()
        await agent.available()
        await agent.accept(await agent.next("agent.offer", kind="callback"))
        await agent.next("agent.callback")
        await agent.request("agent.ring", "agent.ringing")
        await waiting.next("call.ring")
        await waiting.send("call.ring_answer", accept=False)
        await agent.next("agent.ring_declined")

        await leaving.connect()
        await leaving.join(name="Ben")
        await other.connect()
        await other.available()
        await other.next("agent.offer")
        await leaving.send("queue.leave")
        await other.next("agent.offer_cancelled", reason="patient_left")
    finally:
        await pc.close()
        for bot in bots:
            await bot.close()
    seen, wrong = problems(bots)
    assert not wrong, "\n".join(wrong)
    assert seen >= CALL_BACK_AND_LOBBY, f"not sent: {CALL_BACK_AND_LOBBY - seen}"


async def test_a_call_with_a_guest_sends_server_messages(live_desk: LiveDesk) -> None:
    patient = PatientBot(live_desk.url, live_desk.invite(name="Ana"), media=False)
    agent = AgentBot(live_desk.url, live_desk.agent_token(), media=False)
    bots: list[Bot] = [patient, agent]
    try:
        await patient.connect()
        await patient.join(name="Ana", language="es")
        await agent.connect()
        await agent.available()
        await agent.accept(await agent.next("agent.offer"))
        await patient.next("call.started")
        link = await agent.request("call.invite", "call.invite_link", party="interpreter",
                                   language="es")  # fmt: skip
        guest = GuestBot(live_desk.url, link["link"].split("#token=")[1])
        bots.append(guest)
        await guest.connect()
        await guest.join_call("Lucía")
        await patient.next("call.parties")
        await guest.send("call.chat", text="hola")
        await patient.next("call.chat")
        await agent.send("call.screen", on=True)  # the agent shows a leaflet to everyone
        await agent.send("call.screen", on=True, to="g1")
        assert "from" not in await patient.next("call.screen", on=True)
        assert (await guest.next("call.screen", on=True))["from"] == "agent"
        await agent.send("call.bye")
        await guest.next("call.ended")
    finally:
        for bot in bots:
            await bot.close()
    seen, wrong = problems(bots)
    assert not wrong, "\n".join(wrong)
    assert seen >= GUESTS, f"not sent: {GUESTS - seen}"


@pytest.mark.parametrize(
    "desk_env", [{"VIDEODESK_OPENING_HOURS": "mon-fri 08:00-18:00, sat 09:00-12:30"}]
)
async def test_a_welcome_with_opening_hours_is_a_server_message(live_desk: LiveDesk) -> None:
    patient = PatientBot(live_desk.url, live_desk.invite(name="Ana"), media=False)
    try:
        welcome = await patient.connect()
    finally:
        await patient.close()
    assert welcome["desk"]["hours"]["periods"][1] == {"days": [5], "start": "09:00", "end": "12:30"}
    seen, wrong = problems([patient])
    assert not wrong, "\n".join(wrong)
    assert "welcome" in seen


def test_the_flows_cover_every_server_message() -> None:
    covered = VISIT | CALL_BACK_AND_LOBBY | GUESTS
    assert covered | set(NOT_COVERED) == set(sm.SERVER_MESSAGES), set(sm.SERVER_MESSAGES) ^ (
        covered | set(NOT_COVERED)
    )
    assert not covered & set(NOT_COVERED)


def test_an_undocumented_field_or_a_wrong_kind_is_caught() -> None:
    good = {"type": "call.hold", "on": True}
    assert sm.check(good) == sm.CallHold(on=True)
    for bad in (
        {**good, "extra": 1},
        {"type": "call.hold"},
        {"type": "call.hold", "on": "yes"},
        {"type": "call.holds", "on": True},
    ):
        try:
            sm.check(bad)
        except msgspec.ValidationError:
            continue
        raise AssertionError(f"{bad} passed")
    assert list(VALIDATOR.iter_errors({**good, "extra": 1}))
    assert not list(VALIDATOR.iter_errors(good))


def test_optional_fields_left_out_are_not_sent() -> None:
    assert sm.to_dict(sm.Error(code="x", message="y")) == {
        "type": "error",
        "code": "x",
        "message": "y",
    }
    assert sm.to_dict(sm.Pong(ref=None)) == {"type": "pong", "ref": None}
    chat = sm.CallChat(from_="agent", text="hi", at=1)
    assert sm.to_dict(chat) == {"type": "call.chat", "from": "agent", "text": "hi", "at": 1}


# -- protocol.js -----------------------------------------------------------------------


def js_typedefs() -> dict[str, str]:
    """Each ``@typedef {…} Name`` of protocol.js: its type text (``object`` for those
    whose fields follow as ``@property`` lines, then given as ``{a, b?}`` text)."""
    source = PROTOCOL_JS.read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for block in re.findall(r"/\*\*(.*?)\*/", source, re.S):
        text = "\n".join(line.strip().removeprefix("*").strip() for line in block.splitlines())
        match = re.search(r"@typedef\s+\{", text)
        if match is None:
            continue
        start = match.end() - 1
        end = closing(text, start)
        kind = text[start + 1 : end].strip()
        name = text[end + 1 :].split()[0]
        if kind == "object":
            props = re.findall(r"@property\s+\{(?:[^{}]|\{[^{}]*\})*\}\s+\[?(\w+)\]?", text)
            kind = "{" + ", ".join(props) + "}"
        found[name] = kind
    return found


def closing(text: str, start: int) -> int:
    """The index of the brace that closes the one at ``start``."""
    depth = 0
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return index
    raise ValueError("unbalanced braces in protocol.js")


def top_level_names(body: str) -> list[str]:
    """The member names of an object type's text ``{a: X, "b.c"?: {…}, d}``."""
    inner, names, depth, member = body.strip()[1:-1], [], 0, ""
    for char in inner + ",":
        if char in "{[(<":
            depth += 1
        elif char in "}])>":
            depth -= 1
        if char == "," and depth == 0:
            if member.strip():
                names.append(member.split(":")[0].strip().rstrip("?").strip('"'))
            member = ""
        else:
            member += char
    return names


def js_server_messages() -> dict[str, str]:
    """``ServerMessages``: each type the pages handle, and the type text it is given."""
    typedefs = js_typedefs()
    body = typedefs["ServerMessages"]
    entries: dict[str, str] = {}
    inner, depth, member = body.strip()[1:-1], 0, ""
    for char in inner + ",":
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
        if char == "," and depth == 0:
            if member.strip():
                key, _, value = member.partition(":")
                entries[key.strip().strip('"')] = value.strip()
            member = ""
        else:
            member += char
    return entries


def js_fields(value: str) -> set[str]:
    """The fields a ``ServerMessages`` entry's type names (``A & {…}`` joins both)."""
    typedefs = js_typedefs()
    names: set[str] = set()
    for part in value.split(" & "):
        part = part.strip()
        text = part if part.startswith("{") else typedefs[part]
        names |= set(top_level_names(text))
    return names - {"type"}


def test_protocol_js_names_exactly_the_server_messages() -> None:
    js = js_server_messages()
    assert len(js) >= 25, f"only {len(js)} entries read from ServerMessages: has the form changed?"
    assert set(js) == set(sm.SERVER_MESSAGES), set(js) ^ set(sm.SERVER_MESSAGES)
    schema_types = set(SCHEMA["$defs"][SERVER_UNION]["discriminator"]["mapping"])
    assert set(js) == schema_types


def test_protocol_js_reads_only_fields_the_server_sends() -> None:
    wrong = []
    for kind, value in js_server_messages().items():
        named, sent = js_fields(value), set(sm.fields(sm.SERVER_MESSAGES[kind]))
        if named - sent:
            wrong.append(f"{kind}: protocol.js names {sorted(named - sent)}, never sent")
        if sent - named:
            wrong.append(f"{kind}: protocol.js leaves out {sorted(sent - named)}")
    assert not wrong, "\n".join(wrong)


def test_the_reader_of_protocol_js_reads_what_it_is_given() -> None:
    assert top_level_names('{type: "x", a?: {b: string, c: number}, "d.e": string}') == [
        "type",
        "a",
        "d.e",
    ]
    assert js_fields('ChatMessage & {type: "call.chat"}') == {"from", "text", "at", "handle"}
