"""What the patient reads (issue 16, items 9, 11 and 12): the lobby says whether anyone is
answering and when the desk is open; the waiting room counts the time waited; in a call
on a phone a new chat message gets a count and is read out; after the survey the page
says the visit is over."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.async_api import expect

from server.core.hours import DAYS
from signaling.client import AgentBot
from tests.browser.conftest import Parties, eventually
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# Open on one day only, and not today: the desk is closed now, whatever the time.
TOMORROW = DAYS[(datetime.now(UTC).weekday() + 1) % 7]
TOMORROW_NAME = datetime(2024, 1, 1 + DAYS.index(TOMORROW)).strftime("%A")


@pytest.mark.timeout(60)
async def test_the_lobby_says_who_is_answering(parties: Parties, live_desk: LiveDesk) -> None:
    patient = await parties.open("/p#token=" + live_desk.invite(name="Ana"))
    page = patient.page
    greeting = page.locator("#lobby-greeting")
    await expect(greeting).to_have_text(
        "Hello Ana. Nobody from our team is taking video calls right now. You can still join "
        "and keep your place, or ask us to call you back.",
        timeout=10_000,
    )
    assert "short queue" not in (await greeting.text_content() or "")
    await expect(page.locator("#lobby-hours")).to_be_hidden()  # no hours configured

    agent = AgentBot(live_desk.url, live_desk.agent_token(name="Sam"), media=False)
    try:
        await agent.connect()
        await agent.send("agent.status", status="away", reason="break")
        await agent.next("agent.state", state="away")
        # Away counts as not answering; available does.
        await agent.available()
        await agent.next("agent.state", state="available")
        second = await parties.open("/p#token=" + live_desk.invite(name="Bo"))
        await expect(second.page.locator("#lobby-greeting")).to_have_text(
            "Hello Bo. When you join, you wait your turn here, then talk face to face with a "
            "member of our team.",
            timeout=10_000,
        )
    finally:
        await agent.close()
    patient.check()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "desk_env",
    [{"VIDEODESK_OPENING_HOURS": f"{TOMORROW} 08:00-18:00", "VIDEODESK_TIMEZONE": "UTC"}],
)
async def test_a_closed_desk_gives_its_hours(parties: Parties, live_desk: LiveDesk) -> None:
    patient = await parties.open("/p#token=" + live_desk.invite())
    page = patient.page
    await expect(page.locator("#lobby-body")).to_have_text(
        "We're closed at the moment. You can join now and keep your place for when we open, "
        "or ask us to call you back.",
        timeout=10_000,
    )
    await expect(page.locator("#lobby-hours")).to_have_text(
        f"Our team answers video calls {TOMORROW_NAME}, 08:00–18:00."
    )
    await page.get_by_label("Language", exact=True).select_option("es")
    await expect(page.locator("#lobby-hours")).to_contain_text("Nuestro equipo atiende")
    patient.check()


@pytest.mark.timeout(90)
async def test_waiting_clock_chat_badge_and_closing(
    parties: Parties, live_desk: LiveDesk, loopback_ice: None
) -> None:
    patient = await parties.open("/p#token=" + live_desk.invite(name="Ana"))
    page = patient.page
    await page.get_by_role("button", name="Join the queue").click()
    clock = page.locator("#queue-waited-clock")
    await expect(page.locator("#queue-waited")).to_be_visible()
    await expect(page.locator("#queue-waited")).to_contain_text("You've waited")
    await expect(clock).to_have_text(re.compile(r"^0:0[1-9]$"), timeout=10_000)

    agent = AgentBot(live_desk.url, live_desk.agent_token(name="Sam"))
    try:
        await agent.connect()
        await agent.available()
        await agent.accept(await agent.next("agent.offer"))
        await expect(page.locator("#call-heading")).to_have_text("Your call with Sam")
        await expect(page.locator("#queue-waited")).to_be_hidden()
        # On a phone the chat is below the video: a message gets a count and is read out.
        chat = page.locator("#chat-heading")
        await eventually(
            lambda: chat.evaluate("(h) => h.getBoundingClientRect().top > innerHeight"),
            bool,
            "the chat below the fold",
            timeout=5,
        )
        assert not await page.get_by_label("Play a sound for new messages").is_checked()
        await agent.send("call.chat", text="Can you hear me?")
        await expect(page.locator("#chat-unread")).to_have_text("1 new")
        await expect(page.locator("#chat-announce")).to_have_text(
            "New message from Sam: Can you hear me?"
        )
        await page.get_by_role("link", name=re.compile("^Chat")).click()
        await expect(page.locator("#chat-unread")).to_be_hidden()

        await agent.send("agent.end")
        await expect(page.locator("#survey-heading")).to_be_visible()
        await page.locator('label[for="rating-5"]').click()
        await page.get_by_role("button", name="Send").click()
        await expect(page.locator("#survey-closing")).to_have_text(
            "Your visit is over. You can close this page now."
        )
    finally:
        await agent.close()
    patient.check()
