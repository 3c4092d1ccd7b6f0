"""Self-help in the waiting room: articles matching the reason open in place, a search
that keeps the query out of URLs, "this answered my question" leaves the queue (and the
desk counts it); the automated assistant answers by kind, never with an article for an
emergency, and always offers the human queue."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, Request, expect

from tests.browser.conftest import Parties
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

SEARCH = "how can I pay my bill"


async def join(page: Page) -> None:
    await expect(page.locator("#lobby-heading")).to_be_visible(timeout=10_000)
    await page.get_by_role("button", name="Join the queue").click()
    await expect(page.locator("#queue-position")).to_have_text("You're next in the queue.")


@pytest.mark.timeout(60)
async def test_an_article_answers_the_question(parties: Parties, live_desk: LiveDesk) -> None:
    patient = await parties.open(
        "/p#token=" + live_desk.invite(name="Ana", reason="my repeat prescription")
    )
    p = patient.page
    requests: list[Request] = []

    def record(request: Request) -> None:
        requests.append(request)

    p.on("request", record)
    await join(p)

    # The desk suggests the article matching the reason (again after a refresh); it
    # opens in place.
    suggested = p.locator("#self-help-articles")
    article = suggested.get_by_role("button", name="Repeat prescriptions")
    await expect(article).to_be_visible()
    await p.reload()
    await expect(p.locator("#queue-position")).to_have_text("You're next in the queue.")
    await expect(article).to_have_attribute("aria-expanded", "false")
    await article.focus()
    await p.keyboard.press("Enter")  # from the keyboard
    await expect(article).to_have_attribute("aria-expanded", "true")
    await expect(suggested).to_contain_text("Order at least 3 working days before you run out")
    # Its headings sit under the panel's (h2 → article title h3 → its sections h4).
    await expect(suggested.locator(".article-text h4").first).to_be_visible()

    # A search: the query travels in a POST body, never in a URL.
    await p.get_by_label("Search the help articles").fill(SEARCH)
    await p.get_by_role("button", name="Search", exact=True).click()
    results = p.locator("#help-search-results")
    await expect(results.get_by_role("button", name="Bills, payments and refunds")).to_be_visible()
    await expect(p.locator("#help-search-status")).to_contain_text("found")
    searches = [r for r in requests if r.url.endswith("/api/v1/help/search?lang=en")]
    assert [r.method for r in searches] == ["POST"]
    assert SEARCH in (searches[0].post_data or "")
    assert not any("pay" in r.url for r in requests)
    await expect(
        p.get_by_role("link", name="All help articles (opens in a new tab)")
    ).to_have_attribute("href", "/help")

    # "This answered my question", confirmed: the patient leaves, thanked.
    await suggested.get_by_role("button", name="This answered my question").click()
    await suggested.get_by_role("button", name="Yes, leave the queue").click()
    await expect(p.locator("#resolved-heading")).to_have_text("We're glad that helped")
    await expect(p.locator("#resolved-heading")).to_be_focused()
    stats = await live_desk.desk.engine.redis.hgetall(live_desk.desk.keys.stats("appointments"))
    assert stats["self_help"] == "1"

    # …with a way back into the queue.
    await p.get_by_role("button", name="I still need help: join the queue again").click()
    await expect(p.locator("#queue-position")).to_have_text("You're next in the queue.")
    patient.check()


@pytest.mark.timeout(60)
async def test_the_assistant_answers_by_kind(parties: Parties, live_desk: LiveDesk) -> None:
    patient = await parties.open("/p#token=" + live_desk.invite(name="Ben"))
    p = patient.page
    await join(p)
    assistant = p.locator("#assistant")
    await expect(assistant).to_contain_text("This is an automated assistant, not a person.")
    await expect(assistant).to_contain_text("cannot give medical advice")
    replies = p.locator("#assistant-replies")
    question = assistant.get_by_label("Your question")
    ask = assistant.get_by_role("button", name="Ask the assistant")

    # An emergency: the emergency message, read at once, and no article.
    await question.fill("I have chest pain")
    await ask.click()
    emergency = replies.get_by_role("alert")
    await expect(emergency).to_contain_text(
        "If this is an emergency, call your local emergency number now."
    )
    await expect(emergency).to_contain_text("999")
    await expect(replies.locator(".article")).to_have_count(0)
    await expect(replies.get_by_role("link")).to_have_count(0)
    # The human queue is offered with every reply: here, the place the patient holds.
    await expect(replies).to_contain_text("You are still in the queue, and you're next")

    # A question the articles answer: the articles, opening in place.
    await question.fill("How do I book an appointment?")
    await ask.click()
    await expect(replies).to_contain_text("these articles may help")
    booking = replies.get_by_role("button", name="Booking, changing or cancelling an appointment")
    await booking.click()
    await expect(replies).to_contain_text("Book a new appointment")
    await expect(replies.get_by_role("alert")).to_have_count(0)
    await expect(p.locator("#assistant-announce")).to_contain_text("these articles may help")
    await expect(replies).to_contain_text("You are still in the queue, and you're next")
    await expect(
        replies.get_by_role("button", name="Talk to a person: join the queue")
    ).to_be_hidden()

    # Medical advice: never given; a person can help.
    await question.fill("Should I take two tablets instead of one?")
    await ask.click()
    await expect(replies).to_contain_text("I can't give medical advice")
    await expect(replies.locator(".article")).to_have_count(0)
    await expect(replies).to_contain_text("You are still in the queue")
    patient.check()
