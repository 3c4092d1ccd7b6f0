"""axe-core finds no violations on the patient pages (lobby, waiting room, call,
survey; the help pages, an article, the waiting room with self-help and the assistant
open) in English and in Spanish, at phone size; each page is also saved as a 360×640
screenshot in .test-artifacts/ for a person to look at.

The agent side of the call is a headless aiortc agent (signaling.client.AgentBot),
so only the patient's page runs in the browser.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from signaling.client import AgentBot
from tests.browser.conftest import (
    DESKTOP,
    Parties,
    axe_violations,
    check_camera,
    eventually,
    screenshot,
    video_stats,
)
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

CATALOGUES = Path(__file__).resolve().parents[2] / "web" / "static" / "i18n"
LOCALES = {"en": "en-GB", "es": "es-ES"}


def catalogue(language: str) -> dict[str, str]:
    messages: dict[str, str] = json.loads((CATALOGUES / f"{language}.json").read_text("utf-8"))
    return messages


async def audit(page: Page, axe_source: str, name: str, *, full_page: bool = False) -> None:
    await page.evaluate("() => window.scrollTo(0, 0)")
    await screenshot(page, name, full_page=full_page)
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
    await audit(page, axe_source, f"patient-lobby-closed-{language}")
    await check_camera(page)
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


@pytest.mark.timeout(60)
@pytest.mark.parametrize("language", ["en", "es"])
async def test_self_help_pages_have_no_axe_violations(
    parties: Parties, live_desk: LiveDesk, axe_source: str, language: str
) -> None:
    """The help pages, an article, and the waiting room with self-help and the
    assistant open; saved as screenshots (phone, and desktop for the waiting room)."""
    text = catalogue(language)
    reader = await parties.open("/help", locale=LOCALES[language])
    page = reader.page
    await expect(page.locator("html")).to_have_attribute("lang", language)
    await expect(page.locator("h1")).to_have_text(text["help.heading"])
    await page.get_by_label(text["help.search.label"]).fill("prescription")
    await page.get_by_role("button", name=text["help.search.button"], exact=True).click()
    await expect(page.locator("#help-search-results li")).not_to_have_count(0)
    await audit(page, axe_source, f"help-index-{language}", full_page=True)

    title = {"en": "Repeat prescriptions", "es": "Renovar una receta"}[language]
    await page.get_by_role("link", name=title).first.click()
    await expect(page.locator("h1")).to_have_text(title)
    await expect(page.locator("html")).to_have_attribute("lang", language)
    await audit(page, axe_source, f"help-article-{language}", full_page=True)
    response = await page.goto("/help/no-such-article")
    assert response is not None and response.status == 404
    await expect(page.locator("h1")).to_have_text(text["help.missing.heading"])
    reader.check()

    patient = await parties.open(
        "/p#token=" + live_desk.invite(name="Ana", reason="repeat prescription"),
        locale=LOCALES[language],
    )
    p = patient.page
    await p.get_by_role("button", name=text["lobby.form.join"]).click()
    await expect(p.locator("#queue-position")).to_have_text(text["waiting.next"])
    await p.locator("#self-help-articles .article-toggle").first.click()
    await expect(p.locator("#self-help-articles .article-text")).to_be_visible()
    await p.get_by_label(text["assistant.label"]).fill("How do I book an appointment?")
    await p.get_by_role("button", name=text["assistant.ask"]).click()
    await expect(p.locator("#assistant-replies .article")).not_to_have_count(0)
    await audit(p, axe_source, f"patient-selfhelp-{language}", full_page=True)
    await p.locator("#assistant-replies").scroll_into_view_if_needed()
    await screenshot(p, f"patient-assistant-phone-{language}")  # 360×640, as seen
    await p.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    await screenshot(p, f"patient-selfhelp-desktop-{language}", full_page=True)
    if language == "en":
        await p.get_by_label(text["assistant.label"]).fill("I have chest pain")
        await p.get_by_role("button", name=text["assistant.ask"]).click()
        await expect(p.locator("#assistant-replies [role=alert]")).to_be_visible()
        await p.locator("#assistant").scroll_into_view_if_needed()
        await screenshot(p, "patient-assistant-emergency-desktop-en")
        assert await axe_violations(p, axe_source) == []
    patient.check()
