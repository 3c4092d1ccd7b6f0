"""The wait estimate a patient sees: a range in minutes, honest about what it knows.

``server/queue/forecast.py`` replays the desk's dispatch and says when a patient is
answered (``at_s``) after how many turns of their queue's agents. A wait that takes
``n`` turns is the sum of ``n`` gaps between agents coming free, so its spread shrinks
as ``n`` grows: the first free agent is luck, the tenth is an average. ``CALIBRATION``
holds, by turns, percentiles of actual over replayed waits, measured by
``python -m bench.queue --simulate --calibrate`` on seeds other than those the
simulation judges; the range is those, rounded to whole minutes (the high end up), so
that 80–90% of actual waits fall inside it (docs/queue.md has the table). The number the
desk keeps (``expected_seconds``, for the accuracy figures) is the replayed time
itself: scaling it by the median ratio per turn was tried and made the median
error worse on other seeds.

When the desk cannot know it says so (``known`` False) with a reason:
``nobody_staffed`` (no working agent serves the patient's queue, or every agent who
does is busy with patients who came first and the replay never reaches them),
``not_measured`` (no call of the queue has ended yet: any number would be a guess),
``beyond_range`` (more than ``MAX_MINUTES``: a surge beyond anything an average of
recent calls can speak for).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from server.queue.forecast import Answer, QueueNow

# The spread of actual over replayed waits, by turns: (turns up to, low, high)
# ratios, the 15th and 85th percentiles measured by
# ``python -m bench.queue --simulate --calibrate``.
CALIBRATION: tuple[tuple[int, float, float], ...] = (
    (1, 0.38, 3.58),
    (2, 0.51, 2.03),
    (4, 0.55, 1.55),
    (8, 0.74, 1.34),
    (16, 0.75, 1.20),
    (1_000_000, 0.78, 1.19),
)
TURN_BUCKETS = tuple(row[0] for row in CALIBRATION)
MAX_MINUTES = 180
SOON_SECONDS = 60.0  # an answer expected within a minute is shown as "very soon"

REASONS = ("nobody_staffed", "not_measured", "beyond_range")
# Why an estimate went up, in the page's plain words (web/static/i18n):
# fewer_agents "Fewer people are answering now."; moved_back "Someone who needs help
# first was placed ahead of you."; calls_longer "Calls are taking longer than usual."
WHY_UP = ("fewer_agents", "moved_back", "calls_longer")


@dataclass(frozen=True, slots=True)
class Shown:
    """What a patient was last told, and the desk as it stood then."""

    known: bool
    low_minutes: int
    high_minutes: int
    why: str
    staffed: int
    place: int

    @classmethod
    def parse(cls, text: str) -> Shown | None:
        """From positions.lua's "known:low:high:why:staffed:place" ("" when never told)."""
        parts = text.split(":")
        if len(parts) != 6:
            return None
        known, low, high, why, staffed, place = parts
        try:
            return cls(known == "1", int(low), int(high), why, int(staffed), int(place))
        except ValueError:
            return None

    def same(self, estimate: WaitEstimate) -> bool:
        return (self.known, self.low_minutes, self.high_minutes) == (
            estimate.known,
            estimate.low_minutes,
            estimate.high_minutes,
        )


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    """``known`` False: no honest number exists (``reason`` says why)."""

    known: bool
    low_minutes: int = 0
    high_minutes: int = 0
    expected_seconds: float = 0.0
    reason: str = ""
    why: str = ""  # why it went up since the patient was last told (WHY_UP), else ""

    def as_dict(self) -> dict[str, object]:
        return {
            "known": self.known,
            "low_minutes": self.low_minutes,
            "high_minutes": self.high_minutes,
        }


def spread(turns: int) -> tuple[float, float]:
    """(low, high) ratios of the actual wait over the replayed one, for ``turns``."""
    for most, low, high in CALIBRATION:
        if turns <= most:
            return low, high
    return CALIBRATION[-1][1:]


def _step(minutes: float) -> int:
    """Ranges are shown to the minute below 10 minutes, then to 5, then to 15."""
    return 1 if minutes < 10 else 5 if minutes < 60 else 15


def round_low(minutes: float) -> int:
    """The low end to the nearest step (outwards would put 92–94% of waits inside the
    range where waits are short, wider than it needs to be)."""
    step = _step(minutes)
    return int(round(minutes / step) * step)


def round_up(minutes: float) -> int:
    step = _step(minutes)
    return int(math.ceil(minutes / step) * step)


def estimate_wait(answer: Answer | None, queue: QueueNow) -> WaitEstimate:
    """The range shown to a patient, e.g. 5–10 minutes, from their replayed answer."""
    if answer is None:
        return WaitEstimate(known=False, reason="nobody_staffed")
    if answer.turns == 0:
        return WaitEstimate(known=True, low_minutes=0, high_minutes=1)
    if not queue.measured:
        return WaitEstimate(known=False, reason="not_measured")
    low_ratio, high_ratio = spread(answer.turns)
    median = answer.at_s
    low = answer.at_s * low_ratio / 60.0
    high = answer.at_s * high_ratio / 60.0
    if high > MAX_MINUTES:
        return WaitEstimate(known=False, expected_seconds=median, reason="beyond_range")
    if high * 60.0 <= SOON_SECONDS:
        return WaitEstimate(known=True, low_minutes=0, high_minutes=1, expected_seconds=median)
    shown_low, shown_high = round_low(low), round_up(high)
    if shown_high <= shown_low:
        shown_high = round_up(shown_low + 1)
    return WaitEstimate(
        known=True, low_minutes=shown_low, high_minutes=shown_high, expected_seconds=median
    )


def why_up(before: Shown | None, now: WaitEstimate, staffed: int, place: int) -> str:
    """Why the estimate now shown is higher than the last one, in one of ``WHY_UP``;
    "" when it is not higher (or there was none). Unchanged, the last reason stands."""
    if before is None:
        return ""
    if before.same(now):
        return before.why
    if not (before.known and now.known) or now.high_minutes <= before.high_minutes:
        return ""
    if staffed < before.staffed:
        return "fewer_agents"
    if place > before.place:
        return "moved_back"
    return "calls_longer"
