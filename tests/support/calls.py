"""A call in progress between the patient Ana and the agent Sam (bots, no media), and
the agent's guest links: shared by the tests of guests and of supervisors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from signaling.client import AgentBot, PatientBot
from tests.support.desks import LiveDesk


@dataclass
class Call:
    patient: PatientBot
    agent: AgentBot
    id: str


@pytest.fixture
async def call(live_desk: LiveDesk) -> AsyncIterator[Call]:
    """A call between Ana and the agent Sam (no media: the bots only talk protocol)."""
    patient = PatientBot(live_desk.url, live_desk.invite(name="Ana"), media=False)
    agent = AgentBot(live_desk.url, live_desk.agent_token(), media=False)
    try:
        await patient.connect()
        await patient.join(name="Ana", reason="prescription", language="es")
        await agent.connect()
        await agent.available()
        await agent.accept(await agent.next("agent.offer"))
        started = await agent.next("call.started")
        await patient.next("call.started")
        yield Call(patient, agent, started["call"])
    finally:
        await patient.close()
        await agent.close()


def token_of(link: str) -> str:
    """The token in a guest link's fragment (``/g#token=…``)."""
    parts = urlsplit(link)
    assert parts.path == "/g" and parts.fragment.startswith("token="), link
    return parts.fragment.removeprefix("token=")


async def invite(call: Call, party: str = "interpreter", **fields: Any) -> str:
    link = await call.agent.request("call.invite", "call.invite_link", party=party, **fields)
    assert link["party"] == party
    return token_of(link["link"])
