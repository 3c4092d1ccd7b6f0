"""Self-help articles, their search, and the assistant (which never gives medical advice and
never answers an emergency with an article)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from server.selfhelp.articles import load_articles, parse_article
from server.selfhelp.assistant import answer, asks_medical_advice, is_emergency
from server.selfhelp.search import ArticleIndex
from signaling.client import PatientBot
from tests.support.desks import LiveDesk

INDEX = ArticleIndex(load_articles())


def test_the_sample_set_ships() -> None:
    slugs = {a.slug for a in INDEX.articles}
    assert {
        "booking-an-appointment",
        "repeat-prescriptions",
        "bills-and-payments",
        "test-results",
        "video-call-help",
    } <= slugs
    for article in INDEX.articles:
        assert article.title and article.summary and "<h2>" in article.html


def test_articles_are_rendered_safely() -> None:
    article = parse_article(
        "evil",
        "---\ntitle: Evil\n---\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
        "[click](javascript:alert(1)) [ok](https://example.org)\n",
    )
    assert "<script>" not in article.html and "<img" not in article.html
    assert "&lt;script&gt;" in article.html
    assert 'href="javascript' not in article.html
    assert 'href="https://example.org"' in article.html


def test_search_ranks_the_right_article_first() -> None:
    cases = {
        "I need to order my repeat prescription": "repeat-prescriptions",
        "how do I get a refund for my bill": "bills-and-payments",
        "reschedule my appointment to another day": "booking-an-appointment",
        "are my blood test results ready": "test-results",
        "the camera does not work, they cannot hear me": "video-call-help",
        "Quiero cambiar mi cita appointment": "booking-an-appointment",
    }
    for question, slug in cases.items():
        assert INDEX.search(question)[0].article.slug == slug, question
    assert INDEX.search("zebra crossing") == []


EMERGENCIES = [
    "I have chest pain and my arm hurts, where is the prescription article?",
    "my husband can't breathe",
    "She is unconscious after taking too many pills, overdose",
    "I want to kill myself",
    "tengo dolor en el pecho",
    "No puedo respirar bien",
    "Is this an emergency? call 999?",
    "signs of a stroke, face drooping - appointment",
    "bleeding heavily after my test results appointment",
]


def test_an_emergency_question_is_never_answered_with_an_article() -> None:
    for question in EMERGENCIES:
        reply = answer(INDEX, question)
        assert reply.kind == "emergency", question
        assert reply.articles == []
        assert reply.message()["automated"] is True and reply.message()["human_queue"] is True


@settings(max_examples=200)
@given(st.text(max_size=80), st.sampled_from(EMERGENCIES), st.text(max_size=80))
def test_an_emergency_anywhere_in_a_question_wins(before: str, emergency: str, after: str) -> None:
    assert answer(INDEX, f"{before} {emergency} {after}").kind == "emergency"


def test_medical_advice_is_declined() -> None:
    for question in (
        "how many mg of paracetamol should I take",
        "Should I stop taking my tablets?",
        "is it safe to take ibuprofen with my prescription",
        "what are the side effects of amoxicillin",
        "¿Puedo tomar dos pastillas?",
    ):
        assert asks_medical_advice(question), question
        assert answer(INDEX, question).kind == "medical"


def test_plain_questions_get_articles_and_the_queue() -> None:
    reply = answer(INDEX, "when will my prescription be ready to collect")
    assert reply.kind == "answer" and reply.articles[0]["slug"] == "repeat-prescriptions"
    assert answer(INDEX, "what is the meaning of life").kind == "unknown"
    assert not is_emergency("I want to book an appointment")


async def test_waiting_room_suggestions_and_resolution(live_desk: LiveDesk) -> None:
    patient = PatientBot(live_desk.url, live_desk.invite(queue="pharmacy"), media=False)
    try:
        await patient.connect()
        await patient.join(name="Ana", reason="My repeat prescription has not arrived")
        suggestions = await patient.next("help.suggestions")
        assert suggestions["articles"][0]["slug"] == "repeat-prescriptions"
        reply = await patient.request("assistant.ask", "assistant.reply", text="I can't breathe")
        assert reply["kind"] == "emergency" and reply["articles"] == []
        reply = await patient.request(
            "assistant.ask", "assistant.reply", text="how long does a prescription take"
        )
        assert reply["kind"] == "answer" and reply["automated"] is True
        await patient.send("help.resolved", slug="repeat-prescriptions")
        await patient.next("queue.state", state="left")
        stats = await live_desk.desk.engine.redis.hgetall(live_desk.desk.keys.stats("pharmacy"))
        assert stats["self_help"] == "1"
    finally:
        await patient.close()
