"""A call survives a page refresh (resume, renegotiation, chat history) and the
controls work: sound only and back, hold and resume, transfer with a hand-off note.
Joining without a camera or without a microphone degrades instead of failing."""

from __future__ import annotations

import pytest
from aiohttp import WSCloseCode
from playwright.async_api import Page, expect

from signaling.client import AgentBot
from tests.browser.conftest import (
    DESKTOP,
    Parties,
    Party,
    assert_video_flows,
    check_camera,
    eventually,
)
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# getUserMedia as on a device without one kind: NotFoundError whenever it is asked for.
WITHOUT_DEVICE = """(() => {
  const missing = "%s";
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) =>
    constraints && constraints[missing]
      ? Promise.reject(new DOMException("Requested device not found", "NotFoundError"))
      : original(constraints);
})();"""


async def start_call(
    parties: Parties, live_desk: LiveDesk, queues: tuple[str, ...] = ("appointments",)
) -> tuple[Party, Party]:
    patient = await parties.open("/p#token=" + live_desk.invite(name="Ana"))
    p = patient.page
    await expect(p.locator("#lobby-heading")).to_be_visible(timeout=10_000)
    await p.get_by_role("button", name="Join the queue").click()
    agent = await parties.open(
        "/agent#token=" + live_desk.agent_token(name="Sam", queues=queues), viewport=DESKTOP
    )
    g = agent.page
    await g.get_by_role("button", name="Available").click()
    await g.get_by_role("button", name="Accept").click(timeout=10_000)
    await expect(p.locator("#call-heading")).to_have_text("Your call with Sam", timeout=10_000)
    return patient, agent


async def send_chat(page: Page, text: str) -> None:
    await page.get_by_label("Message", exact=True).fill(text)
    await page.get_by_label("Message", exact=True).press("Enter")


@pytest.mark.timeout(60)
async def test_call_recovers_after_a_refresh(parties: Parties, live_desk: LiveDesk) -> None:
    patient, agent = await start_call(parties, live_desk)
    p, g = patient.page, agent.page
    await assert_video_flows(g, "agent")
    await send_chat(p, "Before the refresh")
    await expect(g.locator("#chat-log")).to_contain_text("Before the refresh")

    # Both sockets drop (a server restart): the pages reconnect and the call goes on.
    for conn in list(live_desk.desk.hub.all()):
        await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"restarting")
    await expect(g.locator("#connection-banner")).to_be_hidden(timeout=10_000)
    await expect(p.locator("#connection-banner")).to_be_hidden(timeout=10_000)
    await assert_video_flows(p, "patient after the sockets dropped")
    await assert_video_flows(g, "agent after the sockets dropped")

    await p.reload()
    await expect(p.locator("#call-heading")).to_have_text("Your call with Sam", timeout=10_000)
    await expect(p.locator("#chat-log")).to_contain_text("Before the refresh")
    await assert_video_flows(p, "patient after the refresh")
    await assert_video_flows(g, "agent after the patient's refresh")
    await expect(g.locator("#call-status")).to_be_hidden(timeout=10_000)

    # The agent's page can be refreshed too: it makes a fresh offer.
    await g.reload()
    await expect(g.locator("#call-heading")).to_have_text("In call with Ana", timeout=10_000)
    await assert_video_flows(g, "agent after its refresh")
    await assert_video_flows(p, "patient after the agent's refresh")

    # Sound only stops video both ways (renegotiated); video comes back after.
    await p.get_by_role("button", name="Sound only").click()
    await expect(p.get_by_role("button", name="Use video again")).to_have_attribute(
        "aria-pressed", "true"
    )
    direction = "() => globalThis.videodesk.peerConnection().getTransceivers()"
    direction += ".find((t) => t.receiver.track.kind === 'video').currentDirection"
    await eventually(lambda: g.evaluate(direction), lambda d: d == "inactive", "video off")
    await p.get_by_role("button", name="Use video again").click()
    await eventually(lambda: g.evaluate(direction), lambda d: d == "sendrecv", "video on")
    await assert_video_flows(g, "agent after sound only")
    patient.check()
    agent.check()


@pytest.mark.timeout(60)
async def test_hold_and_transfer(parties: Parties, live_desk: LiveDesk) -> None:
    patient, agent = await start_call(parties, live_desk, ("appointments", "pharmacy"))
    p, g = patient.page, agent.page

    await g.get_by_role("button", name="Hold").click()
    await expect(p.locator("#queue-status")).to_have_text(
        "Your agent will be right back. Please stay on this page."
    )
    await expect(p.locator("#waiting-heading")).to_have_text("Your call is on hold")
    await g.get_by_role("button", name="Resume call").click()
    await expect(p.locator("#call-heading")).to_be_visible()

    colleague = AgentBot(
        live_desk.url, live_desk.agent_token(name="Kim", queues=("pharmacy",)), media=False
    )
    try:
        await colleague.connect()
        await colleague.available()
        await g.locator("#transfer-queue").select_option("pharmacy")
        await g.get_by_label("Hand-off note (the next agent sees it)").fill(
            "Needs a repeat prescription checked"
        )
        await g.get_by_role("button", name="Transfer").click()
        await expect(p.locator("#queue-status")).to_contain_text(
            "You're being passed to a colleague who can help."
        )
        await expect(g.locator("#wrapup-panel")).to_be_visible()
        offer = await colleague.next("agent.offer")
        assert offer["queue"] == "pharmacy"
        assert offer["patient"]["handoff_note"] == "Needs a repeat prescription checked"
        assert "transferred" in offer["patient"]["flags"]
    finally:
        await colleague.close()
    patient.check()
    agent.check()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("missing", ["video", "audio"])
async def test_joining_without_a_camera_or_microphone(
    parties: Parties, live_desk: LiveDesk, loopback_ice: None, missing: str
) -> None:
    patient = await parties.open(
        "/p#token=" + live_desk.invite(name="Ana"), init_script=WITHOUT_DEVICE % missing
    )
    p = patient.page
    expected = {
        "video": "We couldn't use a camera. You can join with sound only.",
        "audio": "We couldn't use a microphone. You can join and use text chat;",
    }[missing]
    await check_camera(p)
    await expect(p.locator("#media-status")).to_contain_text(expected, timeout=10_000)
    await p.get_by_role("button", name="Join the queue").click()
    await expect(p.locator("#waiting-heading")).to_be_visible()

    agent = AgentBot(live_desk.url, live_desk.agent_token(name="Sam"))
    try:
        await agent.connect()
        await agent.available()
        await agent.accept(await agent.next("agent.offer"))
        await expect(p.locator("#call-heading")).to_have_text("Your call with Sam", timeout=10_000)
        # The patient sees the agent; the agent gets what the patient has.
        await eventually(
            lambda: p.evaluate("() => document.getElementById('remote-video').videoWidth"),
            lambda width: width > 0,
            "patient: the agent's video",
        )
        kept = 1 if missing == "video" else 0  # frames_received() is (video, audio)
        await agent.wait_for(lambda: agent.frames_received()[kept] >= 10, 20, "patient media")
        assert agent.frames_received()[1 - kept] == 0
        button = "Mute" if missing == "audio" else "Turn camera off"
        await expect(p.get_by_role("button", name=button)).to_be_disabled()
        await send_chat(p, "Typing instead")
        await agent.wait_for(lambda: len(agent.chats) == 1, 5, "chat")
    finally:
        await agent.close()
    patient.check()
