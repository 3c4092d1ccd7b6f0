"""The whole journey in real Chromium: admin → agent and patient links → lobby →
waiting room → offer → call with video both ways and chat → end → wrap-up →
survey → the dashboard shows the queue empty again."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import DESKTOP, Parties, assert_video_flows, check_camera
from tests.support import canary
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


def waiting_cell(admin: Page, queue: str) -> str:
    return f'#dashboard-queues tr[data-queue="{queue}"] td >> nth=0'


async def create_links(admin: Page) -> tuple[str, str]:
    """The admin issues an agent link and a patient invitation through the page."""
    await admin.get_by_label("Agent's name").fill("Sam")
    await admin.get_by_role("button", name="Create agent link").click()
    await expect(admin.locator("#created-what")).to_have_text("Agent link for Sam")
    agent_link = await admin.locator("#created-link").input_value()
    await admin.get_by_role("button", name="Copy link").click()
    await expect(admin.locator("#copy-status")).not_to_be_empty()

    await admin.get_by_label("Patient's name").fill(canary.PATIENT_NAME)
    await admin.locator("#invite-queue").select_option("appointments")
    await admin.get_by_label("Reason for the call").fill(canary.PATIENT_REASON)
    await admin.get_by_label("Priority").select_option("urgent")
    await admin.get_by_role("button", name="Create patient link").click()
    await expect(admin.locator("#created-what")).to_have_text(re.compile("^Invitation for "))
    invite_link = await admin.locator("#created-link").input_value()
    # Both appear in the list of issued links.
    rows = admin.locator("#tokens-table tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.filter(has_text="Sam")).to_contain_text("Agent")
    await expect(rows.filter(has_text=canary.PATIENT_NAME)).to_contain_text("Invitation")
    return agent_link, invite_link


@pytest.mark.timeout(60)
async def test_whole_journey(parties: Parties, live_desk: LiveDesk) -> None:
    admin = await parties.open(
        "/admin#token=" + live_desk.token("admin", name="Root"), viewport=DESKTOP
    )
    a = admin.page
    await expect(a.locator("#live-badge")).to_have_text("Live", timeout=10_000)
    assert "#" not in a.url  # the token left the address bar
    agent_link, invite_link = await create_links(a)
    assert agent_link.startswith(live_desk.url + "/agent#token=")
    assert invite_link.startswith(live_desk.url + "/p#token=")

    # The patient opens the invitation on a phone and joins from the lobby.
    patient = await parties.open(invite_link)
    p = patient.page
    await expect(p.locator("#lobby-heading")).to_be_visible(timeout=10_000)
    assert p.url == live_desk.url + "/p"
    await expect(p.locator("#lobby-greeting")).to_contain_text("Hello Ana.")
    await expect(p.get_by_label("Your first name")).to_have_value(canary.PATIENT_NAME)
    await check_camera(p)
    await expect(p.locator("#media-status")).to_have_text("Your camera and microphone are working.")
    await p.get_by_text("Language and support needs").click()
    await p.get_by_label("I need an interpreter").check()
    await p.get_by_role("button", name="Join the queue").click()
    await expect(p.locator("#waiting-heading")).to_be_focused()
    await expect(p.locator("#queue-position")).to_have_text("You're next in the queue.")
    await expect(a.locator(waiting_cell(a, "appointments"))).to_have_text("1", timeout=5_000)

    # The agent signs in with the new link, goes available and gets the offer.
    agent = await parties.open(
        agent_link, viewport=DESKTOP, permissions=("camera", "microphone", "notifications")
    )
    g = agent.page
    await expect(g.locator("#agent-name")).to_have_text("Sam", timeout=10_000)
    await expect(g.locator("#queue-list")).to_contain_text("1 waiting")
    await g.get_by_role("button", name="Available").click()
    offer = g.locator("#offer-panel")
    await expect(offer).to_be_visible(timeout=10_000)
    await expect(offer).to_contain_text("Ana")
    await expect(offer).to_contain_text(canary.PATIENT_REASON)
    await expect(offer).to_contain_text("Interpreter")
    await expect(offer).to_contain_text("Urgent")
    await expect(p.locator("#queue-status")).to_have_text("An agent is being connected…")
    await g.get_by_role("button", name="Accept").click()

    # A call: video decodes on both sides.
    await expect(p.locator("#call-heading")).to_have_text("Your call with Sam", timeout=10_000)
    await expect(g.locator("#call-heading")).to_have_text("In call with Ana")
    await assert_video_flows(p, "patient")
    await assert_video_flows(g, "agent")
    await expect(p.locator("#call-quality")).not_to_have_text("checking…", timeout=10_000)

    # Chat both ways, and private notes the patient never sees.
    await p.get_by_label("Message", exact=True).fill(canary.CHAT_TEXT)
    await p.get_by_label("Message", exact=True).press("Enter")
    await expect(g.locator("#chat-log")).to_contain_text(canary.CHAT_TEXT)
    await g.get_by_label("Message", exact=True).fill("Thanks, I can help with that.")
    await g.get_by_role("button", name="Send", exact=True).click()
    await expect(p.locator("#chat-log")).to_contain_text("Thanks, I can help with that.")
    await g.locator("#notes-text").fill(canary.NOTE_TEXT)
    await g.get_by_role("button", name="Save notes").click()
    await expect(g.locator("#notes-status")).to_contain_text("Saved at")

    # The agent ends the call and wraps up; the patient rates it.
    await g.get_by_role("button", name="End call").click()
    await expect(p.locator("#survey-heading")).to_be_visible(timeout=10_000)
    await expect(g.locator("#wrapup-panel")).to_be_visible()
    await g.get_by_label("Outcome").select_option("resolved")
    await g.get_by_role("button", name="Finish wrap-up").click()
    await expect(g.locator("#agent-badge")).to_have_text("Available")

    await p.locator('label[for="rating-5"]').click()
    await p.get_by_label("Anything you'd like to tell us? (optional)").fill("Very kind, thank you")
    await p.get_by_role("button", name="Send").click()
    await expect(p.locator("#survey-thanks")).to_be_visible()

    # The supervisor sees the queue empty again.
    await expect(a.locator(waiting_cell(a, "appointments"))).to_have_text("0", timeout=5_000)
    await expect(a.locator("#dashboard-agents")).to_contain_text("Sam")

    # Revoking the agent's link closes the agent's console at once.
    await a.get_by_role("button", name="Revoke Sam").click()
    await expect(a.locator("#tokens-status")).to_contain_text("Revoked Sam")
    await expect(g.locator("#fatal-error")).to_contain_text("withdrawn", timeout=10_000)
    await expect(g.locator("#console")).to_be_hidden()
    for party in (admin, patient, agent):
        party.check()
