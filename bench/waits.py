"""The wait estimate judged on simulated days: ``python -m bench.queue --simulate``.

Each scenario drives the real engine on a desk of its own, on simulated time (the
desk's clock skew): Poisson arrivals, lognormal handle and wrap-up times, agents who
accept at once unless they miss the offer (it expires, they go away for a while), a
lunchtime staffing drop, surges. Every patient's estimate is taken as they join,
from the engine (``server/queue/forecast.py`` and ``estimate.py``), beside what the
model shipped until 2026-12-01 would have said (``legacy``), and compared with the
wait they actually had. Per scenario it prints the error (median |estimate − actual|
over the median actual wait), the share of actual waits inside the range shown, and
the range's median width. ``--calibrate`` runs other seeds and prints the spread of
actual over replayed waits by turns, beside the gamma quantiles the estimate uses.
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import math
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis

from server.core.errors import Conflict
from server.core.settings import QueueConfig
from server.queue.engine import QueueEngine, Timing
from server.queue.estimate import TURN_BUCKETS, WaitEstimate
from server.queue.forecast import Answer, DeskNow, replay
from server.queue.models import Offer, PatientDetails

TARGET_ERROR = 0.20  # median |estimate - actual| within 20% of the median actual wait
TARGET_COVERAGE = (0.80, 0.90)  # share of actual waits inside the range shown
DETAILS = PatientDetails(name="Sim", reason="simulation", language="en")
HOUR_MS = 3600_000


@dataclass(frozen=True, slots=True)
class Scenario:
    """A desk on simulated time. ``load`` is offered work over agent capacity.

    ``lunch`` is (from hour, to hour, agents): that many agents go away when their
    current call is wrapped up and come back at the end. ``surges`` are (from hour,
    minutes, factor): arrivals multiplied for that long. ``miss`` is the chance an
    agent lets an offer expire; they are then away for ``away_s``."""

    name: str
    queues: tuple[str, ...]
    arrival_share: tuple[float, ...]
    agent_queues: tuple[tuple[str, ...], ...]  # the queues of each agent
    load: float
    hours: float = 14.0
    warmup_hours: float = 1.0
    handle_mean_s: float = 300.0
    handle_sigma: float = 0.6
    wrap_mean_s: float = 30.0
    wrap_sigma: float = 0.3
    miss: float = 0.0
    away_s: float = 120.0
    lunch: tuple[float, float, int] | None = None
    surges: tuple[tuple[float, float, float], ...] = ()

    @property
    def cycle_s(self) -> float:
        return self.handle_mean_s + self.wrap_mean_s

    @property
    def arrivals_per_s(self) -> float:
        return self.load * len(self.agent_queues) / self.cycle_s

    def describe(self) -> str:
        pools = ", ".join(
            f"{sum(1 for a in self.agent_queues if a == served)} on {'+'.join(served)}"
            for served in dict.fromkeys(self.agent_queues)
        )
        shares = "/".join(f"{s:.0%}" for s in self.arrival_share)
        extra = ""
        if self.miss:
            extra += f"; {self.miss:.0%} of offers missed ({self.away_s:.0f} s away)"
        if self.lunch:
            start, end, count = self.lunch
            extra += f"; {count} agents away from hour {start:g} to {end:g}"
        for start, minutes, factor in self.surges:
            extra += f"; arrivals x{factor:g} for {minutes:g} min from hour {start:g}"
        return (
            f"{self.name}: agents {pools}; arrivals {shares} over {'/'.join(self.queues)}, "
            f"{self.arrivals_per_s * 3600:.0f}/h, load {self.load:.2f}; handle lognormal mean "
            f"{self.handle_mean_s / 60:.0f} min sigma {self.handle_sigma}; wrap-up mean "
            f"{self.wrap_mean_s:.0f} s{extra}"
        )


@dataclass(slots=True)
class Joined:
    """A patient as they stood at join (what they were shown), and the wait they had."""

    queue: str
    at_ms: int
    position: int
    shown: WaitEstimate
    answer: Answer | None
    legacy: WaitEstimate
    waited_ms: int = -1


def lognormal(rng: random.Random, mean: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)


class Simulation:
    """One desk and one seed: events in simulated milliseconds, the desk's clock in step.

    The clock jumps to the next event, and at least every ``MAX_STEP_MS``; each step
    renews the leases of everyone connected and runs the ticker (which expires missed
    offers and dispatches). The agents' idle lease is 60 s here (15 s in production) so
    steps can be 30 s long; no lease ever lapses, so waits are the same.
    """

    MAX_STEP_MS = 30_000
    TIMING = Timing(agent_idle_grace_ms=60_000, patient_grace_ms=120_000)

    def __init__(self, engine: QueueEngine, scenario: Scenario, seed: int) -> None:
        self.engine = engine
        self.scenario = scenario
        self.rng = random.Random(seed)
        self.now_ms = 0
        self.events: list[tuple[int, int, str, str]] = []  # (at, sequence, kind, id)
        self.sequence = 0
        self.patients: dict[str, Joined] = {}
        self.connected: set[str] = set()
        self.agents = {f"a_sim{i}": q for i, q in enumerate(scenario.agent_queues)}
        self.lunching: set[str] = set()  # going away once their call is wrapped up
        self.at_lunch: set[str] = set()

    def schedule(self, delay_ms: float, kind: str, ident: str) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (self.now_ms + int(delay_ms), self.sequence, kind, ident))

    def next_arrival(self, queue: str) -> None:
        share = self.scenario.arrival_share[self.scenario.queues.index(queue)]
        rate = self.scenario.arrivals_per_s * share
        self.schedule(self.rng.expovariate(rate) * 1000, "arrive", queue)

    def next_surge_arrival(self, queue: str, factor: float, until_ms: int) -> None:
        share = self.scenario.arrival_share[self.scenario.queues.index(queue)]
        rate = self.scenario.arrivals_per_s * share * (factor - 1.0)
        delay = self.rng.expovariate(rate) * 1000
        if self.now_ms + delay < until_ms:
            self.schedule(delay, "surge_arrive", f"{queue}|{factor}|{until_ms}")

    async def run(self, wall_deadline: float) -> bool:
        """Run to the scenario's end; False if the wall-clock deadline cut it short."""
        s = self.scenario
        for aid, served in self.agents.items():
            await self.engine.agent_signin(aid, "Sim agent", served, ["en"])
            await self.engine.set_status(aid, "available")
            self.connected.add(f"a:{aid}")
        for queue in s.queues:
            self.next_arrival(queue)
        if s.lunch:
            start, end, count = s.lunch
            for aid in list(self.agents)[:count]:
                self.schedule(start * HOUR_MS, "lunch_out", aid)
                self.schedule(end * HOUR_MS, "lunch_back", aid)
        for start, minutes, factor in s.surges:
            until = int((start + minutes / 60) * HOUR_MS)
            for queue in s.queues:
                self.schedule(start * HOUR_MS, "surge", f"{queue}|{factor}|{until}")
        end_ms = int(s.hours * HOUR_MS)
        while self.now_ms < end_ms:
            if time.monotonic() > wall_deadline:
                return False
            step = min(self.events[0][0], self.now_ms + self.MAX_STEP_MS) - self.now_ms
            if step > 0:
                await self.engine.skew_clock(step)
                self.now_ms += step
            await self.engine.renew(sorted(self.connected))
            while self.events and self.events[0][0] <= self.now_ms:
                _, _, kind, ident = heapq.heappop(self.events)
                await self.handle(kind, ident)
            for offer in (await self.engine.tick()).offers:
                await self.offered(offer)
        return True

    async def handle(self, kind: str, ident: str) -> None:
        s = self.scenario
        if kind == "arrive":
            await self.arrive(ident)
            self.next_arrival(ident)
        elif kind in ("surge", "surge_arrive"):
            queue, factor, until = ident.split("|")
            if kind == "surge_arrive":
                await self.arrive(queue)
            self.next_surge_arrival(queue, float(factor), int(until))
        elif kind == "hang_up":
            end = await self.engine.finish(ident)
            self.connected.discard(f"p:{end.patient}")
            self.schedule(lognormal(self.rng, s.wrap_mean_s, s.wrap_sigma) * 1000, "wrapped", ident)
        elif kind == "wrapped":
            lunch = ident in self.lunching
            offer = await self.engine.wrapup_done(ident, "resolved", available=not lunch)
            if lunch:
                self.lunching.discard(ident)
                self.at_lunch.add(ident)
            if offer is not None:
                await self.offered(offer)
        elif kind == "lunch_out":
            await self.lunch_out(ident)
        elif kind == "lunch_back":
            self.lunching.discard(ident)
            if ident in self.at_lunch:
                self.at_lunch.discard(ident)
                await self.back(ident)
        elif kind == "back" and ident not in self.at_lunch:
            await self.back(ident)

    async def lunch_out(self, aid: str) -> None:
        """Away now if free (an open offer goes back), else once the call is wrapped up."""
        if (await self.engine.agent(aid)).get("state") in ("in_call", "wrap_up"):
            self.lunching.add(aid)
        else:
            await self.engine.set_status(aid, "away", "lunch")
            self.at_lunch.add(aid)

    async def back(self, aid: str) -> None:
        try:
            offer = await self.engine.set_status(aid, "available")
        except Conflict:
            return  # not away any more (a call or wrap-up): nothing to do
        if offer is not None:
            await self.offered(offer)

    async def offered(self, offer: Offer) -> None:
        if self.rng.random() < self.scenario.miss:
            # The agent does not answer: the ticker expires the offer (the patient keeps
            # their place) and the agent is away until they notice.
            timeout = self.engine.timing.offer_timeout_ms
            self.schedule(timeout + 1, "tick", offer.agent)
            self.schedule(timeout + self.scenario.away_s * 1000, "back", offer.agent)
            return
        await self.engine.accept(offer.agent, offer.token)
        joined = self.patients[offer.patient]
        joined.waited_ms = self.now_ms - joined.at_ms
        handle_s = lognormal(self.rng, self.scenario.handle_mean_s, self.scenario.handle_sigma)
        self.schedule(handle_s * 1000, "hang_up", offer.agent)

    async def arrive(self, queue: str) -> None:
        pid = f"p_sim{self.sequence}"
        await self.engine.join(pid, queue, DETAILS)
        self.connected.add(f"p:{pid}")
        desk = await self.engine.desk_now()
        shown = await self.engine.position(pid)
        self.patients[pid] = Joined(
            queue=queue,
            at_ms=self.now_ms,
            position=shown.position,
            shown=shown.estimate,
            answer=replay(desk).get(pid),
            legacy=legacy_estimate(desk, pid, queue),
        )


