"""The staff consoles in Spanish (issue 16, item 15), the agent's call layout (item 13)
and the chart's time axis scaled to its data (item 14).

The agent and admin consoles read the staff catalogue (web/static/i18n/staff/), chosen
from the browser's languages and switchable in the header; both are axe-clean in each
language. In a call the patient's video comes first: beside the context and chat on a
wide screen, above them on a phone; the status control sits in the page header. A desk
with twenty minutes of samples gets a twenty-minute axis, not six hours.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, Parties, axe_violations, screenshot
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

CATALOGUES = Path(__file__).resolve().parents[2] / "web" / "static" / "i18n" / "staff"
QUEUES = ("appointments", "pharmacy", "billing", "technical")


def catalogue(language: str) -> dict[str, str]:
    messages: dict[str, str] = json.loads((CATALOGUES / f"{language}.json").read_text("utf-8"))
    return messages


async def audit(page: Page, axe_source: str, name: str) -> None:
    await screenshot(page, name, full_page=True)
    violations = await axe_violations(page, axe_source)
    assert violations == [], f"{name}: axe violations {json.dumps(violations, indent=1)}"


async def box(page: Page, selector: str) -> dict[str, float]:
    found = await page.locator(selector).bounding_box()
    assert found is not None, f"{selector} has no box"
    return {"x": found["x"], "y": found["y"], "width": found["width"], "height": found["height"]}


async def test_staff_catalogues_have_the_same_keys() -> None:
    english, spanish = catalogue("en"), catalogue("es")
    assert english.keys() == spanish.keys()
    for key, text in english.items():
        assert re.findall(r"\{\w+\}", text) == re.findall(r"\{\w+\}", spanish[key]), key


@pytest.mark.timeout(90)
async def test_agent_console_in_spanish_with_the_video_first(
    parties: Parties, live_desk: LiveDesk, axe_source: str
) -> None:
    es, en = catalogue("es"), catalogue("en")
    agent = await parties.open(
        "/agent#token=" + live_desk.agent_token(name="Sam"), viewport=DESKTOP, locale="es-ES"
    )
    g = agent.page
    await expect(g.locator("#console-heading")).to_have_text(es["agent.heading"])
    await expect(g.locator("html")).to_have_attribute("lang", "es")
    # Signed in: away until they choose to be available.
    await expect(g.locator("#agent-badge")).to_have_text(es["agent.state.away"])
    await g.get_by_role("button", name=es["agent.status.available"], exact=True).click()
    await expect(g.locator("#agent-badge")).to_have_text(es["agent.state.available"])
    await expect(g.locator("#queues-heading")).to_have_text(es["agent.queues.heading"])
    await expect(g.get_by_role("button", name=es["staff.send"])).to_be_visible()
    await audit(g, axe_source, "agent-console-es")

    # The switch in the header: English at once, remembered on this tab.
    await g.get_by_label(es["language.label"], exact=True).select_option("en")
    await expect(g.locator("html")).to_have_attribute("lang", "en")
    await expect(g.locator("#agent-badge")).to_have_text("Available")
    await expect(g.locator("#console-heading")).to_have_text("Agent console")
    await audit(g, axe_source, "agent-console-en")
    await g.reload()
    await expect(g.locator("#console-heading")).to_have_text("Agent console")
    await g.get_by_label(en["language.label"], exact=True).select_option("es")
    # (A reload may leave the agent away: the badge says so in Spanish.)
    states = "|".join(es[f"agent.state.{s}"] for s in ("offline", "away", "available"))
    await expect(g.locator("#agent-badge")).to_have_text(re.compile(f"^({states})$"))
    await g.get_by_role("button", name=es["agent.status.available"], exact=True).click()

    patient = await parties.open("/p#token=" + live_desk.invite(name="Ana"))
    p = patient.page
    await expect(p.locator("#lobby-heading")).to_be_visible(timeout=10_000)
    await p.get_by_role("button", name="Join the queue").click()
    await expect(g.locator("#offer-heading")).to_have_text(
        es["agent.offer.heading"], timeout=10_000
    )
    await g.get_by_role("button", name=es["agent.offer.accept"]).click()
    await expect(g.locator("#call-heading")).to_have_text("En llamada con Ana", timeout=10_000)
    await expect(g.locator("#agent-badge")).to_have_text(es["agent.state.in_call"])
    await expect(g.locator("#context-heading")).to_have_text(es["agent.context.heading"])
    await expect(g.locator("#call-context")).to_contain_text(es["agent.context.name"])

    # Wide: the video is left of the context and the chat; the status is in the header.
    header = await box(g, ".site-header")
    for selector in ("#status-control", "#agent-badge", "#away-reason"):
        inner = await box(g, selector)
        assert (
            header["y"] <= inner["y"]
            and inner["y"] + inner["height"] <= header["y"] + header["height"]
        ), selector
    assert await g.locator(".site-header #status-control").count() == 1
    video = await box(g, "#remote-video")
    assert video["width"] >= 600, video
    for selector in ("#call-context", "#chat-log"):
        beside = await box(g, selector)
        assert video["x"] + video["width"] <= beside["x"], (selector, video, beside)
        assert beside["y"] < video["y"] + video["height"], (selector, video, beside)
    await screenshot(g, "agent-call-1280x800-es")

    # Narrow: the video first, the context and the chat under it.
    await g.set_viewport_size({"width": PHONE["width"], "height": PHONE["height"]})
    video = await box(g, "#remote-video")
    for selector in ("#call-context", "#chat-log", "#queue-list"):
        below = await box(g, selector)
        assert video["y"] + video["height"] <= below["y"], (selector, video, below)
    assert (await box(g, "#chat-log"))["y"] < (await box(g, "#queue-list"))["y"]
    await screenshot(g, "agent-call-360x640-es")
    await audit(g, axe_source, "agent-call-es")
    for party in parties.opened:
        party.check()


async def recent_samples(live_desk: LiveDesk, minutes: int) -> None:
    """Waiting-count samples for the last `minutes` only (a desk started just now)."""
    redis, keys = live_desk.desk.engine.redis, live_desk.desk.keys
    minute = int(time.time() * 1000) // 60_000
    for back in range(minutes, 0, -1):
        fields = {"at": (minute - back) * 60_000, **{f"q:{q}": 0 for q in QUEUES}}
        fields["q:appointments"] = back % 4
        await redis.xadd(keys.samples, fields)  # type: ignore[arg-type]


def tick_minutes(labels: list[str]) -> list[int]:
    minutes = []
    for label in labels:
        match = re.search(r"(\d{1,2}):(\d{2})", label)
        assert match, label
        minutes.append(int(match[1]) * 60 + int(match[2]))
    return minutes


@pytest.mark.timeout(60)
async def test_admin_console_in_spanish_and_the_chart_fits_its_data(
    parties: Parties, live_desk: LiveDesk, axe_source: str
) -> None:
    es = catalogue("es")
    await recent_samples(live_desk, 20)
    admin = await parties.open(
        "/admin#token=" + live_desk.token("admin", name="Root"), viewport=DESKTOP, locale="es-ES"
    )
    a = admin.page
    await expect(a.locator("#live-badge")).to_have_text(es["admin.live.live"], timeout=10_000)
    await expect(a.locator("html")).to_have_attribute("lang", "es")
    await expect(a.locator("#dashboard-heading")).to_have_text(es["admin.dashboard.heading"])
    await expect(a.locator("#dashboard-queues thead th").nth(1)).to_have_text(
        es["admin.queues.waiting"]
    )
    await expect(a.get_by_role("button", name=es["admin.agent_link.create"])).to_be_visible()
    await expect(a.locator("#dashboard-updated")).to_contain_text("Actualizado a las")

    # Twenty minutes of data: the heading, the caption and the axis say twenty minutes.
    heading = a.locator("#history-heading")
    await expect(heading).to_have_text(re.compile(r"^Los últimos 2[01] minutos$"))
    await expect(a.locator("#waiting-chart-caption")).to_contain_text("últimos 2")
    labels = await a.locator("#waiting-chart .chart-time text").all_text_contents()
    ticks = tick_minutes(labels)
    spread = (ticks[-1] - ticks[0]) % (24 * 60)
    assert len(ticks) >= 3 and spread <= 25, labels
    # The fourteen-column queue table fits a laptop's width in Spanish too (no scrolling).
    overflow = await a.evaluate(
        "() => { const w = document.querySelector('#dashboard-queues').parentElement;"
        " return w.scrollWidth - w.clientWidth; }"
    )
    assert overflow <= 0, f"the queue table is {overflow} px wider than its box"
    await audit(a, axe_source, "admin-console-es")

    await a.get_by_label(es["language.label"], exact=True).select_option("en")
    await expect(a.locator("#live-badge")).to_have_text("Live")
    await expect(a.locator("#dashboard-heading")).to_have_text("Live dashboard")
    await expect(heading).to_have_text(re.compile(r"^The last 2[01] minutes$"))
    # Text written from code follows the switch too: the count of issued links.
    await expect(a.locator("#tokens-status")).to_have_text(re.compile(r"^\d+ links?\.$"))
    await audit(a, axe_source, "admin-console-en")
    for party in parties.opened:
        party.check()
