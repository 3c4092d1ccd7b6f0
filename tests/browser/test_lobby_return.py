"""Back in the lobby after "Leave the queue" (issue 16, item 6): what the patient typed is
still there, and the camera preview shows the camera again when the text says it works."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Parties, check_camera, eventually
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PREVIEW_JS = """() => {
  const video = document.getElementById("lobby-preview");
  const tracks = video.srcObject ? video.srcObject.getVideoTracks() : [];
  return {
    width: video.videoWidth,
    paused: video.paused,
    live: tracks.length > 0 && tracks.every((t) => t.readyState === "live"),
    time: video.currentTime,
  };
}"""


@pytest.mark.timeout(60)
async def test_leaving_the_queue_keeps_the_details_and_the_camera(
    parties: Parties, live_desk: LiveDesk
) -> None:
    patient = await parties.open("/p#token=" + live_desk.invite())
    page = patient.page
    await check_camera(page)
    await expect(page.locator("#media-status")).to_have_text(
        "Your camera and microphone are working.", timeout=10_000
    )
    await page.get_by_label("Your first name").fill("Ana")
    await page.get_by_label("What would you like help with? (optional)").fill(
        "Change my appointment"
    )
    await page.get_by_role("button", name="Join the queue").click()
    await expect(page.locator("#waiting-heading")).to_be_visible()

    await page.reload()  # place kept; the page forgets nothing the patient typed either
    await expect(page.locator("#waiting-heading")).to_be_visible()
    await page.get_by_role("button", name="Leave the queue").click()
    await page.get_by_role("button", name="Yes, leave").click()
    await expect(page.locator("#lobby-heading")).to_be_visible()
    await check_camera(page)  # closed again on a phone after the reload
    await expect(page.get_by_label("Your first name")).to_have_value("Ana")
    await expect(page.get_by_label("What would you like help with? (optional)")).to_have_value(
        "Change my appointment"
    )
    await expect(page.locator("#media-status")).to_have_text(
        "Your camera and microphone are working."
    )
    first = await eventually(
        lambda: page.evaluate(PREVIEW_JS),
        lambda p: p["width"] > 0 and not p["paused"] and p["live"],
        "the camera preview after leaving",
        timeout=10,
    )
    await eventually(
        lambda: page.evaluate(PREVIEW_JS),
        lambda p: p["time"] > first["time"],
        "the preview playing on",
        timeout=10,
    )
    patient.check()
