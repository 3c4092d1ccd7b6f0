"""The screens of a visit at a phone's size (360×640) and a desktop's (1280×800): the lobby,
the waiting room, the call on both sides and the agent console (issue 16). Each screenshot
goes to .test-artifacts/screen-*.png for people to look at; the assertions are what a user
notices: nothing wider than the screen, Join on the first phone screen, and an emergency
told to the assistant reaching the agent's offer (bug 2)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, Parties, assert_video_flows, screenshot
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

LAPTOP = {"width": 1280, "height": 800}


async def both_sizes(page: Page, name: str) -> None:
    """Screenshots at both sizes; at each, no sideways scrolling."""
    for label, size in (("360", PHONE), ("1280", LAPTOP)):
        await page.set_viewport_size(size)  # type: ignore[arg-type]
        wide = await page.evaluate("() => document.documentElement.scrollWidth > innerWidth")
        assert not wide, f"{name} at {label} px scrolls sideways"
        await screenshot(page, f"screen-{name}-{label}")
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]


@pytest.mark.timeout(120)
async def test_the_screens_of_a_visit(
    parties: Parties, live_desk: LiveDesk, loopback_ice: None
) -> None:
    patient = await parties.open("/p#token=" + live_desk.invite(name="Ana", reason="My results"))
    p = patient.page
    join = p.get_by_role("button", name="Join the queue")
    await expect(join).to_be_visible(timeout=10_000)
    await screenshot(p, "screen-lobby-first-360")
    box = await join.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], (
        "on a phone, Join is on the first screen"
    )
    await both_sizes(p, "lobby")
    await join.click()
    await expect(p.locator("#waiting-heading")).to_be_visible()
    await both_sizes(p, "waiting")

    # An emergency told to the assistant: the agent's offer says so.
    await p.get_by_label("Your question", exact=True).fill("I have chest pain and can't breathe")
    await p.get_by_role("button", name="Ask the assistant").click()
    await expect(p.locator(".emergency")).to_be_visible()

    agent = await parties.open(
        "/agent#token=" + live_desk.agent_token(name="Sam"), viewport=DESKTOP
    )
    g = agent.page
    await expect(g.locator("#agent-name")).to_have_text("Sam", timeout=10_000)
    await g.get_by_role("button", name="Available").click()
    offer = g.locator("#offer-panel")
    await expect(offer).to_be_visible(timeout=10_000)
    await expect(offer).to_contain_text("Possible emergency")
    await expect(offer).to_contain_text("chest pain")
    await screenshot(g, "screen-agent-offer-1280")
    await g.get_by_role("button", name="Accept").click()
    await expect(p.locator("#call-heading")).to_have_text("Your call with Sam", timeout=10_000)
    await assert_video_flows(p, "patient")
    await assert_video_flows(g, "agent")
    await both_sizes(p, "call-patient")
    await g.set_viewport_size(LAPTOP)  # type: ignore[arg-type]
    await both_sizes(g, "call-agent")
    patient.check()
    agent.check()
