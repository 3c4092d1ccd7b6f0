"""The lobby's connection test against the desk's aiortc echo peer."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Parties
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.timeout(60)
async def test_connection_test_shows_round_trip(
    parties: Parties, live_desk: LiveDesk, loopback_ice: None
) -> None:
    patient = await parties.open("/p#token=" + live_desk.invite(name="Ana"))
    page = patient.page
    await expect(page.locator("#lobby-heading")).to_be_visible(timeout=10_000)
    await expect(page.locator("#media-status")).to_have_text(
        "Your camera and microphone are working."
    )
    await page.get_by_role("button", name="Test my connection").click()
    result = page.locator("#test-result")
    await expect(result).to_have_text(
        re.compile(r"^Your connection works: round trip \d+ ms\.$"), timeout=20_000
    )
    # The video went to the desk and came back.
    width = await page.evaluate("() => document.getElementById('test-echo').videoWidth")
    assert width > 0
    patient.check()
