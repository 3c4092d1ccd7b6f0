"""Races on the queue engine: many connections acting on one desk at once (real Redis only).

Every engine below has its own Redis client (its own connections) on the same desk, as
separate server processes would. Each operation is one Lua script, so Redis runs them one
at a time; these tests check that whatever order the interleaving produces, nobody is
offered twice, accepted twice, lost, or settled twice.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import pytest
from redis.asyncio import Redis

from server.core.redis_keys import Keys
from server.queue.engine import QueueEngine
from server.queue.errors import NotAvailable, StaleOffer, UnknownAgent, WrongState
from server.queue.models import Call, CallEnd, Offer, TickReport
from tests.support.events import recorded_events
from tests.support.invariants import check_invariants
from tests.support.queues import QUEUE_NAMES, QUEUES, TIMING, details

T = TypeVar("T")

CONNECTIONS = 10
PATIENTS = 100
AGENTS = 200

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def engines(redis_url: str) -> AsyncIterator[list[QueueEngine]]:
    """CONNECTIONS engines on one fresh desk, each with its own Redis client."""
    admin = Redis.from_url(redis_url, decode_responses=True)
    await admin.flushdb()
    await admin.aclose()
    keys = Keys("race" + secrets.token_hex(3))
    clients = [Redis.from_url(redis_url, decode_responses=True) for _ in range(CONNECTIONS)]
    try:
        yield [QueueEngine(client, keys, QUEUES, TIMING) for client in clients]
    finally:
        for client in clients:
            await client.aclose()


async def settle(calls: Iterable[Awaitable[T]]) -> list[T | BaseException]:
    """Run concurrently; results and exceptions in order."""
    return await asyncio.gather(*calls, return_exceptions=True)


def raised(results: Sequence[object]) -> list[BaseException]:
    """The exceptions among results; anything but a typed refusal is re-raised."""
    errors = [r for r in results if isinstance(r, BaseException)]
    for error in errors:
        if not isinstance(error, StaleOffer | WrongState):
            raise error
    return errors


async def problems(engine: QueueEngine) -> list[str]:
    return await check_invariants(engine.redis, engine.keys, QUEUE_NAMES)


async def records(engine: QueueEngine, kind: str, ids: Iterable[str]) -> dict[str, dict[str, str]]:
    key = engine.keys.patient if kind == "p" else engine.keys.agent
    ids = list(ids)
    async with engine.redis.pipeline(transaction=False) as pipe:
        for one in ids:
            pipe.hgetall(key(one))
        replies: list[dict[str, str]] = await pipe.execute()
    return dict(zip(ids, replies, strict=True))


async def call_records(engine: QueueEngine) -> dict[str, dict[str, str]]:
    prefix = engine.keys.call("")
    found: dict[str, dict[str, str]] = {}
    async for key in engine.redis.scan_iter(match=prefix + "*", count=1000):
        if key.count(":") == prefix.count(":"):  # c:<id>, not c:<id>:chat
            record: dict[str, str] = await engine.redis.hgetall(key)  # type: ignore[assignment]
            found[key[len(prefix) :]] = record
    return found


def patient_setup(i: int) -> tuple[str, str, str]:
    """Patient i: queue, language, priority (a mix, each servable by many agents)."""
    queue = QUEUE_NAMES[i % len(QUEUE_NAMES)]
    language = "es" if queue == "appointments" and i % 2 else "en"
    return queue, language, "urgent" if i % 7 == 0 else "normal"


def agent_setup(i: int) -> tuple[list[str], list[str]]:
    """Agent i: queues, languages. A third serve everything."""
    return [
        (["appointments"], ["en", "es"]),
        (["pharmacy", "billing"], ["en"]),
        ([], []),  # every queue, every language
    ][i % 3]


@dataclass
class Crowd:
    """PATIENTS patients and AGENTS agents, each acting through one of the engines."""

    engines: list[QueueEngine]
    pids: list[str] = field(default_factory=lambda: [f"p{i:03}" for i in range(PATIENTS)])
    aids: list[str] = field(default_factory=lambda: [f"a{i:03}" for i in range(AGENTS)])
    offers: list[Offer] = field(default_factory=list)

    def on(self, i: int) -> QueueEngine:
        return self.engines[i % len(self.engines)]

    async def join(self, i: int, delay: float = 0.0) -> None:
        await asyncio.sleep(delay)
        queue, language, priority = patient_setup(i)
        await self.on(i).join(self.pids[i], queue, details(self.pids[i], language, priority))

    async def arrive(self, i: int) -> None:
        """An agent signs in and goes available (and is offered the next patient at once)."""
        await self.on(i).agent_signin(self.aids[i], self.aids[i], *agent_setup(i))
        offer = await self.on(i + 1).set_status(self.aids[i], "available")
        if offer is not None:
            self.offers.append(offer)

    async def ticker(self, n: int) -> None:
        """Another process's ticker, dispatching every few milliseconds."""
        for _ in range(25):
            self.offers += await self.on(n).dispatch()
            await asyncio.sleep(0.01)

    async def eager(self, i: int, delay: float) -> None:
        """An agent asks for the next patient (refused unless signed in and available)."""
        await asyncio.sleep(delay)
        try:
            offer = await self.on(i + 5).offer_next(self.aids[i])
        except (NotAvailable, UnknownAgent):
            return
        if offer is not None:
            self.offers.append(offer)

    async def storm(self) -> None:
        """Half the patients wait. Then, all at once: every agent signs in and goes
        available, the other half of the patients join over 0.3 s, three tickers dispatch,
        and some agents ask for the next patient themselves."""
        await asyncio.gather(*(self.join(i) for i in range(0, PATIENTS, 2)))
        rng = random.Random(3)
        await asyncio.gather(
            *(self.arrive(i) for i in range(AGENTS)),
            *(self.join(i, rng.uniform(0, 0.3)) for i in range(1, PATIENTS, 2)),
            *(self.ticker(n) for n in range(3)),
            *(self.eager(i, rng.uniform(0, 0.3)) for i in range(0, AGENTS, 7)),
        )
        # A ticker a second later finds whoever joined after the last dispatch.
        while dispatched := await self.engines[-1].dispatch():
            self.offers += dispatched

    async def accept_all(self) -> list[Call]:
        """Each offered agent accepts twice (a double click reaching two processes) while
        someone else's token is tried for the same agent: one call per offer."""
        accepts = []
        for n, offer in enumerate(self.offers):
            other = self.offers[(n + 1) % len(self.offers)].token
            accepts += [
                self.on(n).accept(offer.agent, offer.token),
                self.on(n + 1).accept(offer.agent, offer.token),
                self.on(n + 2).accept(offer.agent, other),
            ]
        results = await settle(accepts)
        assert all(isinstance(e, StaleOffer) for e in raised(results))
        for n, offer in enumerate(self.offers):
            mine = results[3 * n : 3 * n + 3]
            assert sum(isinstance(r, Call) for r in mine) == 1, (offer, mine)
            assert isinstance(mine[2], StaleOffer)
        return [r for r in results if isinstance(r, Call)]

    async def hang_up_all(self, calls: list[Call]) -> None:
        """Both parties hang up at once, the agent from two tabs: each call ends once."""
        ends = []
        for n, call in enumerate(calls):
            ends += [
                self.on(n).finish(call.agent),
                self.on(n + 1).finish(call.agent),
                self.on(n + 2).leave(call.patient),
            ]
        results = await settle(ends)
        assert all(isinstance(e, WrongState) for e in raised(results))
        for n in range(len(calls)):
            mine = results[3 * n : 3 * n + 3]
            finished = sum(isinstance(r, CallEnd) for r in mine[:2])
            left = mine[2]
            assert isinstance(left, tuple)
            assert finished + (left[0] in ("in_call", "on_hold")) == 1, mine