# -- the model shipped until 2026-12-01, kept to be compared with -----------------------------
_LEGACY_BUCKETS = (1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240)


def legacy_estimate(desk: DeskNow, pid: str, queue: str) -> WaitEstimate:
    """Place (plus patients of other queues ahead, weighted by shared agents) minus free
    agents, less half a place, times the cycle over the staffed agents; range 0.7–1.3x
    widened to the next of ``_LEGACY_BUCKETS``."""
    staffed = [set(a.queues) for a in desk.agents]
    mine = [a for a in staffed if queue in a]
    available = sum(1 for a in desk.agents if queue in a.queues and a.state == "available")
    if not mine:
        return WaitEstimate(known=False)
    order = next(i for i, (p, _) in enumerate(desk.waiting) if p == pid)
    ahead: dict[str, int] = {}
    for _, q in desk.waiting[: order + 1]:
        ahead[q] = ahead.get(q, 0) + 1
    place = float(ahead[queue])
    for other, count in ahead.items():
        serving = [a for a in staffed if other in a]
        if other != queue and serving:
            place += count * sum(1 for a in serving if queue in a) / len(serving)
    stats = desk.queues[queue]
    cycle = stats.cycle_s if stats.measured else 300.0
    needed = place - available
    seconds = 0.0 if needed <= 0 else max(0.0, needed - 0.5) * cycle / len(mine)
    minutes = seconds / 60
    if minutes < 1:
        return WaitEstimate(known=True, low_minutes=0, high_minutes=1, expected_seconds=seconds)
    low = max((b for b in _LEGACY_BUCKETS if b <= minutes * 0.7), default=0)
    high = next((b for b in _LEGACY_BUCKETS if b >= minutes * 1.3), 300)
    return WaitEstimate(True, low, high if high > low else low + 1, seconds)


