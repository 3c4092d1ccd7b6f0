"""The wait forecast and the range shown (pure logic; their accuracy is measured by
``python -m bench.queue --simulate`` and, on a small seed, by test_wait_simulation.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from server.queue.estimate import (
    CALIBRATION,
    MAX_MINUTES,
    Shown,
    WaitEstimate,
    estimate_wait,
    why_up,
)
from server.queue.forecast import AgentNow, Answer, DeskNow, QueueNow, replay

QUEUES = ("clinic", "pharmacy", "dental")
MEASURED = QueueNow(handle_s=300, wrapup_s=30)
STATES = ("available", "offered", "in_call", "wrap_up")

agents = st.lists(
    st.builds(
        AgentNow,
        queues=st.lists(st.sampled_from(QUEUES), min_size=1, max_size=3, unique=True).map(tuple),
        state=st.sampled_from(STATES),
        elapsed_s=st.floats(0, 3000),
    ),
    max_size=8,
)
waiting = st.lists(st.sampled_from(QUEUES), max_size=40)
stats = st.fixed_dictionaries(
    {
        q: st.builds(QueueNow, handle_s=st.floats(0, 1200), wrapup_s=st.floats(0, 300))
        for q in QUEUES
    }
)


def desk_of(queues: list[str], staff: list[AgentNow], averages: dict[str, QueueNow]) -> DeskNow:
    return DeskNow(
        queues=averages, waiting=[(f"p{i}", q) for i, q in enumerate(queues)], agents=staff
    )


@settings(max_examples=300, deadline=None)
@given(waiting, agents, stats)
def test_unknown_exactly_when_nobody_working_serves_the_queue(
    queues: list[str], staff: list[AgentNow], averages: dict[str, QueueNow]
) -> None:
    answers = replay(desk_of(queues, staff, averages))
    served = {q for agent in staff for q in agent.queues}
    for i, q in enumerate(queues):
        assert (f"p{i}" in answers) == (q in served)
        estimate = estimate_wait(answers.get(f"p{i}"), averages[q])
        if q not in served:
            assert not estimate.known and estimate.reason == "nobody_staffed"


@settings(max_examples=300, deadline=None)
@given(waiting, agents, stats)
def test_never_negative_and_monotone_in_place(
    queues: list[str], staff: list[AgentNow], averages: dict[str, QueueNow]
) -> None:
    answers = replay(desk_of(queues, staff, averages))
    for q in QUEUES:
        line = [
            answers[f"p{i}"] for i, name in enumerate(queues) if name == q and f"p{i}" in answers
        ]
        assert all(a.at_s >= 0 and a.turns >= 0 for a in line)
        # Later in the same queue: never answered sooner, never in fewer turns.
        assert [a.at_s for a in line] == sorted(a.at_s for a in line)
        assert [a.turns for a in line] == sorted(a.turns for a in line)
        shown = [estimate_wait(a, averages[q]) for a in line]
        known = [e for e in shown if e.known]
        assert all(0 <= e.low_minutes < e.high_minutes <= MAX_MINUTES for e in known)
        assert [e.expected_seconds for e in shown] == sorted(e.expected_seconds for e in shown)


@given(st.integers(1, 60), st.floats(1, 20_000))
def test_the_range_holds_the_replayed_time(turns: int, at_s: float) -> None:
    estimate = estimate_wait(Answer(at_s, turns), MEASURED)
    if estimate.known and estimate.high_minutes > 1:
        assert estimate.low_minutes * 60 <= at_s * 1.1 and at_s <= estimate.high_minutes * 60
    else:
        assert estimate.known or estimate.reason == "beyond_range"


def test_a_free_agent_means_very_soon_even_before_any_call_is_measured() -> None:
    desk = desk_of(["clinic"], [AgentNow(("clinic",), "available")], {"clinic": QueueNow()})
    assert replay(desk)["p0"] == Answer(0.0, 0)
    estimate = estimate_wait(replay(desk)["p0"], QueueNow())
    assert (estimate.known, estimate.low_minutes, estimate.high_minutes) == (True, 0, 1)


def test_no_measured_call_means_no_guess() -> None:
    desk = desk_of(["clinic"] * 3, [AgentNow(("clinic",), "in_call", 60)], {"clinic": QueueNow()})
    estimate = estimate_wait(replay(desk)["p2"], QueueNow())
    assert not estimate.known and estimate.reason == "not_measured"


def test_a_surge_beyond_three_hours_is_not_guessed() -> None:
    desk = desk_of(["clinic"] * 200, [AgentNow(("clinic",), "in_call", 60)], {"clinic": MEASURED})
    answers = replay(desk)
    assert estimate_wait(answers["p3"], MEASURED).known
    far = estimate_wait(answers["p199"], MEASURED)
    assert not far.known and far.reason == "beyond_range"


def test_shared_agents_count_by_what_they_serve() -> None:
    """Two dedicated clinic agents and one shared with a long pharmacy queue ahead: the
    shared agent takes the pharmacy patients who came first, so the clinic moves at the
    pace of its own agents (the old model counted every staffed agent)."""
    staff = [
        AgentNow(("clinic",), "in_call", 100),
        AgentNow(("clinic",), "in_call", 200),
        AgentNow(("clinic", "pharmacy"), "in_call", 150),
    ]
    averages = {"clinic": MEASURED, "pharmacy": MEASURED}
    queues = ["pharmacy"] * 6 + ["clinic"] * 4
    answers = replay(desk_of(queues, staff, averages))
    dedicated_pace = MEASURED.cycle_s / 2
    last_clinic = answers["p9"]
    # 4 clinic patients on 2 agents: about two cycles, not 4 of 3 agents' thirds.
    assert last_clinic.at_s > 1.5 * dedicated_pace
    alone = replay(desk_of(["clinic"] * 4, staff, averages))["p3"]
    assert alone.at_s < last_clinic.at_s


def test_agents_away_do_not_answer() -> None:
    averages = {"clinic": MEASURED}
    two = [AgentNow(("clinic",), "in_call", 10), AgentNow(("clinic",), "in_call", 20)]
    with_both = replay(desk_of(["clinic"] * 5, two, averages))["p4"]
    one_left = replay(desk_of(["clinic"] * 5, two[:1], averages))["p4"]
    assert one_left.at_s > with_both.at_s


def test_calibration_widens_for_the_first_turns() -> None:
    widths = [high / low for _, low, high in CALIBRATION]
    assert widths == sorted(widths, reverse=True)


def test_why_an_estimate_went_up() -> None:
    before = Shown(True, 5, 10, "", staffed=4, place=3)
    up = WaitEstimate(True, 10, 15, 700.0)
    assert why_up(before, up, staffed=3, place=3) == "fewer_agents"
    assert why_up(before, up, staffed=4, place=4) == "moved_back"
    assert why_up(before, up, staffed=4, place=2) == "calls_longer"
    down = WaitEstimate(True, 3, 5, 200.0)
    assert why_up(before, down, staffed=3, place=2) == ""
    assert why_up(None, up, staffed=3, place=3) == ""
    told = Shown(True, 10, 15, "fewer_agents", staffed=3, place=3)
    assert why_up(told, up, staffed=3, place=2) == "fewer_agents"  # unchanged: it stands


@given(st.text(max_size=40))
def test_what_was_shown_parses_or_is_ignored(text: str) -> None:
    shown = Shown.parse(text)
    assert shown is None or isinstance(shown.place, int)
    assert Shown.parse("1:5:10:fewer_agents:3:7") == Shown(True, 5, 10, "fewer_agents", 3, 7)


@settings(max_examples=200, deadline=None)
@given(waiting, agents, stats, st.data())
def test_a_replay_stopped_early_agrees(
    queues: list[str], staff: list[AgentNow], averages: dict[str, QueueNow], data: st.DataObject
) -> None:
    desk = desk_of(queues, staff, averages)
    everyone = replay(desk)
    pids = [f"p{i}" for i in range(len(queues))]
    wanted = data.draw(st.lists(st.sampled_from(pids), max_size=3)) if pids else []
    some = replay(desk, wanted=wanted)
    assert {p: everyone[p] for p in wanted if p in everyone} == {
        p: some[p] for p in wanted if p in some
    }
    assert all(p in some for p in wanted if p in everyone)


@settings(max_examples=200, deadline=None)
@given(waiting, agents, stats, st.data())
def test_nobody_behind_a_patient_changes_their_wait(
    queues: list[str], staff: list[AgentNow], averages: dict[str, QueueNow], data: st.DataObject
) -> None:
    """Why desk_now.lua may read each queue only up to the patients asked about."""
    if not queues:
        return
    last = data.draw(st.integers(0, len(queues) - 1))
    everyone = replay(desk_of(queues, staff, averages))
    ahead = replay(desk_of(queues[: last + 1], staff, averages))
    assert {p: a for p, a in everyone.items() if int(p[1:]) <= last} == ahead
