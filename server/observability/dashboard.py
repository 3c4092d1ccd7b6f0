"""The supervisor's view of the desk: per queue and per agent, read from Redis.

Used by the admin console (pushed over its socket every 2 s) and by
``GET /api/v1/dashboard``. Counters are desk totals since the stats were
created (the report endpoints give date ranges).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from server.queue.engine import QueueEngine
from server.queue.models import AGENT_STATES

MAX_SCANNED = 2000  # waiting patients read per queue for the oldest wait


async def snapshot(engine: QueueEngine) -> dict[str, Any]:
    redis, keys = engine.redis, engine.keys
    now = int(time.time() * 1000)
    agent_ids: list[str] = sorted(await redis.smembers(keys.agents))  # type: ignore[arg-type]
    async with redis.pipeline(transaction=False) as pipe:
        for aid in agent_ids:
            pipe.hmget(
                keys.agent(aid), ["name", "state", "reason", "state_since", "queues", "call"]
            )
        agent_rows = await pipe.execute()
    agents = []
    for aid, (name, state, reason, since, queues, call) in zip(agent_ids, agent_rows, strict=True):
        agents.append(
            {
                "id": aid,
                "name": name or "",
                "state": state or "offline",
                "reason": reason or "",
                "since_ms": int(since or 0),
                "queues": [q for q in (queues or "").split(",") if q],
                # The call a supervisor may watch (the agent's hash keeps it into wrap-up).
                "call": (call or "") if state == "in_call" else "",
            }
        )
    queues = [await _queue(engine, name, agents, now) for name in engine.queues]
    return {"at": now, "queues": queues, "agents": agents}


def scoped(snapshot: dict[str, Any], queues: Sequence[str]) -> dict[str, Any]:
    """The dashboard a supervisor sees: its queues, and the agents who serve one of them
    (each agent's queues cut to those)."""
    mine = set(queues)
    agents = []
    for agent in snapshot["agents"]:
        shared = [q for q in agent["queues"] if q in mine]
        if shared:
            agents.append({**agent, "queues": shared})
    return {
        **snapshot,
        "queues": [q for q in snapshot["queues"] if q["name"] in mine],
        "agents": agents,
    }


async def _queue(
    engine: QueueEngine, name: str, agents: list[dict[str, Any]], now: int
) -> dict[str, Any]:
    redis, keys = engine.redis, engine.keys
    pids: list[str] = await redis.zrange(keys.queue(name), 0, MAX_SCANNED - 1)  # type: ignore[assignment]
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.stats(name))
        for pid in pids:
            pipe.hmget(keys.patient(pid), ["joined_at", "emergency", "ticket"])
        replies = await pipe.execute()
    stats: dict[str, str] = replies[0]
    rows: list[list[str | None]] = replies[1:]
    joined = [int(row[0]) for row in rows if row[0]]
    # Waiting patients flagged as possible emergencies, in queue order (the words the
    # patient used, the ticket and the wait; no name).
    emergencies = [
        {
            "ticket": int(ticket or 0),
            "waited_s": max(0, (now - int(at)) // 1000) if at else 0,
            "words": [w for w in words.split(",") if w],
        }
        for at, words, ticket in rows
        if words
    ]
    by_state = {state: 0 for state in AGENT_STATES}
    for agent in agents:
        if name in agent["queues"]:
            by_state[agent["state"]] = by_state.get(agent["state"], 0) + 1

    def number(field: str) -> int:
        return int(stats.get(field, "0") or 0)

    answered, abandoned = number("answered"), number("abandoned")
    csat_count = number("csat_count")
    return {
        "name": name,
        "target_s": engine.queues[name].target_seconds,
        "waiting": len(pids),
        "oldest_wait_s": max(0, (now - min(joined)) // 1000) if joined else 0,
        "agents": by_state,
        "joined": number("joined"),
        "answered": answered,
        "abandoned": abandoned,
        "service_level": round(number("answered_in_target") / answered, 3) if answered else None,
        "abandon_rate": (
            round(abandoned / (answered + abandoned), 3) if answered + abandoned else None
        ),
        "aht_s": round(number("aht_ms") / 1000) if number("aht_ms") else None,
        "csat": round(number("csat_sum") / csat_count, 2) if csat_count else None,
        "self_help_resolved": number("self_help"),
        "emergencies": emergencies,
    }