# -- judging ----------------------------------------------------------------------------------
Shown = Callable[[Joined], WaitEstimate]
MODELS: dict[str, Shown] = {"engine": lambda p: p.shown, "legacy": lambda p: p.legacy}


@dataclass(frozen=True, slots=True)
class Accuracy:
    error: float  # median |estimate - actual| / median actual wait
    coverage: float  # share of actual waits inside the range shown (known estimates)
    width_min: float  # median width of the range shown, minutes (known estimates)
    unknown: float  # share told the desk cannot estimate
    median_abs_s: float


def accuracy(patients: Sequence[Joined], shown: Shown) -> Accuracy:
    estimates = [(shown(p), p.waited_ms / 1000) for p in patients]
    known = [(e, a) for e, a in estimates if e.known]
    median_abs = statistics.median(abs(e.expected_seconds - a) for e, a in estimates)
    median_actual = statistics.median(a for _, a in estimates)
    return Accuracy(
        error=median_abs / median_actual if median_actual else math.inf,
        coverage=(
            sum(1 for e, a in known if e.low_minutes * 60 <= a <= e.high_minutes * 60) / len(known)
            if known
            else 0.0
        ),
        width_min=statistics.median(e.high_minutes - e.low_minutes for e, _ in known)
        if known
        else 0.0,
        unknown=1 - len(known) / len(estimates),
        median_abs_s=median_abs,
    )


