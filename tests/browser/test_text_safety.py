"""Names, reasons and chat are shown as text (docs/security.md, "Pages and API"): markup from a
person never becomes an element, a script or a dialog, on the patient's page or
the agent's."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import DESKTOP, Parties
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

MARKUP = "<img src=x onerror=alert(1)>"
TEMPLATE = "{{7*7}}"
NO_IMAGES = "() => document.querySelectorAll('img').length"


@pytest.mark.timeout(60)
async def test_markup_from_people_shows_as_text(parties: Parties, live_desk: LiveDesk) -> None:
    reason = f"{TEMPLATE} {MARKUP}"
    patient = await parties.open("/p#token=" + live_desk.invite(name=MARKUP, reason=reason))
    p = patient.page
    await expect(p.locator("#lobby-heading")).to_be_visible(timeout=10_000)
    # The invite's name and reason prefill the form as values, and greet as text.
    await expect(p.get_by_label("Your first name")).to_have_value(MARKUP)
    await expect(p.locator("#patient-reason")).to_have_value(reason)
    await expect(p.locator("#lobby-greeting")).to_contain_text("Hello <img.")
    await p.get_by_role("button", name="Join the queue").click()
    await expect(p.locator("#waiting-heading")).to_be_visible()

    agent = await parties.open("/agent#token=" + live_desk.agent_token(), viewport=DESKTOP)
    g = agent.page
    # The queue panel and the offer show the (first) name and the reason literally.
    await expect(g.locator("#queue-list")).to_contain_text(f"<img — {reason}", timeout=10_000)
    await g.get_by_role("button", name="Available").click()
    offer = g.locator("#offer-context")
    await expect(offer).to_contain_text(reason, timeout=10_000)
    await expect(offer.locator("dd").first).to_have_text("<img")
    await g.get_by_role("button", name="Accept").click()
    await expect(g.locator("#call-context")).to_contain_text(reason, timeout=10_000)
    await expect(p.locator("#call-heading")).to_be_visible(timeout=10_000)

    await p.get_by_label("Message", exact=True).fill(MARKUP)
    await p.get_by_label("Message", exact=True).press("Enter")
    await g.get_by_label("Message", exact=True).fill(f"{TEMPLATE} {MARKUP}")
    await g.get_by_label("Message", exact=True).press("Enter")
    for page in (p, g):
        chat = page.locator("#chat-log .chat-text")
        await expect(chat).to_have_text([MARKUP, f"{TEMPLATE} {MARKUP}"])
        assert await page.evaluate(NO_IMAGES) == 0
    patient.check()  # no script error, no alert dialog
    agent.check()
