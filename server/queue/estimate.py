"""The wait estimate a patient sees: a range in minutes, honest about what it knows.

Model: agents who are free now take the first patients at once; after that a
place moves up each time one of the ``staffed`` agents finishes a patient, which
happens on average every ``(handle + wrap-up) / staffed`` seconds. Agents already
in a call when the patient joins are part-way through it, so the first of them is
free half a cycle early on average (the half place below). ``position`` counts
patients of other queues whom the same agents will serve first (positions.lua:
``ahead_shared``). The range around that point is wide enough to be honest: the
simulation in ``bench/queue.py --simulate`` measures the error and how often
actual waits fall inside the range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_CYCLE_SECONDS = 300.0  # before any call has been measured on a queue
_BUCKETS = (1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240)


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    """``known`` is False when nobody is staffing the queue: no honest number exists."""

    known: bool
    low_minutes: int = 0
    high_minutes: int = 0
    expected_seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "known": self.known,
            "low_minutes": self.low_minutes,
            "high_minutes": self.high_minutes,
        }


def _bucket_down(minutes: float) -> int:
    best = 0
    for bucket in _BUCKETS:
        if bucket <= minutes:
            best = bucket
    return best


def _bucket_up(minutes: float) -> int:
    for bucket in _BUCKETS:
        if bucket >= minutes:
            return bucket
    return int(math.ceil(minutes / 60.0) * 60)


def expected_wait(
    position: float, staffed: int, available: int, handle_ms: float, wrapup_ms: float
) -> float | None:
    """Expected seconds until a patient at ``position`` (1 = next) is answered."""
    if staffed <= 0:
        return None
    cycle = (handle_ms + wrapup_ms) / 1000.0 if handle_ms > 0 else DEFAULT_CYCLE_SECONDS
    needed = position - available
    if needed <= 0:
        return 0.0
    return max(0.0, needed - 0.5) * cycle / staffed


def estimate_wait(
    position: float, staffed: int, available: int, handle_ms: float, wrapup_ms: float
) -> WaitEstimate:
    """The range shown to a patient, e.g. 5–10 minutes."""
    seconds = expected_wait(position, staffed, available, handle_ms, wrapup_ms)
    if seconds is None:
        return WaitEstimate(known=False)
    minutes = seconds / 60.0
    if minutes < 1.0:
        return WaitEstimate(known=True, low_minutes=0, high_minutes=1, expected_seconds=seconds)
    low = _bucket_down(minutes * 0.7)
    high = _bucket_up(minutes * 1.3)
    if high <= low:
        high = _bucket_up(low + 1)
    return WaitEstimate(known=True, low_minutes=low, high_minutes=high, expected_seconds=seconds)
