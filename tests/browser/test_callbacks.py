"""Call-backs (virtual hold): a time chosen from the desk's slots, or a phone call when
it is the patient's turn, keep the place; the agent's console shows the task with the
number to phone and records the outcome. A patient who chose "alert me on this page"
is rung by the agent, says "not now", then joins: video decodes on both sides."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from signaling.client import PatientBot
from tests.browser.conftest import (
    DESKTOP,
    Parties,
    Party,
    assert_video_flows,
    axe_violations,
    screenshot,
)
from tests.support import canary
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def join(page: Page) -> None:
    await expect(page.locator("#lobby-heading")).to_be_visible(timeout=10_000)
    await page.get_by_role("button", name="Join the queue").click()
    await expect(page.locator("#waiting-heading")).to_be_visible()


async def agent_takes_the_callback(parties: Parties, live_desk: LiveDesk) -> Party:
    agent = await parties.open(
        "/agent#token=" + live_desk.agent_token(name="Sam"), viewport=DESKTOP
    )
    g = agent.page
    await g.get_by_role("button", name="Available").click()
    await expect(g.locator("#offer-heading")).to_have_text("Call-back due", timeout=10_000)
    await g.get_by_role("button", name="Accept").click()
    await expect(g.locator("#callback-panel")).to_be_visible()
    await expect(g.locator("#call-panel")).to_be_hidden()
    return agent


@pytest.mark.timeout(60)
async def test_a_callback_keeps_the_place(
    parties: Parties, live_desk: LiveDesk, axe_source: str
) -> None:
    first = PatientBot(live_desk.url, live_desk.invite(name="Zoe"), media=False)
    try:
        await first.connect()
        await first.join("Zoe")
        patient = await parties.open("/p#token=" + live_desk.invite(name="Ana"))
        p = patient.page
        await join(p)
        position = p.locator("#queue-position")
        await expect(position).to_have_text("You are number 2 in the queue.")

        # At a time: the desk's slots, in the patient's local time.
        await p.get_by_role("button", name="Call me back instead").click()
        await p.get_by_label("Call me on my phone at a time I choose").check()
        slot = p.get_by_label("Time", exact=True)
        await expect(slot.locator("option")).to_have_count(8)
        chosen = await slot.locator("option").nth(1).text_content()
        await slot.select_option(index=1)
        await p.get_by_label("Phone number").fill(canary.PHONE_NUMBER)
        await p.locator("#callback-form").scroll_into_view_if_needed()
        await screenshot(p, "patient-callback-at-a-time")
        await p.get_by_role("button", name="Confirm").click()
        await expect(p.locator("#callback-text")).to_contain_text(
            f"We'll call you back on the number ending {canary.PHONE_NUMBER[-3:]} on {chosen} "
            "(your local time)."
        )
        await expect(p.locator("#queue-place")).to_be_hidden()  # out of the queue until then
        await p.get_by_role("button", name="Wait on this page instead").click()
        await expect(position).to_have_text("You are number 2 in the queue.")

        # By phone when it is their turn: the place is kept.
        await p.get_by_role("button", name="Call me back instead").click()
        await p.get_by_label("Call me on my phone when it's my turn").check()
        await expect(p.get_by_label("Phone number")).to_have_value(canary.PHONE_NUMBER)
        await p.get_by_role("button", name="Confirm").click()
        await expect(p.locator("#callback-text")).to_contain_text(
            f"We'll call you back on the number ending {canary.PHONE_NUMBER[-3:]}"
        )  # the number repeated, masked but for the last digits (issue 16 item 12)
        text = await p.locator("#callback-text").text_content() or ""
        assert canary.PHONE_NUMBER not in text
        await expect(position).to_have_text("You are number 2 in the queue.")
        await first.request("queue.leave", "queue.state")
        await expect(position).to_have_text("You're next in the queue.")
    finally:
        await first.close()

    # The agent gets the call-back task: the number to phone, as a tel: link.
    agent = await agent_takes_the_callback(parties, live_desk)
    g = agent.page
    number = g.locator("#callback-how a")
    await expect(number).to_have_text(canary.PHONE_NUMBER)
    await expect(number).to_have_attribute("href", "tel:" + canary.PHONE_NUMBER.replace(" ", ""))
    await expect(g.locator("#callback-context")).to_contain_text("Call-back")
    await expect(p.locator("#waiting-heading")).to_have_text("It's your turn")
    await expect(p.locator("#queue-status")).to_have_text("We're calling you on your phone now.")
    await screenshot(g, "agent-callback-task")
    assert await axe_violations(g, axe_source) == []
    await g.get_by_role("button", name="Record the outcome").click()
    await expect(g.locator("#wrapup-panel")).to_be_visible()
    await g.get_by_label("Outcome").select_option("resolved")
    await g.get_by_role("button", name="Finish wrap-up").click()
    await expect(g.locator("#agent-badge")).to_have_text("Available")
    await expect(p.locator("#survey-heading")).to_be_visible()
    patient.check()
    agent.check()


@pytest.mark.timeout(60)
async def test_the_agent_rings_the_page(parties: Parties, live_desk: LiveDesk) -> None:
    patient = await parties.open(
        "/p#token=" + live_desk.invite(name="Ana"), permissions=("camera", "microphone")
    )
    p = patient.page
    await join(p)
    await p.get_by_role("button", name="Call me back instead").click()
    await p.get_by_label("Keep my place and alert me on this page").check()
    await expect(p.get_by_label("Phone number")).to_be_hidden()
    await p.get_by_role("button", name="Confirm").click()
    await expect(p.locator("#callback-text")).to_contain_text("We'll alert you on this page")

    agent = await agent_takes_the_callback(parties, live_desk)
    g = agent.page
    await expect(g.locator("#callback-how")).to_contain_text("alerted on their page")
    ring = g.get_by_role("button", name="Ring the patient's page")
    await expect(p.locator("#queue-status")).to_contain_text("Your agent will ring this page")

    # First "not now": the agent hears it and can ring again.
    await ring.click()
    await expect(g.locator("#callback-status")).to_contain_text("Ringing…")
    dialog = p.get_by_role("dialog")
    await expect(dialog).to_contain_text("Your agent Sam is ready. Join the video call now?")
    await expect(dialog).to_contain_text("Time left to answer: 0:")
    await expect(p.get_by_role("button", name="Join the video call")).to_be_focused()
    await screenshot(p, "patient-ring-dialog")
    await p.keyboard.press("Escape")  # "not now", from the keyboard
    await expect(dialog).to_be_hidden()
    await expect(g.locator("#callback-status")).to_have_text(
        "The patient said not now. You can ring again in a moment."
    )
    await expect(p.locator("#queue-status")).to_contain_text("You chose not to join just now")

    # Then yes (Enter: "Join" has the focus): the normal call view takes over.
    await ring.click()
    await expect(p.get_by_role("button", name="Join the video call")).to_be_focused()
    await p.keyboard.press("Enter")
    await expect(p.locator("#call-heading")).to_have_text("Your call with Sam", timeout=10_000)
    await expect(g.locator("#call-heading")).to_have_text("In call with Ana")
    await expect(g.locator("#callback-panel")).to_be_hidden()
    await assert_video_flows(p, "patient")
    await assert_video_flows(g, "agent")
    patient.check()
    agent.check()
