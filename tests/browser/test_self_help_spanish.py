"""Self-help in Spanish: the help pages follow the reader's language (and ?lang=), the
waiting room's articles, search and assistant follow the page's language switch, and
axe finds nothing wrong with the Spanish help pages."""

from __future__ import annotations

import json
import re

import pytest
from playwright.async_api import Page, Request, expect

from tests.browser.conftest import Parties, axe_violations
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

RECETAS = "Renovar una receta"
CITAS = "Pedir, cambiar o anular una cita"


async def no_axe_violations(page: Page, axe_source: str, name: str) -> None:
    violations = await axe_violations(page, axe_source)
    assert violations == [], f"{name}: axe violations {json.dumps(violations, indent=1)}"


@pytest.mark.timeout(60)
async def test_the_help_pages_in_spanish(parties: Parties, axe_source: str) -> None:
    # A Spanish browser opening /help gets the articles in Spanish.
    reader = await parties.open("/help", locale="es-ES")
    page = reader.page
    await expect(page).to_have_url(re.compile(r"/help\?lang=es$"))
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    await expect(page.locator("h1")).to_have_text("Artículos de ayuda")
    index = page.locator("ul.article-index").last
    await expect(index.get_by_role("link", name=RECETAS)).to_be_visible()
    await expect(index.locator("li[lang=es]")).to_have_count(5)
    await expect(index).not_to_contain_text("Repeat prescriptions")

    await page.get_by_label("Buscar en los artículos de ayuda").fill("¿Cómo renuevo mi receta?")
    await page.get_by_role("button", name="Buscar", exact=True).click()
    results = page.locator("#help-search-results")
    await expect(results.get_by_role("link", name=RECETAS)).to_have_attribute(
        "href", "/help/repeat-prescriptions?lang=es"
    )
    await expect(page.locator("#help-search-status")).to_have_text("Se encontró 1 artículo.")
    await no_axe_violations(page, axe_source, "help index (es)")

    await results.get_by_role("link", name=RECETAS).click()
    await expect(page.locator("h1")).to_have_text(RECETAS)
    await expect(page.locator("article")).to_have_attribute("lang", "es")
    await expect(page.locator("article")).to_contain_text("al menos 3 días laborables")
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    await no_axe_violations(page, axe_source, "help article (es)")

    # The page's switch: the same article in English, and back in English on /help.
    await page.get_by_label("Idioma", exact=True).select_option("en")
    await expect(page.locator("h1")).to_have_text("Repeat prescriptions")
    await expect(page.locator("article")).to_have_attribute("lang", "en")
    await page.get_by_role("link", name="All help articles").click()
    await expect(page.locator("h1")).to_have_text("Help articles")
    await expect(page.get_by_role("link", name="Repeat prescriptions")).to_be_visible()
    reader.check()

    # A ?lang= link wins over the browser's language.
    english = await parties.open("/help/test-results?lang=es", locale="en-GB")
    await expect(english.page.locator("h1")).to_have_text("Los resultados de sus pruebas")
    await expect(english.page.locator("html")).to_have_attribute("lang", "es")
    await expect(english.page.get_by_label("Idioma", exact=True)).to_have_value("es")
    english.check()


@pytest.mark.timeout(60)
async def test_the_waiting_room_follows_the_page_language(
    parties: Parties, live_desk: LiveDesk
) -> None:
    patient = await parties.open(
        "/p#token=" + live_desk.invite(name="Ana", reason="my repeat prescription")
    )
    p = patient.page
    asked: list[Request] = []

    def record(request: Request) -> None:
        if "/api/v1/help/" in request.url:
            asked.append(request)

    p.on("request", record)
    await expect(p.locator("#lobby-heading")).to_be_visible(timeout=10_000)
    await p.get_by_role("button", name="Join the queue").click()
    await expect(p.locator("#queue-position")).to_have_text("You're next in the queue.")
    suggested = p.locator("#self-help-articles")
    await expect(suggested.get_by_role("button", name="Repeat prescriptions")).to_be_visible()
    await suggested.get_by_role("button", name="Repeat prescriptions").click()
    await expect(suggested).to_contain_text("Order at least 3 working days before you run out")

    # Switched to Spanish: the suggestion, open, is read again in Spanish.
    await p.get_by_label("Language", exact=True).select_option("es")
    await expect(p.locator("html")).to_have_attribute("lang", "es")
    article = suggested.get_by_role("button", name=RECETAS)
    await expect(article).to_have_attribute("aria-expanded", "true")
    await expect(suggested.locator(".article-title")).to_have_attribute("lang", "es")
    await expect(suggested.locator(".article-text")).to_have_attribute("lang", "es")
    await expect(suggested).to_contain_text("Pídala al menos 3 días laborables")
    await expect(suggested).to_contain_text("Esto respondió a mi pregunta")
    help_link = p.locator("#self-help .help-link a")
    await expect(help_link).to_have_attribute("href", "/help?lang=es")

    # A Spanish search finds the Spanish article; the query stays in the body.
    await p.get_by_label("Buscar en los artículos de ayuda").fill("receta")
    await p.get_by_role("button", name="Buscar", exact=True).click()
    results = p.locator("#help-search-results")
    await expect(results.get_by_role("button", name=RECETAS)).to_be_visible()
    await expect(p.locator("#help-search-status")).to_have_text("Se encontró 1 artículo.")
    searches = [r for r in asked if "/api/v1/help/search" in r.url]
    assert [(r.method, r.url.split("?")[1]) for r in searches] == [("POST", "lang=es")]
    assert "receta" in (searches[0].post_data or "") and not any("receta" in r.url for r in asked)

    # The assistant answers in the page's language.
    await p.get_by_label("Su pregunta").fill("¿Cómo pido una cita?")
    await p.get_by_role("button", name="Preguntar al asistente").click()
    replies = p.locator("#assistant-replies")
    await expect(replies.get_by_role("button", name=CITAS)).to_be_visible()
    await expect(replies.locator(".article-title")).to_have_attribute("lang", "es")

    # Back to English: every list shows its articles in English again.
    await p.get_by_label("Idioma", exact=True).select_option("en")
    await expect(results.get_by_role("button", name="Repeat prescriptions")).to_be_visible()
    await expect(
        replies.get_by_role("button", name="Booking, changing or cancelling an appointment")
    ).to_be_visible()
    await expect(suggested).to_contain_text("Order at least 3 working days before you run out")
    await expect(help_link).to_have_attribute("href", "/help")
    patient.check()
