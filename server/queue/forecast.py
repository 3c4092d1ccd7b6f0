"""When each waiting patient will be answered: the desk's dispatch replayed forward.

The replay starts from what the desk knows now (``DeskNow``): every queued patient in
the order they will be offered, and every working agent with the queues they serve,
their state and how long they have been in it. Agents who are free take patients at
once. Busy agents come free one after another, the one furthest into their call
first, spread over one call cycle (handle plus wrap-up time of the queues they
serve). Each agent who comes free takes the first waiting patient, in any queue,
that they serve, and comes free again one cycle later. So an agent who serves two
queues takes turns between them as the desk does, and a queue with its own agents
moves at its own pace: the estimate counts shared agents by what they actually
serve. Agents away or signed out are not working and do not appear; an offer that
is missed sends the agent away, so it shows in the next replay.

The replay gives a time (``Answer.at_s``) and how many times an agent of the
patient's queue came free before and including the one that answers them
(``Answer.turns``). Turns tell how uncertain the time is: the first free agent is a
matter of luck, the tenth is an average of ten calls. ``server/queue/estimate.py``
turns both into the range a patient sees. The cost is one heap step per patient:
10,000 waiting patients replay in a few tens of milliseconds (``bench/queue.py``).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

# Handle plus wrap-up before any call of a queue has been measured. Used only to
# place agents of unmeasured queues in the replay; a patient of an unmeasured queue
# is told the desk cannot estimate yet (server/queue/estimate.py).
DEFAULT_CYCLE_S = 330.0
BUSY = ("offered", "in_call", "wrap_up")


@dataclass(frozen=True, slots=True)
class QueueNow:
    """A queue's measured averages (0 when nothing has been measured yet)."""

    handle_s: float = 0.0
    wrapup_s: float = 0.0

    @property
    def measured(self) -> bool:
        return self.handle_s > 0

    @property
    def cycle_s(self) -> float:
        return self.handle_s + self.wrapup_s if self.measured else DEFAULT_CYCLE_S


@dataclass(frozen=True, slots=True)
class AgentNow:
    """A working agent: ``state`` is available, offered, in_call or wrap_up."""

    queues: tuple[str, ...]
    state: str
    elapsed_s: float = 0.0


@dataclass(frozen=True, slots=True)
class DeskNow:
    """What the replay starts from. ``waiting`` is (patient, queue) in offer order."""

    queues: Mapping[str, QueueNow]
    waiting: Sequence[tuple[str, str]]
    agents: Sequence[AgentNow]


@dataclass(frozen=True, slots=True)
class Answer:
    """When a patient is answered in the replay, and after how many turns."""

    at_s: float
    turns: int  # 0: an agent is free now


def agent_cycle_s(agent: AgentNow, queues: Mapping[str, QueueNow]) -> float:
    cycles = [queues[q].cycle_s for q in agent.queues if q in queues]
    return sum(cycles) / len(cycles) if cycles else DEFAULT_CYCLE_S


def _progress_s(agent: AgentNow, queues: Mapping[str, QueueNow]) -> float:
    """How far through their cycle a busy agent is (a wrap-up follows a whole call)."""
    if agent.state == "wrap_up":
        handles = [queues[q].handle_s for q in agent.queues if q in queues]
        return (sum(handles) / len(handles) if handles else 0.0) + agent.elapsed_s
    if agent.state == "in_call":
        return agent.elapsed_s
    return 0.0  # offered: about to start a call


def first_free_s(desk: DeskNow) -> list[tuple[float, int]]:
    """(seconds until free, agent index) for every agent who serves a known queue.

    Busy agents are spread over one cycle in order of progress: if ``n`` are busy, the
    one furthest on comes free after half of ``cycle / n``, the next after one and a
    half, and so on. Calls vary too much for their elapsed time to say more than who
    is likely to finish first: a lognormal expected rest of each call, from its
    elapsed time and the measured spread of call lengths, was tried and judged worse
    in every scenario of ``bench/waits.py`` (docs/queue.md)."""
    busy = sorted(
        (
            (-_progress_s(agent, desk.queues), index)
            for index, agent in enumerate(desk.agents)
            if agent.state in BUSY
        ),
    )
    free = [(0.0, index) for index, agent in enumerate(desk.agents) if agent.state == "available"]
    count = len(busy)
    for rank, (_, index) in enumerate(busy):
        cycle = agent_cycle_s(desk.agents[index], desk.queues)
        free.append(((rank + 0.5) * cycle / count, index))
    return free


def replay(desk: DeskNow, wanted: Collection[str] = ()) -> dict[str, Answer]:
    """Every waiting patient whom some working agent serves, with when they are
    answered. Patients no working agent serves are left out: nobody can say. With
    ``wanted``, the replay stops once those are answered (one patient near the head
    of a long queue costs only the patients ahead of them)."""
    left = set(wanted)
    lines: dict[str, deque[tuple[int, str]]] = {}
    for order, (patient, queue) in enumerate(desk.waiting):
        lines.setdefault(queue, deque()).append((order, patient))
    if left:
        left.intersection_update(patient for patient, _ in desk.waiting)
        if not left:
            return {}  # none of them is waiting
    turns = dict.fromkeys(lines, 0)
    answers: dict[str, Answer] = {}
    heap = first_free_s(desk)
    heapq.heapify(heap)
    while heap and lines:
        at, index = heapq.heappop(heap)
        agent = desk.agents[index]
        served = [q for q in agent.queues if q in lines]
        if not served:
            continue  # nobody left whom this agent serves
        if at > 0:
            for q in served:
                turns[q] += 1
        queue = min(served, key=lambda q: lines[q][0][0])
        _, patient = lines[queue].popleft()
        if not lines[queue]:
            del lines[queue]
        answers[patient] = Answer(at_s=at, turns=turns[queue])
        if left:
            left.discard(patient)
            if not left:
                break
        heapq.heappush(heap, (at + desk.queues[queue].cycle_s, index))
    return answers
