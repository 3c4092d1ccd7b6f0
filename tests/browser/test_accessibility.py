"""axe-core finds no violations on the patient pages (lobby, waiting room, call,
survey) in English and in Spanish, at phone size; each page is also saved as a
360×640 screenshot in .test-artifacts/ for a person to look at.

The agent side of the call is a headless aiortc agent (signaling.client.AgentBot),
so only the patient's page runs in the browser.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from signaling.client import AgentBot
from tests.browser.conftest import Parties, axe_violations, eventually, screenshot, video_stats
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

CATALOGUES = Path(__file__).resolve().parents[2] / "web" / "static" / "i18n"
LOCALES = {"en": "en-GB", "es": "es-ES"}


def catalogue(language: str) -> dict[str, str]:
    messages: dict[str, str] = json.loads((CATALOGUES / f"{language}.json").read_text("utf-8"))
    return messages


async def audit(page: Page, axe_source: str, name: str) -> None:
    await page.evaluate("() => window.scrollTo(0, 0)")
    await screenshot(page, name)
    violations = await axe_violations(page, axe_source)
    assert violations == [], f"{name}: axe violations {json.dumps(violations, indent=1)}"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("language", ["en", "es"])
async def test_patient_pages_have_no_axe_violations(
    parties: Parties, live_desk: LiveDesk, loopback_ice: None, axe_source: str, language: str
) -> None:
    text = catalogue(language)
    patient = await parties.open(
        "/p#token=" + live_desk.invite(name="Ana Lopez", reason="repeat prescription"),
        locale=LOCALES[language],
    )
    page = patient.page
    await expect(page.locator("html")).to_have_attribute("lang", language)
    await expect(page.locator("#lobby-heading")).to_have_text(text["lobby.heading"])
    await expect(page.locator("#media-status")).to_have_text(text["lobby.media.ok"])
    await audit(page, axe_source, f"patient-lobby-{language}")

    await page.get_by_role("button", name=text["lobby.form.join"]).click()
    await expect(page.locator("#queue-position")).to_have_text(text["waiting.next"])
    await audit(page, axe_source, f"patient-waiting-{language}")

    agent = AgentBot(live_desk.url, live_desk.agent_token(name="Sam"))
    try:
        await agent.connect()
        await agent.available()
        await agent.accept(await agent.next("agent.offer"))
        await expect(page.locator("#call-heading")).to_have_text(
            text["call.heading_named"].replace("{name}", "Sam"), timeout=10_000
        )
        await eventually(
            lambda: video_stats(page),
            lambda s: s is not None and s["width"] > 0 and s["frames"] > 5,
            "patient: the agent's video",
        )
        await page.get_by_label(text["chat.label"], exact=True).fill("Hola")
        await page.get_by_label(text["chat.label"], exact=True).press("Enter")
        await agent.wait_for(lambda: len(agent.chats) == 1, 5, "chat")
        await audit(page, axe_source, f"patient-call-{language}")

        await agent.send("agent.end")
        await expect(page.locator("#survey-heading")).to_have_text(text["survey.heading"])
        await audit(page, axe_source, f"patient-survey-{language}")
    finally:
        await agent.close()

    # The switch changes the language of the page, and <html lang> with it.
    other = "es" if language == "en" else "en"
    await page.get_by_label(text["language.label"], exact=True).select_option(other)
    await expect(page.locator("html")).to_have_attribute("lang", other)
    await expect(page.locator("#survey-heading")).to_have_text(catalogue(other)["survey.heading"])
    patient.check()

    # The audit can fail: a field without a label is reported.
    await page.evaluate(
        "() => document.querySelector('main').append(document.createElement('input'))"
    )
    assert "label" in [v["id"] for v in await axe_violations(page, axe_source)]
