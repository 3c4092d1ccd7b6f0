"""A supervisor in Chromium: from the console's live view they monitor a call (they
decode both parties' video; their page sends no RTP; neither page shows them), whisper
(the agent's page receives their audio, the patient's does not), barge (a visible party
the patient decodes), and stop. Every start, change and stop is in the audit table.
Screenshots of the supervisor's view (desktop and 360×640) go to .test-artifacts/."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from server.records import tables
from server.records.service import RECORDS
from tests.browser.conftest import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    Parties,
    axe_violations,
    eventually,
    screenshot,
)
from tests.browser.test_call_controls import start_call
from tests.support.desks import LiveDesk
from tests.support.records import recorded

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# Per connection of the page (by the other party's handle): video frames decoded, audio
# packets received, and RTP packets sent.
PAIR_STATS_JS = """async () => {
  const pcs = globalThis.videodesk ? globalThis.videodesk.peerConnections() : {};
  const out = {};
  for (const [handle, pc] of Object.entries(pcs)) {
    const s = { frames: 0, audio: 0, sent: 0 };
    (await pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") s.frames += r.framesDecoded || 0;
      if (r.type === "inbound-rtp" && r.kind === "audio") s.audio += r.packetsReceived || 0;
      if (r.type === "outbound-rtp") s.sent += r.packetsSent || 0;
    });
    out[handle] = s;
  }
  return out;
}"""


async def pair_stats(page: Page) -> dict[str, dict[str, int]]:
    stats: dict[str, dict[str, int]] = await page.evaluate(PAIR_STATS_JS)
    return stats


async def rising(page: Page, handle: str, figure: str, who: str) -> dict[str, Any]:
    """``figure`` (frames or audio) on the connection to ``handle`` grows past zero, then on."""
    first = await eventually(
        lambda: pair_stats(page),
        lambda s: handle in s and s[handle][figure] > 0,
        f"{who}: {figure} from {handle}",
        timeout=30,
    )
    later: dict[str, Any] = await eventually(
        lambda: pair_stats(page),
        lambda s: s[handle][figure] >= first[handle][figure] + 10,
        f"{who}: {figure} from {handle} rising",
        timeout=15,
    )
    return later


async def audit_rows(live_desk: LiveDesk) -> list[tuple[str, dict[str, str]]]:
    await recorded(live_desk.app)
    async with live_desk.app[RECORDS].engine.connect() as conn:
        rows = (await conn.execute(
            select(tables.audit.c.action, tables.audit.c.details)
            .where(tables.audit.c.action.like("supervisor_%"))
            .order_by(tables.audit.c.id)
        )).all()  # fmt: skip
    return [(a, json.loads(d) if isinstance(d, str) else d) for a, d in rows]


@pytest.mark.timeout(150)
async def test_a_supervisor_monitors_whispers_barges_and_stops(
    parties: Parties, live_desk: LiveDesk, axe_source: str
) -> None:
    patient, agent = await start_call(parties, live_desk)
    p, g = patient.page, agent.page
    admin = await parties.open(
        "/admin#token=" + live_desk.token("admin", name="Rosa"), viewport=DESKTOP
    )
    s = admin.page
    await expect(s.locator("#watch-call option")).to_have_text(
        ["Sam (appointments)"], timeout=10_000
    )
    await s.get_by_role("button", name="Monitor", exact=True).click()

    # Monitor: the supervisor sees both and sends nothing; nobody is shown a supervisor.
    await expect(s.locator("#watch-videos figcaption")).to_have_text(
        ["Ana, Patient", "Sam, Agent"], timeout=10_000
    )
    await rising(s, "patient", "frames", "supervisor")
    await rising(s, "agent", "frames", "supervisor")
    await rising(s, "agent", "audio", "supervisor")
    await expect(s.locator("#watch-status")).to_have_text("Monitoring Sam's call.")
    stats = await pair_stats(s)
    assert stats["patient"]["sent"] == 0 and stats["agent"]["sent"] == 0, stats
    await expect(p.locator("#party-videos figure:visible")).to_have_count(0)
    await expect(g.locator("#party-videos figure:visible")).to_have_count(0)
    await expect(p.locator("#supervisor-notice")).to_be_hidden()  # not configured here
    await expect(p.locator("#party-announce")).to_have_text("")
    assert await axe_violations(s, axe_source) == []
    await s.locator("#watch-panel").screenshot(path=str(ARTIFACTS / "supervisor-monitoring.png"))

    # Whisper: the agent hears the supervisor and is told who; the patient hears nothing.
    await s.get_by_label("Whisper").check()
    await expect(s.locator("#watch-status")).to_have_text("Whispering to Sam.", timeout=10_000)
    await expect(g.locator("#party-videos figure:visible figcaption")).to_have_text(
        ["Rosa, your supervisor (only you can hear them)"], timeout=10_000
    )
    await rising(g, "s1", "audio", "agent (whisper)")
    await expect(p.locator("#party-videos figure:visible")).to_have_count(0)
    heard = await pair_stats(p)
    assert heard["s1"]["audio"] == 0, heard  # nothing from the supervisor reaches Ana
    await rising(s, "patient", "frames", "supervisor while whispering")

    # Barge: a visible party, seen by the patient.
    await s.get_by_label("Barge in").check()
    await expect(p.locator("#party-videos figure:visible figcaption")).to_have_text(
        ["Rosa, Supervisor"], timeout=10_000
    )
    await expect(p.locator("#party-announce")).to_have_text("Rosa, Supervisor joined the call.")
    await rising(p, "s1", "frames", "patient (barge)")
    await rising(p, "s1", "audio", "patient (barge)")
    await s.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await s.locator("#watch-view").scroll_into_view_if_needed()
    await screenshot(s, "supervisor-barging-phone")
    await s.set_viewport_size(DESKTOP)  # type: ignore[arg-type]

    # Stop: out of the call, which goes on between Ana and Sam.
    await s.get_by_role("button", name="Stop supervising").click()
    await expect(s.locator("#watch-view")).to_be_hidden(timeout=10_000)
    await expect(p.locator("#party-videos figure")).to_have_count(0, timeout=10_000)
    await eventually(lambda: pair_stats(p), lambda st: set(st) == {"agent"}, "patient: agent only")

    rows = await audit_rows(live_desk)
    assert [(a, d.get("mode", d.get("reason"))) for a, d in rows] == [
        ("supervisor_started", "monitor"),
        ("supervisor_mode", "whisper"),
        ("supervisor_mode", "barge"),
        ("supervisor_stopped", "left"),
    ]
    for party in (patient, agent, admin):
        party.check()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("desk_env", [{"VIDEODESK_SUPERVISOR_NOTICE": "true"}])
async def test_the_desk_can_say_that_a_supervisor_listens(
    parties: Parties, live_desk: LiveDesk
) -> None:
    patient, agent = await start_call(parties, live_desk)
    p, g = patient.page, agent.page
    admin = await parties.open(
        "/admin#token=" + live_desk.token("admin", name="Rosa"), viewport=DESKTOP
    )
    s = admin.page
    await expect(s.locator("#watch-call option")).to_have_count(1, timeout=10_000)
    await s.get_by_role("button", name="Monitor", exact=True).click()
    await expect(p.locator("#supervisor-notice")).to_have_text(
        "A supervisor is listening to this call, to help with quality and training.",
        timeout=10_000,
    )
    await expect(g.locator("#supervisor-notice")).to_be_visible()
    # The supervisor's page closes: they are out of the call, and the notice goes.
    await admin.context.close()
    parties.opened.remove(admin)
    await expect(p.locator("#supervisor-notice")).to_be_hidden(timeout=10_000)
    rows = await audit_rows(live_desk)
    assert [a for a, _ in rows] == ["supervisor_started", "supervisor_stopped"]
    assert rows[-1][1]["reason"] == "page_closed"


@pytest.mark.timeout(90)
async def test_a_supervisor_link_opens_a_console_of_its_queues(
    parties: Parties, live_desk: LiveDesk
) -> None:
    patient, agent = await start_call(parties, live_desk)
    supervisor = await parties.open(
        "/admin#token="
        + live_desk.token("supervisor", name="Rosa", queues=("appointments", "pharmacy")),
        viewport=DESKTOP,
    )
    s = supervisor.page
    await expect(s.locator("#console-heading")).to_have_text("Supervisor console", timeout=10_000)
    await expect(s.locator("#dashboard-queues tbody th")).to_have_text(
        ["appointments", "pharmacy"], timeout=10_000
    )
    for heading in ("Issued links", "Webhooks", "Reports"):
        await expect(s.get_by_role("heading", name=heading)).to_have_count(0)
    await expect(s.locator("#watch-call option")).to_have_text(
        ["Sam (appointments)"], timeout=10_000
    )
    await s.get_by_role("button", name="Monitor", exact=True).click()
    await rising(s, "patient", "frames", "supervisor")
    await rising(s, "agent", "frames", "supervisor")
    await expect(patient.page.locator("#party-videos figure:visible")).to_have_count(0)
    for party in (patient, agent, supervisor):
        party.check()
