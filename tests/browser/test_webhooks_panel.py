"""The admin page's webhooks panel: an admin adds an endpoint (the signing secret is shown
once), sees a patient's visit delivered to a real receiver on loopback with its attempts,
and removes the endpoint; the panel passes axe."""

from __future__ import annotations

import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from tests.browser.conftest import DESKTOP, Parties, axe_violations, screenshot
from tests.support.desks import LiveDesk
from tests.support.queues import details

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.timeout(60)
async def test_an_admin_adds_sees_and_removes_a_webhook(
    parties: Parties, live_desk: LiveDesk, axe_source: str
) -> None:
    received: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(request.headers["webhook-id"])
        return web.json_response({"ok": True})

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    server = TestServer(receiver, host="127.0.0.1")
    await server.start_server()
    try:
        admin = await parties.open(
            "/admin#token=" + live_desk.token("admin", name="Root"), viewport=DESKTOP
        )
        page = admin.page
        await expect(page.locator("#live-badge")).to_have_text("Live", timeout=10_000)
        url = f"http://127.0.0.1:{server.port}/hook"
        # Nothing chosen, nothing added: the form says what is missing.
        await page.get_by_label("Address (https://…)").first.fill("not a url")
        await page.get_by_role("button", name="Add the webhook").click()
        await expect(page.locator("#webhook-error")).to_contain_text("https://")
        await page.get_by_label("Address (https://…)").first.fill(url)
        await page.get_by_label(re.compile("a patient joined a queue")).check()
        await page.get_by_role("button", name="Add the webhook").click()
        await expect(page.locator("#webhook-secret")).to_have_value(re.compile("^whsec_"))
        row = page.locator("#webhooks-table tbody tr")
        await expect(row).to_have_count(1)
        await expect(row.locator("th")).to_have_text(url)
        await expect(row.locator("td").first).to_have_text("visit.ended, visit.started")

        await live_desk.desk.engine.join("p-hook", "appointments", details())
        for _ in range(100):
            if received:
                break
            await page.wait_for_timeout(100)
        assert len(received) == 1
        await page.get_by_role("button", name="Reload the webhooks").click()
        await expect(row.locator("td").nth(1)).to_have_text("1 delivered, 0 waiting, 0 failed")
        await page.get_by_role("button", name=f"Latest deliveries to {url}").click()
        await expect(page.locator("#webhook-deliveries li")).to_have_text(
            "visit.started: delivered (200)"
        )
        await page.locator("#webhooks-heading").scroll_into_view_if_needed()
        await screenshot(page, "admin-webhooks")
        assert await axe_violations(page, axe_source) == []

        await page.get_by_role("button", name=f"Remove the webhook to {url}").click()
        await expect(row).to_have_count(0)
        await expect(page.locator("#webhooks-status")).to_contain_text("Removed the webhook")
    finally:
        await server.close()
