"""The waiting room keeps a patient's place: across a page refresh, a call-back
request, and when an agent declines the offer (the next agent gets it). Notices
from the desk reach waiting patients; leaving moves the others up."""

from __future__ import annotations

import re

import pytest
from aiohttp import WSCloseCode
from playwright.async_api import Page, expect

from server.queue.models import PatientDetails
from server.ws.hub import Hub
from signaling.client import AgentBot
from tests.browser.conftest import DESKTOP, Parties, eventually
from tests.support import canary
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

NOTICE = "We are running about 10 minutes late. Thank you for waiting."


async def _sockets(hub: Hub) -> set[int]:
    return {id(conn) for conn in hub.all("patient")}


async def join(page: Page, name: str) -> None:
    await expect(page.locator("#lobby-heading")).to_be_visible(timeout=10_000)
    await page.get_by_label("Your first name").fill(name)
    await page.get_by_role("button", name="Join the queue").click()
    await expect(page.locator("#waiting-heading")).to_be_visible()


@pytest.mark.timeout(60)
async def test_the_place_is_kept(parties: Parties, live_desk: LiveDesk) -> None:
    first = await parties.open("/p#token=" + live_desk.invite())
    second = await parties.open("/p#token=" + live_desk.invite())
    await join(first.page, "Ana")
    await expect(first.page.locator("#queue-position")).to_have_text("You're next in the queue.")
    await join(second.page, "Ben")
    position = second.page.locator("#queue-position")
    await expect(position).to_have_text("You are number 2 in the queue.")
    # Nobody staffs the queue: the estimate says so rather than guess, and points to the
    # call-back, which is now the first thing offered (issue 16 item 9).
    await expect(second.page.locator("#queue-estimate")).to_contain_text(
        "Nobody from our team is taking calls at this moment, so we can't say how long"
    )
    await expect(second.page.locator("#callback-open")).to_have_class(re.compile("button-primary"))

    await second.page.reload()
    # Straight back to the waiting room (the session cookie), same place.
    await expect(second.page.locator("#waiting-heading")).to_be_visible(timeout=10_000)
    await expect(position).to_have_text("You are number 2 in the queue.")
    await expect(second.page.locator("#lobby-heading")).to_be_hidden()
    await expect(first.page.locator("#queue-position")).to_have_text("You're next in the queue.")

    # The desk drops every socket (a server restart): the pages reconnect on their own
    # and show the same places. (The loopback-only namespace has no network for
    # Chromium to lose, so the drop comes from the server side.)
    hub = live_desk.desk.hub
    before = list(hub.all("patient"))  # held, so no new socket can reuse an id
    assert len(before) == 2
    for conn in before:
        await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"restarting")
    await eventually(
        lambda: _sockets(hub),
        lambda now: len(now) == 2 and not now & {id(conn) for conn in before},
        "the patients' pages reconnecting",
        timeout=10,
    )
    await expect(position).to_have_text("You are number 2 in the queue.")
    await expect(second.page.locator("#connection-banner")).to_be_hidden()

    # A message from the desk reaches everyone waiting (as text).
    staff = AgentBot(live_desk.url, live_desk.agent_token(name="Kim"), media=False)
    try:
        await staff.connect()
        await staff.request("staff.message", "staff.sent", queue="appointments", text=NOTICE)
    finally:
        await staff.close()
    for party in (first, second):
        await expect(party.page.locator("#notice-list")).to_contain_text(NOTICE)

    # Call me back instead: the place is kept; and back to waiting on the page.
    s = second.page
    await s.get_by_role("button", name="Call me back instead").click()
    await s.get_by_label("Phone number").fill(canary.PHONE_NUMBER)
    await s.get_by_role("button", name="Confirm").click()
    await expect(s.locator("#callback-text")).to_have_text(
        f"We'll call you back on the number ending {canary.PHONE_NUMBER[-3:]} when it's your "
        "turn. You keep your place and you can close this page."
    )
    await expect(position).to_have_text("You are number 2 in the queue.")
    await s.get_by_role("button", name="Wait on this page instead").click()
    await expect(s.locator("#callback-state")).to_be_hidden()

    # The first patient leaves; the second moves up.
    f = first.page
    await f.get_by_role("button", name="Leave the queue").click()
    await f.get_by_role("button", name="Yes, leave").click()
    await expect(f.locator("#lobby-note")).to_have_text(
        "You left the queue. You can join again whenever you like."
    )
    await expect(position).to_have_text("You're next in the queue.")
    first.check()
    second.check()