@dataclass
class Result:
    scenario: Scenario
    seed: int
    patients: list[Joined]
    complete: bool
    wall_s: float
    judged: dict[str, Accuracy] = field(default_factory=dict)


CLINIC, PHARMACY = ("clinic",), ("pharmacy",)
BOTH = CLINIC + PHARMACY
SHARED = (CLINIC,) * 2 + (PHARMACY,) * 2 + (BOTH,) * 2
SCENARIOS = (
    Scenario("A", CLINIC, (1.0,), (CLINIC,) * 5, load=0.85),
    Scenario("B", CLINIC, (1.0,), (CLINIC,) * 8, load=0.9),
    Scenario("C", BOTH, (0.6, 0.4), (BOTH,) * 6, load=0.85),
    Scenario("D", BOTH, (0.5, 0.5), SHARED, load=0.85),
    Scenario("E", CLINIC, (1.0,), (CLINIC,) * 3, load=0.8),
    Scenario("F lunch", BOTH, (0.5, 0.5), SHARED, load=0.85, miss=0.03, lunch=(5.0, 6.0, 3)),
    Scenario(
        "G surge",
        CLINIC,
        (1.0,),
        (CLINIC,) * 6,
        load=0.75,
        miss=0.03,
        surges=((4.0, 20.0, 3.0), (9.0, 20.0, 3.0)),
    ),
)


# What tests/test_wait_simulation.py runs in CI: the full days of the benchmark's seeds
# (shorter days swing too much: half a day of one scenario ranged 13-42% between seeds),
# and the bounds it holds them to, about 5 points of error and of coverage outside what
# the benchmark measured on 2026-12-02 (docs/queue.md). A scenario past its bound is a
# regression of the model; the targets themselves are TARGET_ERROR and TARGET_COVERAGE.
CI_SEEDS = (1, 2, 3, 4, 5, 6, 7)
CI_HOURS: float | None = None
CI_BOUNDS: dict[str, tuple[float, tuple[float, float]]] = {
    "A": (0.27, (0.78, 0.93)),
    "B": (0.30, (0.80, 0.93)),
    "C": (0.29, (0.82, 0.94)),
    "D": (0.31, (0.76, 0.92)),
    "E": (0.27, (0.82, 0.94)),
    "F lunch": (0.25, (0.70, 0.88)),
    "G surge": (0.22, (0.80, 0.94)),
}


