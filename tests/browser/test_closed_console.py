"""Issue 16, bug 1, in Chromium: an agent finishes wrap-up with "Available for the next
patient" and closes the tab at once. The next patient is not left on "An agent is being
connected…" for the whole offer timeout: the offer goes straight to a colleague who is there.
(tests/test_closed_console.py checks the lease and the recorded skip with bots.)"""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import DESKTOP, Parties
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.timeout(90)
async def test_the_next_patient_goes_to_an_agent_who_is_there(
    parties: Parties, live_desk: LiveDesk
) -> None:
    first = await parties.open("/p#token=" + live_desk.invite(name="Ana"))
    await first.page.get_by_role("button", name="Join the queue").click()
    await expect(first.page.locator("#waiting-heading")).to_be_visible(timeout=10_000)

    sam = await parties.open("/agent#token=" + live_desk.agent_token(name="Sam"), viewport=DESKTOP)
    s = sam.page
    await expect(s.locator("#agent-name")).to_have_text("Sam", timeout=10_000)
    await s.get_by_role("button", name="Available").click()
    await s.get_by_role("button", name="Accept").click(timeout=10_000)
    await expect(first.page.locator("#call-heading")).to_have_text(
        "Your call with Sam", timeout=10_000
    )
    await s.get_by_role("button", name="End call").click()
    await expect(s.locator("#wrapup-panel")).to_be_visible()
    await s.get_by_label("Outcome").select_option("resolved")
    await s.get_by_label("Available for the next patient").check()
    await s.get_by_role("button", name="Finish wrap-up").click()
    await expect(s.locator("#agent-badge")).to_have_text("Available")
    await sam.context.close()  # the tab is closed a moment later

    # A colleague becomes available after Sam, so Sam's closed console is first in line.
    kim = await parties.open("/agent#token=" + live_desk.agent_token(name="Kim"), viewport=DESKTOP)
    k = kim.page
    await expect(k.locator("#agent-name")).to_have_text("Kim", timeout=10_000)
    await k.get_by_role("button", name="Available").click()
    await expect(k.locator("#agent-badge")).to_have_text("Available")

    second = await parties.open("/p#token=" + live_desk.invite(name="Bo"))
    await second.page.get_by_role("button", name="Join the queue").click()
    # Well inside the offer timeout: the offer an absent console could not answer was never
    # made, so Kim is offered Bo straight away.
    offer = k.locator("#offer-panel")
    await expect(offer).to_be_visible(timeout=live_desk.desk.settings.offer_timeout * 1000 / 2)
    await expect(offer).to_contain_text("Bo")
    await k.get_by_role("button", name="Accept").click()
    await expect(second.page.locator("#call-heading")).to_have_text(
        "Your call with Kim", timeout=10_000
    )
    for party in (first, second, kim):
        party.check()
