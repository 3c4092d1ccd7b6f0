"""Calls of three and four in Chromium: the patient asked for an interpreter, the agent's
guest form opens for one in the patient's language, the interpreter joins by the link
through the guest lobby, and every page decodes every other page's video (framesDecoded
rising on each pair of the mesh). Then a guest leaves, the agent removes one, and a link
used after the call is refused. axe checks the guest lobby and the call views of three
in English and Spanish; screenshots at 360×640 go to .test-artifacts/."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import (
    DESKTOP,
    Parties,
    Party,
    axe_violations,
    eventually,
    screenshot,
)
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# Decoded video frames on each of the page's connections, by the other party's handle.
PAIR_FRAMES_JS = """async () => {
  const pcs = globalThis.videodesk ? globalThis.videodesk.peerConnections() : {};
  const frames = {};
  for (const [handle, pc] of Object.entries(pcs)) {
    frames[handle] = 0;
    (await pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") frames[handle] += r.framesDecoded || 0;
    });
  }
  return frames;
}"""


async def pair_frames(page: Page) -> dict[str, int]:
    frames: dict[str, int] = await page.evaluate(PAIR_FRAMES_JS)
    return frames


async def assert_decodes_everyone(page: Page, others: set[str], who: str) -> None:
    """This page decodes video from each of ``others``, and the count keeps rising."""
    first = await eventually(
        lambda: pair_frames(page),
        lambda f: set(f) == others and all(f[h] > 0 for h in others),
        f"{who}: video from {sorted(others)}",
        timeout=30,
    )
    await eventually(
        lambda: pair_frames(page),
        lambda f: set(f) == others and all(f[h] >= first[h] + 10 for h in others),
        f"{who}: framesDecoded rising on every pair from {first}",
        timeout=15,
    )


async def patient_needing_an_interpreter(parties: Parties, live_desk: LiveDesk) -> Party:
    patient = await parties.open("/p#token=" + live_desk.invite(name="Ana"))
    p = patient.page
    await expect(p.locator("#lobby-heading")).to_be_visible(timeout=10_000)
    await p.locator("#join-more summary").click()
    await p.get_by_label("I need an interpreter").check()
    await p.locator("#patient-language").select_option("es")
    await p.get_by_role("button", name="Join the queue").click()
    return patient


async def agent_takes_the_call(parties: Parties, live_desk: LiveDesk, patient: Page) -> Party:
    agent = await parties.open(
        "/agent#token=" + live_desk.agent_token(name="Sam"), viewport=DESKTOP
    )
    g = agent.page
    await g.get_by_role("button", name="Available").click()
    await g.get_by_role("button", name="Accept").click(timeout=10_000)
    await expect(patient.locator("#call-heading")).to_have_text(
        "Your call with Sam", timeout=10_000
    )
    return agent


async def guest_link(agent: Page, party: str = "interpreter") -> str:
    """The agent makes a new guest link (the box may still show the last one)."""
    link = agent.locator("#guest-link")
    before = await link.input_value()
    await agent.locator("#guest-party").select_option(party)
    await agent.get_by_role("button", name="Create a guest link").click()
    await expect(agent.locator("#guest-link-box")).to_be_visible(timeout=10_000)
    value: str = await eventually(
        link.input_value, lambda v: v != before and "/g#token=" in v, "a new guest link"
    )
    return value


async def guest_joins(parties: Parties, live_desk: LiveDesk, link: str, name: str) -> Party:
    guest = await parties.open(link.removeprefix(live_desk.url))
    page = guest.page
    await expect(page.locator("#lobby-heading")).to_be_visible(timeout=10_000)
    await expect(page.locator("#guest-media-status")).to_have_text(
        "Your camera and microphone are working.", timeout=10_000
    )
    await page.get_by_label("Your first name").fill(name)
    await page.get_by_label("I understand and agree").check()
    await page.get_by_role("button", name="Join the call").click()
    await expect(page.locator("#call-heading")).to_be_visible(timeout=10_000)
    return guest


@pytest.mark.timeout(150)
async def test_an_interpreter_joins_a_call_of_three(
    parties: Parties, live_desk: LiveDesk, axe_source: str
) -> None:
    patient = await patient_needing_an_interpreter(parties, live_desk)
    agent = await agent_takes_the_call(parties, live_desk, patient.page)
    p, g = patient.page, agent.page

    # The patient asked for an interpreter: the form is open for one, in Spanish.
    await expect(g.locator("#guest-suggested")).to_have_text(
        "The patient asked for an interpreter.", timeout=10_000
    )
    assert await g.locator("#guest-panel").evaluate("(d) => d.open")
    await expect(g.locator("#guest-party")).to_have_value("interpreter")
    await expect(g.locator("#guest-language")).to_have_value("es")
    await expect(g.locator("#guest-party option:checked")).to_have_text("Interpreter")
    await expect(g.locator("#call-context")).to_contain_text("Interpreter")

    # The guest lobby: who they join as, their camera, name and consent (axe, both languages).
    link = await guest_link(g)
    guest = await parties.open(link.removeprefix(live_desk.url))
    i = guest.page
    await expect(i.locator("#guest-intro")).to_have_text(
        "You have been asked to join a video consultation as: Interpreter.", timeout=10_000
    )
    await expect(i.locator("#guest-media-status")).to_have_text(
        "Your camera and microphone are working.", timeout=10_000
    )
    assert "token" not in i.url  # taken out of the address bar at once
    assert await axe_violations(i, axe_source) == []
    await screenshot(i, "guest-lobby-phone", full_page=True)
    await i.get_by_role("button", name="Join the call").click()  # nothing filled in
    await expect(i.locator("#guest-name-error")).to_be_visible()
    await expect(i.locator("#guest-consent-error")).to_be_visible()
    await i.locator("#language-switch").select_option("es")
    await expect(i.locator("#guest-intro")).to_have_text(
        "Le han pedido que se una a una consulta por vídeo como: Intérprete.", timeout=5_000
    )
    assert await axe_violations(i, axe_source) == []
    await i.locator("#language-switch").select_option("en")
    await i.get_by_label("Your first name").fill("Lucía")
    await i.get_by_label("I understand and agree").check()
    await i.get_by_role("button", name="Join the call").click()
    await expect(i.locator("#call-heading")).to_have_text("Video call", timeout=10_000)

    # Everyone is told, and every page decodes every other page's video.
    await expect(p.locator("#party-videos figcaption")).to_have_text(
        ["Lucía, Interpreter"], timeout=10_000
    )
    await expect(p.locator("#party-announce")).to_have_text("Lucía, Interpreter joined the call.")
    await expect(g.locator("#guest-list")).to_contain_text("Lucía, Interpreter")
    await expect(i.locator("#party-videos figcaption")).to_have_text(
        ["Ana, Patient", "Sam, Agent"], timeout=10_000
    )
    await assert_decodes_everyone(p, {"agent", "g1"}, "patient")
    await assert_decodes_everyone(g, {"patient", "g1"}, "agent")
    await assert_decodes_everyone(i, {"patient", "agent"}, "interpreter")
    await expect(i.locator("#call-status")).to_be_hidden(timeout=10_000)

    # Chat reaches everyone, named.
    await i.get_by_label("Message", exact=True).fill("Hola Ana, soy la intérprete.")
    await i.get_by_label("Message", exact=True).press("Enter")
    await expect(p.locator("#chat-log")).to_contain_text("Lucía, Interpreter", timeout=10_000)
    await expect(p.locator("#chat-log")).to_contain_text("Hola Ana, soy la intérprete.")
    await expect(g.locator("#chat-log")).to_contain_text("Hola Ana, soy la intérprete.")

    for page in (p, i):
        await page.evaluate("window.scrollTo(0, 0)")
    await screenshot(p, "call-of-three-patient-phone")
    await screenshot(i, "call-of-three-interpreter-phone")
    await screenshot(g, "call-of-three-agent")
    assert await axe_violations(p, axe_source) == []
    assert await axe_violations(i, axe_source) == []
    await p.locator("#language-switch").select_option("es")
    await expect(p.locator("#party-videos figcaption")).to_have_text(["Lucía, Intérprete"])
    assert await axe_violations(p, axe_source) == []
    await i.locator("#language-switch").select_option("es")
    await expect(i.locator("#party-videos figcaption")).to_have_text(
        ["Ana, Paciente", "Sam, Agente"]
    )
    assert await axe_violations(i, axe_source) == []
    await i.locator("#language-switch").select_option("en")
    await expect(i.locator("#party-videos figcaption")).to_have_text(
        ["Ana, Patient", "Sam, Agent"]
    )  # English again (and remembered) before the reload below

    # The interpreter's page reloads: straight back into the call, every pair afresh.
    await i.reload()
    await expect(i.locator("#call-heading")).to_have_text("Video call", timeout=15_000)
    await expect(i.locator("#chat-log")).to_contain_text("Hola Ana, soy la intérprete.")
    await assert_decodes_everyone(i, {"patient", "agent"}, "interpreter after a reload")
    await assert_decodes_everyone(p, {"agent", "g1"}, "patient after the interpreter's reload")
    await assert_decodes_everyone(g, {"patient", "g1"}, "agent after the interpreter's reload")

    # The agent takes the interpreter out: their page says so, the others drop the tile.
    await g.get_by_role("button", name="Remove Lucía, Interpreter from the call").click()
    await expect(i.locator("#ended-text")).to_have_text(
        "The agent has taken you out of the call. Thank you for your help.", timeout=10_000
    )
    await expect(p.locator("#party-videos figcaption")).to_have_count(0, timeout=10_000)
    await expect(p.locator("#party-announce")).to_have_text(
        "Lucía, Intérprete ha salido de la llamada."
    )
    await expect(g.locator("#guest-none")).to_be_visible()
    # The call of two goes on.
    await eventually(
        lambda: pair_frames(p),
        lambda f: set(f) == {"agent"},
        "patient: only the agent's connection left",
    )
    for party in (patient, agent, guest):
        party.check()


@pytest.mark.timeout(150)
async def test_a_call_of_four_then_a_guest_leaves_and_a_late_link_is_refused(
    parties: Parties, live_desk: LiveDesk
) -> None:
    patient = await patient_needing_an_interpreter(parties, live_desk)
    agent = await agent_takes_the_call(parties, live_desk, patient.page)
    p, g = patient.page, agent.page
    interpreter = await guest_joins(parties, live_desk, await guest_link(g), "Lucía")
    carer = await guest_joins(parties, live_desk, await guest_link(g, "carer"), "Marta")
    i, c = interpreter.page, carer.page

    await assert_decodes_everyone(p, {"agent", "g1", "g2"}, "patient")
    await assert_decodes_everyone(g, {"patient", "g1", "g2"}, "agent")
    await assert_decodes_everyone(i, {"patient", "agent", "g2"}, "interpreter")
    await assert_decodes_everyone(c, {"patient", "agent", "g1"}, "carer")
    await screenshot(p, "call-of-four-patient-phone")

    # A fifth is refused: the call is full.
    await g.get_by_role("button", name="Create a guest link").click()
    await expect(g.locator("#guest-error")).to_have_text(
        "This call already has two guests.", timeout=10_000
    )
    unused = await g.locator("#guest-link").input_value()  # the carer's, already used

    # The carer leaves; they may join again while the call lasts.
    await c.get_by_role("button", name="Leave the call").click()
    await expect(c.locator("#ended-text")).to_have_text(
        "You left the call. You can join again while it lasts.", timeout=10_000
    )
    await expect(c.get_by_role("button", name="Join again")).to_be_visible()
    await expect(p.locator("#party-videos figcaption")).to_have_text(
        ["Lucía, Interpreter"], timeout=10_000
    )
    await assert_decodes_everyone(i, {"patient", "agent"}, "interpreter after the carer left")

    # A new link, not opened until the call is over, is refused.
    late = await guest_link(g, "clinician")
    assert late != unused
    await g.get_by_role("button", name="End call").click()
    await expect(i.locator("#ended-text")).to_have_text(
        "The call has ended. Thank you for joining.", timeout=10_000
    )
    clinician = await parties.open(late.removeprefix(live_desk.url))
    d = clinician.page
    await d.get_by_label("Your first name").fill("Dr Ortiz", timeout=10_000)
    await d.get_by_label("I understand and agree").check()
    await d.get_by_role("button", name="Join the call").click()
    await expect(d.locator("#guest-join-error")).to_have_text(
        "This call has ended, so the link no longer works.", timeout=10_000
    )
    for party in (patient, agent, interpreter, carer, clinician):
        party.check()