async def test_200_agents_race_for_100_patients(engines: list[QueueEngine]) -> None:
    engine, crowd = engines[0], Crowd(engines)
    await crowd.storm()
    # Every patient can be served by more than 100 agents: all are offered, each once.
    offers = crowd.offers
    assert len(offers) == PATIENTS
    assert len({o.patient for o in offers}) == len({o.agent for o in offers}) == PATIENTS
    assert await problems(engine) == []

    calls = await crowd.accept_all()
    assert len(calls) == min(PATIENTS, len(offers))
    by_patient = {c.patient: c for c in calls}
    assert len(by_patient) == len(calls)
    events = await recorded_events(engine, count=10_000)
    accepted = Counter(e["patient"] for e in events if e["type"] == "accepted")
    assert accepted == Counter({pid: 1 for pid in crowd.pids})
    assert Counter(e["patient"] for e in events if e["type"] == "offered") == accepted
    for pid, record in (await records(engine, "p", crowd.pids)).items():
        if pid in by_patient:
            assert record["state"] == "in_call" and record["call"] == by_patient[pid].call_id
            assert record["agent"] == by_patient[pid].agent
        else:  # not here (all were offered), but never lost either
            assert record["state"] in ("waiting", "offered"), (pid, record)
    agents = await records(engine, "a", crowd.aids)
    in_call = {aid for aid, a in agents.items() if a["state"] == "in_call"}
    assert in_call == {c.agent for c in calls}
    assert {a["state"] for aid, a in agents.items() if aid not in in_call} == {"available"}
    stored = await call_records(engine)
    assert sorted(stored) == sorted(c.call_id for c in calls)
    assert {stored[c.call_id]["patient"] for c in calls} == set(by_patient)
    assert await problems(engine) == []

    await crowd.hang_up_all(calls)
    patients = await records(engine, "p", crowd.pids)
    assert {p["state"] for p in patients.values()} == {"done"}
    agents = await records(engine, "a", in_call)
    assert {a["state"] for a in agents.values()} == {"wrap_up"}
    events = await recorded_events(engine, count=10_000)
    ended = Counter(e["call"] for e in events if e["type"] == "call_ended")
    assert ended == Counter({c.call_id: 1 for c in calls})
    assert await problems(engine) == []


