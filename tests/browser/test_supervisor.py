"""The admin console as a supervisor uses it: a message to the patients waiting in one
queue (and nobody else), the live dashboard's metrics, the charts of the last hours
(inline SVG with a table alternative), and a report downloaded as CSV."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from server.observability.reports import SESSION_COLUMNS
from signaling.client import AgentBot, PatientBot
from tests.browser.conftest import DESKTOP, Parties, axe_violations, screenshot
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

QUEUES = ("appointments", "pharmacy", "billing", "technical")


async def open_admin(parties: Parties, live_desk: LiveDesk) -> Page:
    admin = await parties.open(
        "/admin#token=" + live_desk.token("admin", name="Root"), viewport=DESKTOP
    )
    await expect(admin.page.locator("#live-badge")).to_have_text("Live", timeout=10_000)
    return admin.page


@pytest.mark.timeout(60)
async def test_a_staff_message_reaches_one_queue(parties: Parties, live_desk: LiveDesk) -> None:
    pages = {}
    for queue in ("appointments", "pharmacy"):
        party = await parties.open("/p#token=" + live_desk.invite(name="Ana", queue=queue))
        await expect(party.page.locator("#lobby-heading")).to_be_visible(timeout=10_000)
        await party.page.get_by_role("button", name="Join the queue").click()
        await expect(party.page.locator("#queue-position")).to_be_visible()
        pages[queue] = party.page
    a = await open_admin(parties, live_desk)
    texts = {
        "appointments": "Appointments: we are running 10 minutes late.",
        "pharmacy": "Pharmacy: thank you for waiting.",
    }
    # One message per queue, in order: each page shows its own and never the other.
    for queue, text in texts.items():
        await a.locator("#notice-queue").select_option(queue)
        await a.locator("#notice-text").fill(text)
        await a.get_by_role("button", name="Send to everyone waiting").click()
        await expect(a.locator("#notice-status")).to_have_text(
            f"Sent to everyone waiting in {queue}."
        )
        await expect(pages[queue].locator("#notice-list li")).to_have_count(1)
        await expect(pages[queue].locator("#notice-list")).to_contain_text(text)
    for queue, page in pages.items():
        await expect(page.locator("#notices")).to_be_visible()
        await expect(page.locator("#notice-list li")).to_have_count(1)
        await expect(page.locator("#notice-list")).to_contain_text(texts[queue])
        await expect(page.locator("#notice-announce")).to_contain_text(texts[queue])

    # An agent can message the queues they serve, from their console.
    agent = await parties.open(
        "/agent#token=" + live_desk.agent_token(name="Sam", queues=("appointments",)),
        viewport=DESKTOP,
    )
    g = agent.page
    await expect(g.locator("#staff-queue option")).to_have_text(["appointments"])
    await g.get_by_label("Message to the patients waiting").fill("Sam here: nearly there.")
    await g.get_by_role("button", name="Send to everyone waiting").click()
    await expect(g.locator("#staff-status")).to_have_text(
        "Sent to everyone waiting in appointments."
    )
    await expect(pages["appointments"].locator("#notice-list li")).to_have_count(2)
    await expect(pages["pharmacy"].locator("#notice-list li")).to_have_count(1)
    for party in parties.opened:
        party.check()


async def make_history(live_desk: LiveDesk) -> list[PatientBot | AgentBot]:
    """A rated call, a self-help resolution, a patient still waiting, and 40 minutes of
    waiting-count samples (the ticker records one a minute)."""
    url = live_desk.url
    caller = PatientBot(url, live_desk.invite(name="Ana"), media=False)
    helped = PatientBot(url, live_desk.invite(name="Ben"), media=False)
    waiting = PatientBot(url, live_desk.invite(name="Cy"), media=False)
    agent = AgentBot(url, live_desk.agent_token(name="Sam"), media=False)
    bots: list[PatientBot | AgentBot] = [caller, helped, waiting, agent]
    for bot in bots:
        await bot.connect()
    await caller.join("Ana")
    await agent.available()
    await agent.accept(await agent.next("agent.offer"))
    await agent.next("call.started")
    await caller.next("call.started")
    # A handle time of a second or more, on the desk's clock (no waiting in real time).
    await live_desk.desk.engine.skew_clock(1_200)
    await agent.request("agent.end", "call.ended")
    await agent.request("agent.wrapup", "agent.state", outcome="resolved", next="away")
    await caller.request("survey.submit", "survey.thanks", rating=4)
    await helped.join("Ben", reason="repeat prescription")
    await helped.request("help.resolved", "queue.state", slug="repeat-prescriptions")
    await waiting.join("Cy")

    redis, keys = live_desk.desk.engine.redis, live_desk.desk.keys
    minute = int(time.time() * 1000) // 60_000
    for back in range(40, 0, -1):
        fields = {"at": (minute - back) * 60_000, **{f"q:{q}": 0 for q in QUEUES}}
        fields["q:appointments"] = back % 6
        fields["q:pharmacy"] = (back // 10) % 3
        await redis.xadd(keys.samples, fields)  # type: ignore[arg-type]
    return bots


@pytest.mark.timeout(60)
async def test_dashboard_charts_and_report(
    parties: Parties, live_desk: LiveDesk, axe_source: str
) -> None:
    bots = await make_history(live_desk)
    try:
        a = await open_admin(parties, live_desk)
        cells = a.locator('#dashboard-queues tr[data-queue="appointments"] td')
        # Waiting, oldest, agents (available, offered, in call, wrap-up, away), service
        # level, target, abandoned, self-help, average handle, CSAT.
        await expect(cells.nth(0)).to_have_text("1")
        await expect(cells.nth(6)).to_have_text("1")  # Sam is away
        await expect(cells.nth(7)).to_have_text("100%")
        await expect(cells.nth(8)).to_have_text("2:00")
        await expect(cells.nth(9)).to_have_text("0%")
        await expect(cells.nth(10)).to_have_text("1")
        await expect(cells.nth(11)).to_have_text(re.compile(r"^0:0[1-3]$"))
        await expect(cells.nth(12)).to_have_text("4.00")

        # The waiting count over time: a line per queue, named and described.
        line = a.locator("#waiting-chart svg")
        await expect(line).to_have_attribute("role", "img")
        await expect(line).to_have_accessible_name(re.compile("Patients waiting per queue"))
        await expect(line).to_have_accessible_description(re.compile("Most at once: 5"))
        points = a.locator('#waiting-chart [data-series="appointments"] polyline')
        assert len((await points.get_attribute("points") or "").split()) >= 40
        await expect(a.locator("#waiting-legend li")).to_have_count(len(QUEUES))
        # The wait distribution: a bar per bucket, the call in the first.
        bars = a.locator("#waits-chart rect")
        await expect(bars).to_have_count(8)
        await expect(bars.first).to_have_attribute("data-value", "1")
        await expect(a.locator("#waits-chart svg")).to_have_accessible_name(
            re.compile("How long answered patients waited")
        )
        # Their text alternatives.
        await a.locator("#waits-chart ~ details summary").click()
        first_bucket = a.locator("#waits-table tbody tr").first
        await expect(first_bucket.locator("th")).to_have_text("up to 30 s")
        await expect(first_bucket.locator("td").last).to_have_text("1")  # all queues
        await a.locator("#waiting-legend ~ details summary").click()
        await expect(a.locator("#waiting-table tbody tr")).not_to_have_count(0)
        # How the last day's estimates held up: the call was answered while the patient
        # was told nobody was answering (no range), so there is nothing to judge yet.
        await expect(a.locator("#accuracy-table")).to_have_text(
            "No answered call with an estimate in the last 24 hours yet."
        )
        await a.locator("#history-heading").scroll_into_view_if_needed()
        await screenshot(a, "admin-dashboard-charts", full_page=True)
        assert await axe_violations(a, axe_source) == []

        # A report for the last week, as CSV: fetched with the bearer token, saved.
        async with a.expect_download() as info:
            await a.get_by_role("button", name="Download the report").click()
        download = await info.value
        assert re.fullmatch(
            r"videodesk-sessions-\d{4}-\d\d-\d\d-to-\d{4}-\d\d-\d\d\.csv",
            download.suggested_filename,
        )
        lines = Path(await download.path()).read_text("utf-8").splitlines()
        assert lines[0] == ",".join(SESSION_COLUMNS)
        assert len(lines) >= 2
        await expect(a.locator("#report-status")).to_contain_text("Downloaded")
        for party in parties.opened:
            party.check()
    finally:
        for bot in bots:
            await bot.close()
