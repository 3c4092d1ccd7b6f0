"""A synthetic day of visits, as the queue scripts write its events, for the record tests
and bench/records.py."""

from __future__ import annotations

import random


def visit_day(patients: int, seed: int = 7) -> list[dict[str, str]]:
    """A day of visits as the queue scripts write them: most answered, rated and wrapped
    up; some leave, some book a call-back, some are lost; interleaved in time."""
    rng = random.Random(seed)
    start = 1_772_438_400_000  # 2026-03-02 08:00 UTC
    timed: list[tuple[int, int, dict[str, str]]] = []
    for n in range(patients):
        pid, queue, joined = f"p{n}", rng.choice(["appointments", "pharmacy"]), start + n * 900
        steps: list[tuple[int, dict[str, str]]] = [
            (0, {"type": "joined", "patient": pid, "queue": queue, "ticket": str(n), "band": "2"})
        ]
        fate = rng.random()
        wait = rng.randint(5_000, 600_000)
        if fate < 0.75:
            call, agent = f"c{n}", f"a{n % 7}"
            steps += [
                (wait - 100, {"type": "offered", "patient": pid, "agent": agent, "queue": queue}),
                (wait, {"type": "accepted", "patient": pid, "agent": agent, "queue": queue,
                        "call": call, "wait_ms": str(wait)}),
                (wait + 300_000, {"type": "call_ended", "patient": pid, "agent": agent,
                                  "queue": queue, "call": call, "reason": "completed",
                                  "handle_ms": "300000"}),
                (wait + 330_000, {"type": "wrapup", "agent": agent, "call": call,
                                  "patient": pid, "outcome": "resolved"}),
                (wait + 340_000, {"type": "rated", "patient": pid, "call": call,
                                  "queue": queue, "rating": str(rng.randint(1, 5))}),
            ]  # fmt: skip
        elif fate < 0.85:
            steps.append((wait, {"type": "left", "patient": pid, "queue": queue,
                                 "reason": "self_help"}))  # fmt: skip
        elif fate < 0.93:
            steps += [
                (wait, {"type": "callback_requested", "patient": pid, "queue": queue,
                        "mode": "video"}),
                (wait + 900_000, {"type": "callback_due", "patient": pid, "queue": queue}),
            ]  # fmt: skip
        else:
            steps.append((wait, {"type": "abandoned", "patient": pid, "queue": queue,
                                 "reason": "lease_lapsed"}))  # fmt: skip
        for i, (offset, fields) in enumerate(steps):
            timed.append((joined + offset, i, {**fields, "at": str(joined + offset)}))
    timed.sort(key=lambda t: (t[0], t[1]))
    return [fields for _, _, fields in timed]
