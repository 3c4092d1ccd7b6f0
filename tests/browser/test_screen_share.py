"""Screen sharing in Chromium (its fake capture source is as wide as the window it is
shared from: 1280 for the agent's desktop window, 360 for the patient's phone, where the
fake camera is 640 wide): the agent's screen arrives at the patient as a decoding track
shown whole, with the "you are sharing your screen" bar on the agent's page; stopping
restores the camera. The patient shares with the agent the same way. A patient on sound
only keeps their sound while the agent shares."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import Parties, eventually, screenshot, video_stats
from tests.browser.test_call_controls import start_call
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

AUDIO_IN_JS = """async () => {
  const pc = globalThis.videodesk.peerConnection();
  let packets = 0;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "audio") packets += r.packetsReceived || 0;
  });
  return packets;
}"""


async def showing(page: Page, width: int, who: str) -> dict[str, Any]:
    """The remote video is ``width`` wide and decoding (framesDecoded rising)."""
    first = await eventually(
        lambda: video_stats(page),
        lambda s: s is not None and s["width"] == width,
        f"{who}: remote video {width} wide",
        timeout=30,
    )
    rising: dict[str, Any] = await eventually(
        lambda: video_stats(page),
        lambda s: s is not None and s["frames"] >= first["frames"] + 10,
        f"{who}: framesDecoded rising at {width} wide",
        timeout=15,
    )
    return rising


@pytest.mark.timeout(120)
async def test_screens_are_shared_both_ways_and_the_camera_comes_back(
    parties: Parties, live_desk: LiveDesk
) -> None:
    patient, agent = await start_call(parties, live_desk)
    p, g = patient.page, agent.page
    await showing(p, 640, "patient (the agent's camera)")

    # The agent shows a page of their screen: the patient sees it whole.
    await g.get_by_role("button", name="Share screen").click()
    await expect(g.locator("#screen-bar")).to_have_text(
        "You are sharing your screen with everyone in the call. Stop sharing", timeout=10_000
    )
    await expect(g.get_by_role("button", name="Stop sharing")).to_be_focused()
    await showing(p, 1280, "patient (the agent's screen)")
    await expect(p.locator(".video-remote")).to_have_class("video-frame video-remote is-screen")
    await expect(p.locator("#party-announce")).to_have_text("Sam is showing you their screen.")
    await screenshot(p, "screen-share-patient-phone")
    await g.get_by_role("button", name="Stop sharing").click()
    await expect(g.locator("#screen-bar")).to_be_hidden()
    await showing(p, 640, "patient (the agent's camera again)")
    await expect(p.locator(".video-remote")).to_have_class("video-frame video-remote")

    # The patient shows the agent their screen.
    await p.get_by_role("button", name="Share my screen").click()
    await expect(p.locator("#screen-bar")).to_contain_text(
        "You are sharing your screen with the agent.", timeout=10_000
    )
    await showing(g, 360, "agent (the patient's screen)")
    await expect(g.locator("#party-announce")).to_have_text("Ana is showing you their screen.")
    await p.get_by_role("button", name="Stop sharing").click()
    await showing(g, 640, "agent (the patient's camera again)")

    # Sound only: the agent's screen changes nothing for the patient's sound.
    await p.get_by_role("button", name="Sound only").click()
    await g.get_by_role("button", name="Share screen").click()
    await expect(g.locator("#screen-bar")).to_be_visible(timeout=10_000)
    first = await p.evaluate(AUDIO_IN_JS)
    await eventually(
        lambda: p.evaluate(AUDIO_IN_JS),
        lambda packets: packets >= first + 50,
        "patient on sound only: audio still arriving",
    )
    await g.get_by_role("button", name="Stop sharing").click()
    for party in (patient, agent):
        party.check()
