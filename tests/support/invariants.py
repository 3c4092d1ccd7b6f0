"""Whole-desk invariants, read straight from Redis.

"Every patient is always in exactly one known state": this walks every patient,
agent, queue set, offer and lease of a desk and lists every contradiction. Used
after races, fault drills and the chaos run. An empty list means consistent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from server.core.redis_keys import Keys
from server.queue.models import AGENT_STATES, PATIENT_STATES

QUEUED = {"waiting", "callback_pending"}
LEASED = {"waiting", "offered", "in_call", "on_hold"}
WORKING = {"available", "offered", "in_call", "wrap_up"}


async def _records(redis: Redis, keys: Keys, kind: str) -> dict[str, dict[str, str]]:
    prefix = f"{keys.prefix}{kind}:"
    found: dict[str, dict[str, str]] = {}
    async for key in redis.scan_iter(match=_escape(prefix) + "*", count=1000):
        found[key[len(prefix) :]] = await redis.hgetall(key)  # type: ignore[assignment]
    return found


async def _scores(redis: Redis, key: str) -> dict[str, float]:
    pairs: list[tuple[str, float]] = await redis.zrange(key, 0, -1, withscores=True)  # type: ignore[assignment]
    return dict(pairs)


def _escape(pattern: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in pattern)


async def check_invariants(redis: Redis, keys: Keys, queues: list[str]) -> list[str]:
    """Every contradiction in the desk's state (empty when consistent)."""
    desk = _Desk(
        patients=await _records(redis, keys, "p"),
        agents=await _records(redis, keys, "a"),
        queued={q: await _scores(redis, keys.queue(q)) for q in queues},
        offers=await _scores(redis, keys.offers),
        leases=await _scores(redis, keys.leases),
        scheduled=await _scores(redis, keys.callbacks_scheduled),
    )
    problems: list[str] = []
    for pid, record in desk.patients.items():
        problems += await _check_patient(redis, keys, desk, pid, record)
    holders: dict[str, list[str]] = {}
    for aid, record in desk.agents.items():
        problems += await _check_agent(redis, keys, desk, aid, record)
        if record.get("state") == "offered":
            holders.setdefault(record.get("offer_patient", ""), []).append(aid)
        if record.get("state") == "in_call":
            holders.setdefault(record.get("patient", ""), []).append(aid)
    problems += [
        f"patient {p} held by several agents: {a}" for p, a in holders.items() if len(a) > 1
    ]
    problems += [f"offer for unknown agent {aid}" for aid in desk.offers if aid not in desk.agents]
    for q, members in desk.queued.items():
        for pid in members:
            if desk.patients.get(pid, {}).get("state") not in QUEUED:
                problems.append(f"queue {q}: member {pid} is not queued")
    return problems


@dataclass
class _Desk:
    patients: dict[str, dict[str, str]]
    agents: dict[str, dict[str, str]]
    queued: dict[str, dict[str, float]]
    offers: dict[str, float]
    leases: dict[str, float]
    scheduled: dict[str, float]


async def _check_patient(
    redis: Redis, keys: Keys, desk: _Desk, pid: str, p: dict[str, str]
) -> list[str]:
    problems: list[str] = []
    state = p.get("state", "")
    if state not in PATIENT_STATES:
        return [f"patient {pid}: unknown state {state!r}"]
    in_queues = [q for q, members in desk.queued.items() if pid in members]
    scheduled = state == "callback_pending" and pid in desk.scheduled
    if scheduled:
        if in_queues:
            problems.append(f"patient {pid}: scheduled call-back, but in queues {in_queues}")
    elif state in QUEUED:
        if in_queues != [p["queue"]]:
            problems.append(f"patient {pid} {state}: in queues {in_queues}, not [{p['queue']}]")
        elif desk.queued[p["queue"]][pid] != float(p["score"]):
            problems.append(f"patient {pid}: queue score differs from record")
        if await redis.zscore(keys.queue_language(p["queue"], p["language"]), pid) is None:
            problems.append(f"patient {pid}: missing from its language set")
    elif in_queues:
        problems.append(f"patient {pid} {state}: still in queues {in_queues}")
    leased = f"p:{pid}" in desk.leases
    # A call-back patient never holds a lease (they may close the page or be on the phone).
    needs_lease = state in LEASED and not p.get("callback_mode")
    if needs_lease != leased:
        problems.append(f"patient {pid} {state}: lease present is {leased}")
    agent = desk.agents.get(p.get("agent") or "", {})
    if state == "offered" and (
        agent.get("state") != "offered" or agent.get("offer_patient") != pid
    ):
        problems.append(f"patient {pid} offered, but agent {p.get('agent')} does not hold it")
    if state in ("in_call", "on_hold") and (
        agent.get("state") != "in_call" or agent.get("patient") != pid
    ):
        problems.append(f"patient {pid} {state}, but agent {p.get('agent')} is not in its call")
    return problems


async def _check_agent(
    redis: Redis, keys: Keys, desk: _Desk, aid: str, a: dict[str, str]
) -> list[str]:
    problems: list[str] = []
    state = a.get("state", "")
    if state not in AGENT_STATES:
        return [f"agent {aid}: unknown state {state!r}"]
    if state == "offered":
        if aid not in desk.offers:
            problems.append(f"agent {aid} offered, but no offer deadline")
        pid = a.get("offer_patient", "")
        if desk.patients.get(pid, {}).get("state") != "offered":
            problems.append(f"agent {aid}: offered patient {pid} is not offered")
    elif aid in desk.offers:
        problems.append(f"agent {aid} {state}: orphaned offer")
    if state == "in_call":
        pid = a.get("patient", "")
        if desk.patients.get(pid, {}).get("state") not in ("in_call", "on_hold"):
            problems.append(f"agent {aid} in call with {pid}, who is not in a call")
    for q in [q for q in a.get("queues", "").split(",") if q]:
        available = await redis.zscore(keys.available(q), aid) is not None
        if available != (state == "available"):
            problems.append(f"agent {aid} {state}: available-set membership {available}")
        staffed = bool(await redis.sismember(keys.staffed(q), aid))
        if staffed != (state in WORKING):
            problems.append(f"agent {aid} {state}: staffed-set membership {staffed}")
    return problems


async def states(redis: Redis, keys: Keys) -> dict[str, dict[str, Any]]:
    """Every patient's record, by id."""
    return dict(await _records(redis, keys, "p"))