async def test_one_offer_accepted_from_ten_connections_at_once(
    engines: list[QueueEngine],
) -> None:
    engine = engines[0]
    rounds = 20
    for n in range(rounds):
        await engine.join(f"p{n}", "appointments", details())
    await engine.agent_signin("a1", "A1", ["appointments"], ["en"])
    offer = await engine.set_status("a1", "available")
    for n in range(rounds):
        assert offer is not None and offer.patient == f"p{n}"
        results = await settle(e.accept("a1", offer.token) for e in engines)
        calls = [r for r in results if isinstance(r, Call)]
        assert len(calls) == 1, results
        assert [type(e) for e in raised(results)] == [StaleOffer] * (len(engines) - 1)
        assert (await engine.patient(f"p{n}"))["state"] == "in_call"
        assert await problems(engine) == []
        await engine.finish("a1")
        offer = await engine.wrapup_done("a1", "resolved", available=True)
    assert offer is None
    events = await recorded_events(engine, count=10_000)
    assert Counter(e["type"] for e in events)["accepted"] == rounds


@dataclass
class Tickers:
    """The tickers of several processes, each ticking again as soon as it is done."""

    engines: list[QueueEngine]
    reports: list[TickReport] = field(default_factory=list)
    ticks: list[int] = field(default_factory=list)
    running: bool = True

    async def run(self, n: int) -> None:
        while self.running:
            self.reports.append(await self.engines[n].tick())
            self.ticks[n] += 1

    async def __aenter__(self) -> Tickers:
        self.ticks = [0] * len(self.engines)
        self.tasks = [asyncio.create_task(self.run(n)) for n in range(len(self.engines))]
        await asyncio.sleep(0.05)
        return self

    async def more(self, ticks: int) -> None:
        """Until every ticker has ticked ``ticks`` more times."""
        target = [t + ticks for t in self.ticks]
        while any(t < want for t, want in zip(self.ticks, target, strict=True)):
            await asyncio.sleep(0.01)

    async def __aexit__(self, *_: object) -> None:
        self.running = False
        await asyncio.gather(*self.tasks)


