"""The admin sends a new link by e-mail from the "Link created" panel and sees it sent;
a real SMTP server (aiosmtpd, on loopback) receives it. Without a mail server the
panel offers copy only."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from playwright.async_api import Page, expect

from tests.browser.conftest import DESKTOP, Parties, axe_violations, screenshot
from tests.support.canary import PATIENT_REASON
from tests.support.desks import LiveDesk
from tests.support.redis_server import free_port
from tests.test_mail import Inbox

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

RECIPIENT = "ana.patient@example.org"


@pytest.fixture(scope="module")
def mail_server() -> Iterator[tuple[Inbox, int]]:
    """A relay on loopback that takes mail without TLS (the desk opts in: starttls=off)."""
    quiet = [logging.getLogger(name) for name in ("mail.log", "mail.debug")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.WARNING)  # aiosmtpd logs each line it reads: the link
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), ready_timeout=10.0)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)


@pytest.fixture
def desk_env(mail_server: tuple[Inbox, int]) -> dict[str, str]:
    """The desk's mail settings (a test parametrizes this to leave them out)."""
    mail_server[0].clear()
    return {"VIDEODESK_SMTP_URL": f"smtp://127.0.0.1:{mail_server[1]}?starttls=off"}


async def create_invitation(page: Page) -> None:
    await expect(page.locator("#live-badge")).to_have_text("Live", timeout=10_000)
    await page.locator("#invite-name").fill("Ana Canarywing")
    await page.locator("#invite-reason").fill(PATIENT_REASON)
    await page.get_by_role("button", name="Create patient link").click()
    await expect(page.locator("#created")).to_be_visible()


@pytest.mark.timeout(90)
async def test_the_admin_sends_an_invitation_by_email(
    parties: Parties, live_desk: LiveDesk, mail_server: tuple[Inbox, int], axe_source: str
) -> None:
    inbox = mail_server[0]
    admin = await parties.open("/admin#token=" + live_desk.token("admin"), viewport=DESKTOP)
    page = admin.page
    await create_invitation(page)
    form = page.locator("#mail-form")
    await expect(form).to_be_visible()
    violations = await axe_violations(page, axe_source)
    assert violations == [], f"axe violations {json.dumps(violations, indent=1)}"

    address = page.get_by_label("Send the link by e-mail to")
    status = page.locator("#mail-status")
    await address.fill("ana at example")
    await page.get_by_role("button", name="Send by e-mail").click()
    await expect(status).to_have_text("Enter one e-mail address, like name@example.org.")
    await expect(address).to_have_attribute("aria-invalid", "true")
    assert inbox.messages == []

    await address.fill(RECIPIENT)
    await expect(address).not_to_have_attribute("aria-invalid", "true")
    await page.get_by_role("button", name="Send by e-mail").click()
    await expect(status).to_have_text(f"Sent to {RECIPIENT}.", timeout=20_000)
    await expect(page.get_by_role("button", name="Send by e-mail")).to_be_enabled()
    assert await status.get_attribute("aria-live") == "polite"
    await page.locator("#created").scroll_into_view_if_needed()
    await screenshot(page, "admin-mail-sent")
    violations = await axe_violations(page, axe_source)
    assert violations == [], f"axe violations {json.dumps(violations, indent=1)}"

    [received] = inbox.messages
    assert received.rcpt_tos == [RECIPIENT]
    link = await page.locator("#created-link").input_value()
    assert link in received.text.split()
    assert received.text.startswith("Hello Ana,\n")
    assert "Canarywing" not in received.text and PATIENT_REASON not in received.text
    admin.check()


@pytest.mark.timeout(60)
async def test_a_refused_address_is_explained(
    parties: Parties, live_desk: LiveDesk, mail_server: tuple[Inbox, int]
) -> None:
    admin = await parties.open("/admin#token=" + live_desk.token("admin"), viewport=DESKTOP)
    page = admin.page
    await create_invitation(page)
    await page.get_by_label("Send the link by e-mail to").fill("nobody@refused.example.org")
    await page.get_by_role("button", name="Send by e-mail").click()
    await expect(page.locator("#mail-status")).to_have_text(
        "Couldn't send: The mail server refused this address.", timeout=20_000
    )
    assert mail_server[0].messages == []
    admin.check()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("desk_env", [{}])
async def test_without_a_mail_server_the_panel_offers_copy_only(
    parties: Parties, live_desk: LiveDesk
) -> None:
    admin = await parties.open("/admin#token=" + live_desk.token("admin"), viewport=DESKTOP)
    page = admin.page
    await create_invitation(page)
    await expect(page.get_by_role("button", name="Copy link")).to_be_visible()
    await expect(page.locator("#mail-form")).to_be_hidden()
    admin.check()
