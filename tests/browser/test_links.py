"""A link that does not work says why in plain words; opening a page uses nothing up."""

from __future__ import annotations

import re
import time

import pytest
from playwright.async_api import expect

from server.auth.tokens import TokenRequest
from signaling.client import PatientBot
from tests.browser.conftest import DESKTOP, Parties
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.timeout(60)
async def test_broken_links_are_explained(parties: Parties, live_desk: LiveDesk) -> None:
    tokens = live_desk.tokens
    revoked = await tokens.issue(TokenRequest(typ="invite", queues=("appointments",)))
    await tokens.revoke(revoked.claims.jti)
    expired = tokens.mint(
        TokenRequest(typ="invite", queues=("appointments",), ttl=60), now=int(time.time()) - 600
    )
    cases = {
        "/p#token=not-a-token": "This link is not valid.",
        "/p": "To start, open the link you were sent.",
        f"/p#token={revoked.token}": "This link has been withdrawn.",
        f"/p#token={expired.token}": "This link has expired.",
        "/p#token=" + live_desk.token("admin"): "This is a link for the admin console",
    }
    party = await parties.open("/")
    page = party.page
    for path, words in cases.items():
        await page.goto("about:blank")  # a new document each time, not a fragment change
        await page.goto(path)
        await expect(page.locator("#link-error")).to_contain_text(words, timeout=10_000)
        assert "#" not in page.url
    party.check()


@pytest.mark.timeout(60)
async def test_an_invitation_is_used_by_joining_not_by_opening(
    parties: Parties, live_desk: LiveDesk
) -> None:
    invite = "/p#token=" + live_desk.invite(name="Ana")
    first = await parties.open(invite)
    second = await parties.open(invite)  # a mail scanner, or a second device
    for party in (first, second):
        await expect(party.page.locator("#lobby-heading")).to_be_visible(timeout=10_000)
    await first.page.get_by_role("button", name="Join the queue").click()
    await expect(first.page.locator("#queue-position")).to_have_text("You're next in the queue.")
    await second.page.get_by_role("button", name="Join the queue").click()
    await expect(second.page.locator("#join-error")).to_have_text(
        "This invitation link has already been used. Please ask the desk for a new one."
    )
    await expect(second.page.get_by_role("button", name="Join the queue")).to_be_enabled()
    # Opened now, in yet another browser, the used invitation says so at once: no
    # greeting with the patient's name, no lobby, no camera.
    third = await parties.open(invite)
    await expect(third.page.locator("#link-error")).to_have_text(
        "This invitation link has already been used. Please ask the desk for a new one.",
        timeout=10_000,
    )
    await expect(third.page.locator("#lobby-heading")).to_be_hidden()
    assert "Ana" not in await third.page.locator("body").inner_text()
    assert (
        await third.page.evaluate("document.querySelectorAll('video')[0]?.srcObject ?? null")
        is None
    )
    # The patient who joined opens the link again in a new tab of their own browser:
    # the same session, their place.
    again = await first.context.new_page()
    await again.goto(invite)
    await expect(again.locator("#queue-position")).to_have_text("You're next in the queue.")
    first.check()
    second.check()
    third.check()


@pytest.mark.timeout(60)
async def test_a_withdrawn_agent_link_signs_the_console_out_badge_and_all(
    parties: Parties, live_desk: LiveDesk
) -> None:
    issued = await live_desk.tokens.issue(
        TokenRequest(typ="agent", name="Sam", queues=("billing",))
    )
    agent = await parties.open("/agent#token=" + issued.token, viewport=DESKTOP)
    page = agent.page
    await page.get_by_role("button", name="Available").click()
    await expect(page.locator("#agent-badge")).to_have_text("Available", timeout=10_000)
    await live_desk.tokens.revoke(issued.claims.jti)
    await expect(page.locator("#fatal-error")).to_contain_text("withdrawn", timeout=10_000)
    await expect(page.locator("#agent-badge")).to_have_text("Signed out")
    agent.check()


@pytest.mark.timeout(60)
async def test_the_admin_list_shows_used_expired_and_revoked_links_with_when(
    parties: Parties, live_desk: LiveDesk
) -> None:
    tokens = live_desk.tokens
    used = await tokens.issue(TokenRequest(typ="invite", label="Used", queues=("billing",)))
    revoked = await tokens.issue(TokenRequest(typ="invite", label="Withdrawn", queues=("billing",)))
    await tokens.revoke(revoked.claims.jti)
    expired = tokens.mint(
        TokenRequest(typ="invite", label="Old", queues=("billing",), ttl=60),
        now=int(time.time()) - 600,
    )
    await tokens.record(expired)
    await tokens.issue(TokenRequest(typ="invite", label="Fresh", queues=("billing",)))
    patient = PatientBot(live_desk.url, used.token, media=False)
    await patient.connect()
    await patient.join(name="Ana")
    admin = await parties.open("/admin#token=" + live_desk.token("admin"), viewport=DESKTOP)
    rows = admin.page.locator("#tokens-table tbody tr")
    await admin.page.get_by_role("button", name="Refresh").click()
    await expect(rows.filter(has_text="Used").locator("td").nth(4)).to_have_text(
        re.compile(r"^Used \d")
    )
    await expect(rows.filter(has_text="Withdrawn").locator("td").nth(4)).to_have_text(
        re.compile(r"^Revoked \d")
    )
    await expect(rows.filter(has_text="Old").locator("td").nth(4)).to_have_text(
        re.compile(r"^Expired \d")
    )
    await expect(rows.filter(has_text="Fresh").locator("td").nth(4)).to_have_text("Active")
    # A used invitation can still be withdrawn (its patient leaves the queue); an ended one not.
    await expect(
        rows.filter(has_text="Used").get_by_role("button", name="Revoke Used")
    ).to_be_visible()
    await expect(rows.filter(has_text="Old").get_by_role("button")).to_have_count(0)
    await patient.close()
    admin.check()
