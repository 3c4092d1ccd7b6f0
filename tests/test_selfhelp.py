"""Self-help articles in English and Spanish, their search, and the assistant (which never
gives medical advice and never answers an emergency with an article)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from server.selfhelp.articles import ArticleError, load_articles, parse_article
from server.selfhelp.assistant import answer, asks_medical_advice, is_emergency
from server.selfhelp.language import spanish_singular
from server.selfhelp.search import ArticleIndex, words
from signaling.client import PatientBot
from tests.support.desks import LiveDesk

INDEX = ArticleIndex(load_articles())
BUILT_IN = {
    "booking-an-appointment",
    "repeat-prescriptions",
    "bills-and-payments",
    "test-results",
    "video-call-help",
}
Client = TestClient[web.Request, web.Application]


def test_the_sample_set_ships() -> None:
    assert {a.slug for a in INDEX.articles()} >= BUILT_IN
    for article in INDEX.articles():
        assert article.lang == "en"
        assert article.title and article.summary and "<h2>" in article.html


def test_the_sample_set_ships_in_spanish_too() -> None:
    spanish = {a.slug: a for a in INDEX.articles("es")}
    assert set(spanish) >= BUILT_IN
    for slug in BUILT_IN:
        article, english = spanish[slug], INDEX.get(slug)
        assert english is not None and article.lang == "es"
        assert article.title != english.title and article.summary != english.summary
        shared = set(article.keywords) & set(english.keywords)  # "audio", "internet"
        assert len(article.keywords) >= 8 and len(shared) <= 2, shared
        assert article.html.count("<h2>") == english.html.count("<h2>")
    assert spanish["repeat-prescriptions"].title == "Renovar una receta"
    assert "receta" in spanish["repeat-prescriptions"].keywords


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


def test_search_ranks_the_right_article_first() -> None:  # in English, as before
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
    # Spanish words do not reach the English articles: an English search is English only.
    assert INDEX.search("receta") == [] and INDEX.search("receta", "en") == []


def test_spanish_search_finds_spanish_articles() -> None:
    cases = {
        "receta": "repeat-prescriptions",
        "¿Cómo renuevo mis RECETAS?": "repeat-prescriptions",
        "Quiero cambiar mi cita para otro día": "booking-an-appointment",
        "quiero pagar la factura a plazos": "bills-and-payments",
        "¿cuándo estarán mis análisis de sangre?": "test-results",
        "la cámara no funciona y no me oyen": "video-call-help",
    }
    for question, slug in cases.items():
        first = INDEX.search(question, "es")[0].article
        assert (first.slug, first.lang) == (slug, "es"), question
    assert INDEX.search("¿cuál es el sentido de la vida?", "es") == []


def test_a_spanish_reader_finds_articles_by_english_words_too() -> None:
    """An invite's reason is typed by staff, often in English: the reader still gets the
    article, in Spanish."""
    hit = INDEX.search("repeat prescription", "es")[0]
    assert (hit.article.slug, hit.article.lang) == ("repeat-prescriptions", "es")
    slugs = [h.article.slug for h in INDEX.search("receta repeat prescription", "es")]
    assert slugs.count("repeat-prescriptions") == 1  # found in both languages, listed once


def test_words_by_language() -> None:
    # Plurals: -s after a vowel, -es after a consonant, z→c; clusters keep their e.
    for plural, singular in {
        "recetas": "receta",
        "citas": "cita",
        "pacientes": "paciente",
        "doctores": "doctor",
        "hospitales": "hospital",
        "imagenes": "imagen",
        "veces": "vez",
        "nombres": "nombre",
        "disponibles": "disponible",
        "mensajes": "mensaje",
        "dulces": "dulce",
        "receta": "receta",
        "mes": "mes",
    }.items():
        assert spanish_singular(plural) == singular, plural
    assert words("¿Cuándo están mis RESULTADOS?", "es") == ["resultado"]
    assert words("Mis análisis y las citas de mañana", "es") == ["analisi", "cita", "manana"]
    # Spanish stopwords stay out of English ("son", "sin", "era" are English words).
    assert words("my son sin era", "en") == ["son", "sin", "era"]
    assert words("my son sin era", "es") == ["my"]
    assert words("the prescriptions", "en") == ["prescription"]


def test_an_article_missing_in_a_language_falls_back_to_english(tmp_path: Path) -> None:
    (tmp_path / "es").mkdir()
    (tmp_path / "images").mkdir()  # not a language: ignored
    (tmp_path / "parking.md").write_text("---\ntitle: Parking\nkeywords: car\n---\n## Cars\n")
    (tmp_path / "visits.md").write_text("---\ntitle: Visiting hours\n---\n## Hours\n")
    (tmp_path / "es" / "visits.md").write_text("---\ntitle: Horario de visitas\n---\n## Horas\n")
    (tmp_path / "es" / "wifi.md").write_text("---\ntitle: Wifi\nkeywords: internet\n---\nSí.\n")
    index = ArticleIndex(load_articles(tmp_path))
    shown = {a.slug: (a.title, a.lang) for a in index.articles("es")}
    assert shown == {
        "parking": ("Parking", "en"),
        "visits": ("Horario de visitas", "es"),
        "wifi": ("Wifi", "es"),
    }
    assert [a.slug for a in index.articles("en")] == ["parking", "visits"]
    parking = index.get("parking", "es")
    assert parking is not None and parking.lang == "en"
    assert index.get("wifi", "en") is None and index.known("wifi")
    assert [h.article.lang for h in index.search("car", "es")] == ["en"]
    assert index.search("internet") == []  # a Spanish-only article: not for English readers
    assert [h.article.slug for h in index.search("internet", "es")] == ["wifi"]


def test_a_folder_for_a_language_the_pages_do_not_speak_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "visits.md").write_text("Bonjour\n")
    with pytest.raises(ArticleError, match="fr/"):
        load_articles(tmp_path)


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
        message = reply.message()
        assert message.automated is True and message.human_queue is True


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
    assert reply.articles[0]["lang"] == "en"
    assert answer(INDEX, "what is the meaning of life").kind == "unknown"
    assert not is_emergency("I want to book an appointment")


def test_the_assistant_answers_in_the_patients_language() -> None:
    reply = answer(INDEX, "¿Cómo pido una cita nueva?", "es")
    assert reply.kind == "answer"
    assert reply.articles[0] == {
        "slug": "booking-an-appointment",
        "title": "Pedir, cambiar o anular una cita",
        "summary": "Cómo pedir una cita nueva, pasarla a otro día o anular una a la que no "
        "puede ir.",
        "lang": "es",
    }
    for question in EMERGENCIES:
        assert answer(INDEX, question, "es") == answer(INDEX, question, "en")
        assert answer(INDEX, question, "es").kind == "emergency"
    assert answer(INDEX, "¿Puedo tomar dos pastillas?", "es").kind == "medical"


async def test_the_api_serves_each_language(client: Client) -> None:
    response = await client.get("/api/v1/help/articles", params={"lang": "es"})
    assert response.status == 200
    titles = {a["slug"]: (a["title"], a["lang"]) for a in (await response.json())["articles"]}
    assert titles["repeat-prescriptions"] == ("Renovar una receta", "es")
    english = await (await client.get("/api/v1/help/articles")).json()
    assert {a["lang"] for a in english["articles"]} == {"en"}

    response = await client.get("/api/v1/help/articles/test-results?lang=es")
    article = await response.json()
    assert article["lang"] == "es" and "<h2>¿Cuándo estarán listos" in article["html"]
    response = await client.get("/api/v1/help/articles/no-such-article?lang=es")
    assert response.status == 404 and (await response.json())["error"] == "unknown_article"

    response = await client.post("/api/v1/help/search?lang=es", json={"q": "receta"})
    found = (await response.json())["articles"]
    assert response.status == 200 and found[0]["slug"] == "repeat-prescriptions"
    assert found[0]["title"] == "Renovar una receta" and found[0]["lang"] == "es"
    response = await client.post("/api/v1/help/search", json={"q": "receta"})
    assert (await response.json())["articles"] == []
    response = await client.post("/api/v1/help/search", json={"q": "repeat prescription"})
    found = (await response.json())["articles"]
    assert found[0]["title"] == "Repeat prescriptions" and found[0]["lang"] == "en"


@pytest.mark.parametrize(
    "query", ["lang=fr", "lang=", "lang=ES", "lang=es&lang=en", "lang=es-ES", "lang=%00"]
)
async def test_an_unknown_language_is_refused(client: Client, query: str) -> None:
    for method, path in (
        ("GET", "/api/v1/help/articles"),
        ("GET", "/api/v1/help/articles/test-results"),
        ("POST", "/api/v1/help/search"),
        ("GET", "/help"),
        ("GET", "/help/test-results"),
    ):
        body = {"q": "receta"} if method == "POST" else None
        response = await client.request(method, f"{path}?{query}", json=body)
        assert response.status == 400, (path, query)
        assert await response.json() == {
            "error": "unknown_language",
            "message": "lang must be one of en, es",
        }


async def test_the_help_pages_in_spanish(client: Client) -> None:
    page = await (await client.get("/help?lang=es")).text()
    assert 'data-help-language="es"' in page
    assert '<li lang="es"><a href="/help/repeat-prescriptions?lang=es">Renovar una receta</a>' in (
        page
    )
    page = await (await client.get("/help/repeat-prescriptions?lang=es")).text()
    assert '<article class="article-content" lang="es"' in page
    assert '<h1 id="article-title">Renovar una receta</h1>' in page
    assert 'href="/help?lang=es"' in page and "help.untranslated" not in page
    page = await (await client.get("/help/repeat-prescriptions")).text()
    assert '<article class="article-content" lang="en"' in page
    assert 'href="/help"' in page and 'data-help-language="en"' in page
    response = await client.get("/help/no-such-article?lang=es")
    assert response.status == 404 and 'href="/help?lang=es"' in await response.text()


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
        assert reply["articles"][0]["lang"] == "en"
        reply = await patient.request(
            "assistant.ask", "assistant.reply", text="¿Cuándo estará mi receta?", language="es"
        )
        assert reply["articles"][0]["title"] == "Renovar una receta"
        # A language the articles are not in: the patient's (English here).
        reply = await patient.request(
            "assistant.ask", "assistant.reply", text="prescription", language="fr"
        )
        assert reply["articles"][0]["title"] == "Repeat prescriptions"
        await patient.send("help.resolved", slug="repeat-prescriptions")
        await patient.next("queue.state", state="left")
        stats = await live_desk.desk.engine.redis.hgetall(live_desk.desk.keys.stats("pharmacy"))
        assert stats["self_help"] == "1"
    finally:
        await patient.close()


async def test_a_spanish_patient_gets_spanish_suggestions(live_desk: LiveDesk) -> None:
    """The suggestions come in the language the patient joined with (the queue serving
    it), whichever language the reason is in; the assistant follows the page."""
    patient = PatientBot(live_desk.url, live_desk.invite(queue="pharmacy"), media=False)
    try:
        await patient.connect()
        await patient.join(name="Ana", reason="Mi receta no ha llegado", language="es")
        suggestions = await patient.next("help.suggestions")
        first = suggestions["articles"][0]
        assert (first["slug"], first["lang"]) == ("repeat-prescriptions", "es")
        reply = await patient.request("assistant.ask", "assistant.reply", text="bill")
        assert reply["articles"][0]["title"] == "Facturas, pagos y devoluciones"
        reply = await patient.request(
            "assistant.ask", "assistant.reply", text="bill", language="en"
        )
        assert reply["articles"][0]["title"] == "Bills, payments and refunds"
    finally:
        await patient.close()
