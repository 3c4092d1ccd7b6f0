"""The wait estimate judged on simulated days in CI: the real engine on a throwaway
Redis, every scenario of bench/waits.py on a shorter day, against the bounds
documented in docs/queue.md (``CI_BOUNDS``). The full days, their figures beside the
old model's and the targets are printed by ``python -m bench.queue --simulate``."""

from __future__ import annotations

from redis.asyncio import Redis

from bench.waits import CI_BOUNDS, CI_HOURS, CI_SEEDS, SCENARIOS, simulate_all


async def test_every_scenario_within_its_bound(redis: Redis) -> None:
    results = await simulate_all(redis, budget_s=240, seeds=CI_SEEDS, hours=CI_HOURS)
    failures = []
    for result in results:
        name = result.scenario.name
        assert result.complete, f"{name}: the simulation did not finish in time"
        judged = result.judged["engine"]
        most_error, coverage = CI_BOUNDS[name]
        patients = len(result.patients)
        print(f"{name}: error {judged.error:.0%}, inside {judged.coverage:.0%}, n={patients}")
        if judged.error > most_error:
            failures.append(f"{name}: error {judged.error:.0%} > {most_error:.0%}")
        if not coverage[0] <= judged.coverage <= coverage[1]:
            failures.append(f"{name}: inside the range {judged.coverage:.0%}, not {coverage}")
    assert len(results) == len(SCENARIOS)
    assert not failures, failures
