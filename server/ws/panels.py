"""Agents' queue panels (``agent.queues``): for each queue an agent serves, how many wait,
the longest wait so far, and who is waiting (first name, reason, language, flags).

Pushed by the presence loop every few seconds, and once as soon as an agent's console
connects, so a console never sits on "Loading…" until the next round.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from server.ws import outbound
from server.ws.connection import Connection
from server.ws.desk import Desk
from signaling import server_messages as sm


async def push(desk: Desk, agents: Iterable[Connection]) -> None:
    """Send each agent its panel, when it differs from the last one it was sent."""
    agents = list(agents)
    if not agents:
        return
    queues = sorted({q for conn in agents for q in conn.session.queues})
    snapshots: dict[str, sm.QueuePanel] = {}
    now = outbound.now_ms()
    for queue in queues:
        if queue in desk.engine.queues:
            snapshots[queue] = _panel(await desk.engine.queue_snapshot(queue), now)
    for conn in agents:
        panel = sm.AgentQueues(queues=[snapshots[q] for q in conn.session.queues if q in snapshots])
        message = sm.to_dict(panel)
        if message != conn.last_panel:
            conn.last_panel = message
            await conn.send(message)


def _panel(snapshot: dict[str, Any], now: int) -> sm.QueuePanel:
    patients = []
    for name, reason, joined, state, language, priority, returning in snapshot["patients"]:
        flags = [
            f
            for f, on in (
                ("urgent", priority == "urgent"),
                ("returning", returning == "1"),
                ("callback", state == "callback_pending"),
            )
            if on
        ]
        patients.append(
            sm.PanelPatient(
                name=outbound.first_name(name or ""),
                reason=(reason or "")[:120],
                language=language or "",
                waited_s=max(0, (now - int(joined or now)) // 1000),
                flags=flags,
            )
        )
    return sm.QueuePanel(
        name=snapshot["name"],
        waiting=snapshot["waiting"],
        oldest_wait_s=max((p.waited_s for p in patients), default=0),
        patients=patients,
    )