async def simulate_one(
    redis: Redis, scenario: Scenario, seed: int, deadline: float, hours: float | None = None
) -> Result:
    from bench.queue import fresh_desk

    if hours is not None:
        scenario = dataclasses.replace(scenario, hours=hours)
    queues = tuple(QueueConfig(q, ("en",), 120) for q in scenario.queues)
    started = time.monotonic()
    async with fresh_desk(redis, "sim") as keys:
        sim = Simulation(QueueEngine(redis, keys, queues, Simulation.TIMING), scenario, seed)
        complete = await sim.run(deadline)
    warm_ms = scenario.warmup_hours * HOUR_MS
    patients = [p for p in sim.patients.values() if p.at_ms >= warm_ms and p.waited_ms >= 0]
    result = Result(scenario, seed, patients, complete, time.monotonic() - started)
    if len(patients) >= 20:
        result.judged = {name: accuracy(patients, shown) for name, shown in MODELS.items()}
    return result


async def simulate_all(
    redis: Redis, budget_s: float, seeds: Sequence[int], hours: float | None = None
) -> list[Result]:
    """Every scenario at once (each on a desk and clock of its own) within the budget."""
    deadline = time.monotonic() + budget_s
    return list(
        await asyncio.gather(
            *(
                simulate_one(redis, scenario, seed, deadline, hours)
                for scenario, seed in zip(SCENARIOS, seeds, strict=True)
            )
        )
    )


def print_results(results: Sequence[Result]) -> None:
    for r in results:
        print(f"\n{r.scenario.describe()}")
        state = "complete" if r.complete else "cut short by the time budget"
        print(
            f"  seed {r.seed}: {r.scenario.hours:g} simulated hours ({state}) in {r.wall_s:.0f} s,"
            f" first {r.scenario.warmup_hours:g} h not counted; {len(r.patients)} patients"
        )
        if not r.judged:
            print("  too few patients to judge")
            continue
        actual = [p.waited_ms / 1000 for p in r.patients]
        print(
            f"  actual wait median {statistics.median(actual):.0f} s, mean "
            f"{statistics.fmean(actual):.0f} s, p90 {statistics.quantiles(actual, n=10)[-1]:.0f} s"
        )
        for name, a in r.judged.items():
            print(
                f"  {name:<7} error {a.error:4.0%} (median |err| {a.median_abs_s:4.0f} s)  "
                f"inside range {a.coverage:4.0%}  median width {a.width_min:g} min  "
                f"unknown {a.unknown:.0%}"
            )
    print(
        f"\nerror = median |estimate - actual| / median actual wait (target <= "
        f"{TARGET_ERROR:.0%}); inside = actual wait within the range shown (target "
        f"{TARGET_COVERAGE[0]:.0%}-{TARGET_COVERAGE[1]:.0%}); width = high - low, minutes."
    )
    print(f"{'scenario':<10}{'engine':>8}{'legacy':>8}{'inside':>8}{'legacy':>8}{'width':>7}  met")
    for r in results:
        if not r.judged:
            continue
        e, old = r.judged["engine"], r.judged["legacy"]
        met = e.error <= TARGET_ERROR and TARGET_COVERAGE[0] <= e.coverage <= TARGET_COVERAGE[1]
        print(
            f"{r.scenario.name:<10}{e.error:>8.0%}{old.error:>8.0%}{e.coverage:>8.0%}"
            f"{old.coverage:>8.0%}{e.width_min:>7g}  {'MET' if met else 'NOT MET'}"
        )