def event_id(eid: str) -> tuple[int, int]:
    ms, seq = eid.split("-")
    return int(ms), int(seq)


async def open_offers(engine: QueueEngine, aids: Iterable[str]) -> set[tuple[str, str]]:
    agents = await records(engine, "a", aids)
    return {(aid, a["offer_patient"]) for aid, a in agents.items() if a["state"] == "offered"}


async def clock(engine: QueueEngine) -> int:
    """The desk's time (ms), as the scripts see it."""
    seconds, micros = await engine.redis.time()
    skew = int(await engine.redis.get(engine.keys.clock_skew) or 0)
    return int(seconds) * 1000 + int(micros) // 1000 + skew


async def test_tickers_in_several_processes_settle_each_offer_once(
    engines: list[QueueEngine],
) -> None:
    """Offers expire and leases lapse while 8 tickers run, five times on a fresh desk."""
    pids = [f"p{i:02}" for i in range(80)]
    aids = [f"a{i:02}" for i in range(60)]
    rng = random.Random(7)
    for round_ in range(5):
        keys = Keys(f"tick{round_}" + secrets.token_hex(3))
        desk = [QueueEngine(e.redis, keys, QUEUES, TIMING) for e in engines]
        engine = desk[0]
        for i, pid in enumerate(pids):
            queue, language, priority = patient_setup(i)
            await desk[i % 2].join(pid, queue, details(pid, language, priority))
        # 45 s later half the patients' sockets have renewed; the others have 15 s left.
        await engine.skew_clock(45_000)
        assert await engine.renew([f"p:{pid}" for pid in pids if rng.random() < 0.5]) == []
        for i, aid in enumerate(aids):
            await engine.agent_signin(aid, aid, *agent_setup(i))
        await settle(desk[i % 2].set_status(aid, "available") for i, aid in enumerate(aids))
        assert await engine.renew([f"a:{aid}" for aid in aids if rng.random() < 0.5]) == []
        pairs = await open_offers(engine, aids)
        assert len(pairs) >= len(aids) // 2, round_

        # 25 s later, with the tickers running: every offer is past its deadline; every
        # lease but the renewed ones of patients and offered agents (60 s) is due.
        jump = 25_000
        now = await clock(engine)
        scored: list[tuple[str, float]] = await engine.redis.zrange(  # type: ignore[assignment]
            engine.keys.leases, 0, -1, withscores=True
        )
        leases = dict(scored)
        due = {m for m, deadline in leases.items() if deadline <= now + jump - 3_000}
        assert {m for m, deadline in leases.items() if deadline > now + jump + 3_000} == (
            set(leases) - due
        ), "a lease too close to the jump"
        marker = event_id((await recorded_events(engine, count=1))[-1]["id"])
        async with Tickers(desk[:8]) as tickers:
            await engine.skew_clock(jump)
            await tickers.more(3)
        events = [
            e for e in await recorded_events(engine, count=10_000) if event_id(e["id"]) > marker
        ]

        expired = Counter(aid for r in tickers.reports for aid, _ in r.expired)
        reaped = Counter(item[0] for r in tickers.reports for item in r.reaped)
        assert reaped == Counter({m: 1 for m in due}), round_
        assert max(expired.values(), default=0) <= 1
        expired_events = Counter(
            (e["agent"], e["patient"]) for e in events if e["type"] == "offer_expired"
        )
        assert set(expired) == {agent for agent, _ in expired_events}
        settled = Counter(
            (e.get("agent", ""), e["patient"])
            for e in events
            if e["type"] in ("offer_expired", "offer_withdrawn", "abandoned")
        )
        for aid, pid in pairs:
            assert settled[(aid, pid)] == 1, (round_, aid, pid)
            if f"a:{aid}" not in due and f"p:{pid}" not in due:
                assert expired_events[(aid, pid)] == 1, (round_, aid, pid)
        assert await problems(engine) == [], round_
