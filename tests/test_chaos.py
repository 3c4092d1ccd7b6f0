"""The short chaos run (the long one is ``python -m bench.chaos``): three server processes,
patient and agent bots, random SIGKILLs and one Redis restart; nobody is lost."""

from __future__ import annotations

import pytest

from bench.chaos import ChaosConfig, run_chaos


@pytest.mark.timeout(240)
async def test_short_chaos_run_loses_nobody() -> None:
    config = ChaosConfig(patients=24, agents=4, seconds=24, kill_every=6, settle_seconds=60)
    result = await run_chaos(config)
    print(result.report())
    assert result.kills >= 2 and result.redis_restarts == 1
    assert result.joined == config.patients
    assert result.lost == 0, result.final_states
    assert result.overlapping_calls == []
    assert result.invariant_problems == []