def print_calibration(results: Sequence[Result]) -> None:
    """Actual wait over the replayed time, by turns: the table estimate.py uses."""
    pairs = [
        (p.answer.turns, p.waited_ms / 1000 / p.answer.at_s)
        for r in results
        for p in r.patients
        if p.answer is not None and p.answer.turns > 0 and p.answer.at_s > 0
    ]
    print("\nactual / replayed wait by turns (patients answered after >= 1 turn):")
    print(f"  {'turns':<8}{'n':>6}{'q10':>7}{'q15':>7}{'q50':>7}{'q85':>7}{'q90':>7}")
    table = []
    low = 1
    for high in TURN_BUCKETS:
        ratios = sorted(x for t, x in pairs if low <= t <= high)
        if len(ratios) >= 20:
            q = statistics.quantiles(ratios, n=20)
            mid = statistics.median(ratios)
            print(
                f"  {low:>2}-{high:<5}{len(ratios):>6}{q[1]:>7.2f}{q[2]:>7.2f}{mid:>7.2f}"
                f"{q[16]:>7.2f}{q[17]:>7.2f}"
            )
            table.append(f"({high}, {q[2]:.2f}, {q[16]:.2f})")
        low = high + 1
    print("  for estimate.py CALIBRATION (turns up to, q15, q85): " + ", ".join(table))


async def estimate_cost(redis: Redis, waiting: int = 10_000, agents: int = 200) -> None:
    """The cost of every waiting patient's estimate: one desk_now read, one replay and
    ``waiting`` estimates, beside the floor of reading the same queues (ZRANGE)."""
    from bench.queue import fresh_desk

    queues = (QueueConfig("clinic", ("en",), 120), QueueConfig("pharmacy", ("en",), 120))
    async with fresh_desk(redis, "cost") as keys:
        engine = QueueEngine(redis, keys, queues, Simulation.TIMING)
        for i in range(agents):
            served = ["clinic", "pharmacy"] if i % 3 == 0 else [queues[i % 2].name]
            await engine.agent_signin(f"a_cost{i}", "Cost agent", served, ["en"])
            await engine.set_status(f"a_cost{i}", "available")
        pids = [f"p_cost{i}" for i in range(agents + waiting)]
        for start in range(0, len(pids), 500):
            batch = pids[start : start + 500]
            await asyncio.gather(
                *(engine.join(pid, queues[i % 2].name, DETAILS) for i, pid in enumerate(batch))
            )
        for offer in await engine.dispatch():
            await engine.accept(offer.agent, offer.token)
        rounds: dict[str, list[float]] = {
            "floor": [], "desk": [], "replay": [], "positions": [], "head": [], "back": []
        }  # fmt: skip
        for _ in range(5):
            t0 = time.perf_counter()
            await redis.zrange(keys.queue("clinic"), 0, -1, withscores=True)
            await redis.zrange(keys.queue("pharmacy"), 0, -1, withscores=True)
            t1 = time.perf_counter()
            desk = await engine.desk_now()
            t2 = time.perf_counter()
            replay(desk)
            t3 = time.perf_counter()
            await engine.positions(pids[agents:])
            t4 = time.perf_counter()
            await engine.position(pids[agents])
            t5 = time.perf_counter()
            await engine.position(pids[-1])
            t6 = time.perf_counter()
            spans = (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5)
            for name, value in zip(rounds, spans, strict=True):
                rounds[name].append(value * 1000)
    ms = {name: statistics.median(values) for name, values in rounds.items()}
    print(f"\nestimates for {len(desk.waiting)} waiting patients, {agents} agents (median of 5):")
    print(f"  floor: ZRANGE of both queues           {ms['floor']:7.1f} ms")
    print(f"  desk_now (one script read)             {ms['desk']:7.1f} ms")
    print(f"  replay of the dispatch (Python)        {ms['replay']:7.1f} ms")
    print(
        f"  engine.positions for all of them       {ms['positions']:7.1f} ms"
        " (desk_now + replay + rows in batches of 500)"
    )
    print(
        f"  one patient's position, first in line     {ms['head']:7.1f} ms (the replay stops there)"
    )
    print(f"  one patient's position, last in line      {ms['back']:7.1f} ms")
