"""The agent's status buttons work only once the desk has signed the console in: a click
in the first moment after the page loads would otherwise go nowhere (found as a flaky
browser test, where "Available" was clicked before the socket was open)."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import WebSocketRoute, expect

from tests.browser.conftest import DESKTOP, Parties
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.timeout(60)
async def test_status_waits_for_the_console_to_be_signed_in(
    parties: Parties, live_desk: LiveDesk
) -> None:
    agent = await parties.open(
        "/agent#token=" + live_desk.agent_token(name="Sam"), viewport=DESKTOP
    )
    g = agent.page
    # A slow network: the console's socket reaches the desk two seconds late.
    opened = asyncio.Event()

    async def late(ws: WebSocketRoute) -> None:
        await asyncio.sleep(2)
        ws.connect_to_server()
        opened.set()

    await g.route_web_socket(re.compile(r"/ws\b"), late)
    await g.reload()
    available = g.get_by_role("button", name="Available")
    await expect(available).to_be_visible()
    await expect(available).to_be_disabled()  # not signed in yet: nothing to send it to
    assert not opened.is_set()
    await available.click(timeout=15_000)  # waits until the desk has signed the console in
    await expect(g.locator("#agent-badge")).to_have_text("Available", timeout=10_000)
    agent.check()
