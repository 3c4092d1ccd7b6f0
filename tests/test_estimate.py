"""The wait estimate's arithmetic (pure logic; its accuracy is measured by
``python -m bench.queue --simulate``)."""

from __future__ import annotations

from server.queue.estimate import DEFAULT_CYCLE_SECONDS, estimate_wait, expected_wait


def test_nobody_staffing_means_no_number() -> None:
    estimate = estimate_wait(3, staffed=0, available=0, handle_ms=300_000, wrapup_ms=0)
    assert not estimate.known
    assert estimate.as_dict() == {"known": False, "low_minutes": 0, "high_minutes": 0}


def test_free_agents_take_the_first_patients_at_once() -> None:
    assert expected_wait(2, staffed=3, available=2, handle_ms=300_000, wrapup_ms=0) == 0.0
    estimate = estimate_wait(2, staffed=3, available=2, handle_ms=300_000, wrapup_ms=0)
    assert (estimate.low_minutes, estimate.high_minutes) == (0, 1)


def test_each_place_costs_a_cycle_shared_by_the_agents() -> None:
    # 4 agents, all busy, 5 min calls + 1 min wrap-up: place 5 waits 4.5 cycles / 4.
    seconds = expected_wait(5, staffed=4, available=0, handle_ms=300_000, wrapup_ms=60_000)
    assert seconds == 4.5 * 360 / 4
    estimate = estimate_wait(5, staffed=4, available=0, handle_ms=300_000, wrapup_ms=60_000)
    assert estimate.low_minutes <= seconds / 60 <= estimate.high_minutes
    assert estimate.low_minutes < estimate.high_minutes


def test_before_any_call_a_default_cycle_is_used() -> None:
    seconds = expected_wait(3, staffed=1, available=0, handle_ms=0, wrapup_ms=0)
    assert seconds == 2.5 * DEFAULT_CYCLE_SECONDS


def test_patients_of_shared_queues_count_as_places() -> None:
    alone = expected_wait(2, staffed=2, available=0, handle_ms=240_000, wrapup_ms=0)
    shared = expected_wait(2 + 1.5, staffed=2, available=0, handle_ms=240_000, wrapup_ms=0)
    assert alone is not None and shared is not None and shared > alone


def test_ranges_grow_with_the_wait() -> None:
    ranges = [
        estimate_wait(p, staffed=2, available=0, handle_ms=300_000, wrapup_ms=30_000)
        for p in (2, 5, 10, 20)
    ]
    highs = [r.high_minutes for r in ranges]
    assert highs == sorted(highs) and highs[0] < highs[-1]