@pytest.mark.timeout(60)
async def test_declined_offer_goes_to_the_next_agent(parties: Parties, live_desk: LiveDesk) -> None:
    patient = await parties.open("/p#token=" + live_desk.invite(name="Ana"))
    await join(patient.page, "Ana")
    first = await parties.open(
        "/agent#token=" + live_desk.agent_token(name="Sam"), viewport=DESKTOP
    )
    second = await parties.open(
        "/agent#token=" + live_desk.agent_token(name="Kim"), viewport=DESKTOP
    )
    await expect(first.page.locator("#agent-name")).to_have_text("Sam", timeout=10_000)
    await expect(second.page.locator("#agent-name")).to_have_text("Kim", timeout=10_000)

    await first.page.get_by_role("button", name="Available").click()
    await expect(first.page.locator("#offer-panel")).to_be_visible(timeout=10_000)
    await expect(patient.page.locator("#queue-status")).to_have_text("An agent is being connected…")
    await first.page.get_by_label("Reason for declining").select_option("language")
    await first.page.get_by_role("button", name="Decline").click()
    await expect(first.page.locator("#offer-panel")).to_be_hidden()
    await expect(first.page.locator("#agent-badge")).to_have_text("Away")

    # The patient keeps their place and waits again.
    await expect(patient.page.locator("#queue-position")).to_have_text("You're next in the queue.")
    await expect(patient.page.locator("#queue-status")).to_have_text(
        "Please keep this page open. We'll connect you as soon as someone is free."
    )

    await second.page.get_by_role("button", name="Available").click()
    offer = second.page.locator("#offer-panel")
    await expect(offer).to_be_visible(timeout=10_000)
    await expect(offer).to_contain_text("Ana")
    await expect(patient.page.locator("#queue-status")).to_have_text("An agent is being connected…")
    await expect(first.page.locator("#offer-panel")).to_be_hidden()
    for party in (patient, first, second):
        party.check()


@pytest.mark.timeout(60)
async def test_an_estimate_that_goes_up_says_why(parties: Parties, live_desk: LiveDesk) -> None:
    """Two agents in calls, then one goes away: the range the patient sees grows, and the
    page says why in plain words, inside the polite live region."""
    engine = live_desk.desk.engine
    # The queue's history: calls of 5 minutes with 30 s of wrap-up.
    await engine.redis.hset(engine.keys.stats("appointments"), mapping={
        "aht_ms": 300_000, "awt_ms": 30_000,
    })  # fmt: skip
    for aid, pid in (("a_est1", "p_est1"), ("a_est2", "p_est2")):
        await engine.agent_signin(aid, "Agent", ["appointments"], ["en"])
        await engine.join(
            pid, "appointments", PatientDetails(name="Earlier", reason="", language="en")
        )
        offer = await engine.set_status(aid, "available")
        assert offer is not None
        await engine.accept(aid, offer.token)
    patient = await parties.open("/p#token=" + live_desk.invite())
    await join(patient.page, "Ana")
    estimate = patient.page.locator("#queue-estimate")
    why = patient.page.locator("#queue-estimate-why")
    await expect(estimate).to_have_text("Expected wait: 1 to 5 minutes.")
    await expect(why).to_be_hidden()
    await engine.finish("a_est2")
    await engine.set_status("a_est2", "away", "break")
    # The next refresh (every few seconds) brings the new, longer range and why. (The
    # short call a_est2 just ended pulls the average call down a little: 9 or 10.)
    longer = re.compile(r"Expected wait: 1 to (9|10) minutes\.")
    await expect(estimate).to_have_text(longer, timeout=15_000)
    await expect(why).to_have_text(
        "The wait is longer than we said before: fewer people are answering now."
    )
    live = patient.page.locator("#queue-place[aria-live='polite'] #queue-estimate-why")
    await expect(live).to_have_count(1)
    patient.check()
