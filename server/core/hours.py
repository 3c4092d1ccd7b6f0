"""The desk's opening hours: when people answer video calls.

``VIDEODESK_OPENING_HOURS`` lists day ranges with their hours, in the desk's time
zone (``VIDEODESK_TIMEZONE``)::

    mon-fri 08:00-18:00, sat 09:00-12:30

The lobby shows them (in the page's language, from :meth:`OpeningHours.public`) and
says whether the desk is open now, so that a patient who finds nobody answering
learns when to come back, and is offered a call-back first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PERIOD = re.compile(
    r"(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+"
    r"(?P<start>\d{2}:\d{2})-(?P<end>\d{2}:\d{2})"
)


@dataclass(frozen=True, slots=True)
class Period:
    """Open from ``start`` to ``end`` on each of ``days`` (0 is Monday)."""

    days: tuple[int, ...]
    start: time
    end: time

    def covers(self, moment: datetime) -> bool:
        return moment.weekday() in self.days and self.start <= moment.time() < self.end


@dataclass(frozen=True, slots=True)
class OpeningHours:
    periods: tuple[Period, ...]
    timezone: str

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.timezone))
        return any(period.covers(local) for period in self.periods)

    def public(self, moment: datetime) -> dict[str, Any]:
        """What the lobby shows: each period (days 0–6, Monday first), the zone, open now."""
        return {
            "periods": [
                {
                    "days": list(period.days),
                    "start": period.start.strftime("%H:%M"),
                    "end": period.end.strftime("%H:%M"),
                }
                for period in self.periods
            ],
            "timezone": self.timezone,
            "open_now": self.is_open(moment),
        }


def timezone_name(raw: str) -> str:
    """An IANA zone name such as ``Europe/London``."""
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"not a time zone name like Europe/London: {raw!r}") from None
    return raw


def _clock(raw: str) -> time:
    hours, minutes = (int(part) for part in raw.split(":"))
    if hours == 24 and minutes == 0:
        return time.max
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"not a time of day: {raw!r}")
    return time(hours, minutes)


def _day(raw: str) -> int:
    if raw not in DAYS:
        raise ValueError(f"expected a day like mon or sat, got {raw!r}")
    return DAYS.index(raw)


def parse_periods(raw: str) -> tuple[Period, ...]:
    """Parse ``mon-fri 08:00-18:00, sat 09:00-12:30`` (days wrap: ``fri-mon``)."""
    periods = []
    for item in raw.lower().split(","):
        item = " ".join(item.split())
        if not item:
            continue
        match = _PERIOD.fullmatch(item)
        if match is None:
            raise ValueError(f"expected periods like 'mon-fri 08:00-18:00', got {item!r}")
        first = _day(match["first"])
        last = _day(match["last"]) if match["last"] else first
        days = tuple((first + step) % 7 for step in range((last - first) % 7 + 1))
        start, end = _clock(match["start"]), _clock(match["end"])
        if end <= start:
            raise ValueError(f"{item!r}: the end must come after the start")
        periods.append(Period(days=days, start=start, end=end))
    if not periods:
        raise ValueError("expected at least one period like 'mon-fri 08:00-18:00'")
    return tuple(periods)
