"""Typed results of the queue engine's operations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from server.queue.estimate import WaitEstimate

PatientState = Literal[
    "waiting", "offered", "in_call", "on_hold", "callback_pending", "done", "left", "abandoned"
]
AgentState = Literal["offline", "available", "offered", "in_call", "wrap_up", "away"]
PATIENT_STATES: tuple[PatientState, ...] = (
    "waiting",
    "offered",
    "in_call",
    "on_hold",
    "callback_pending",
    "done",
    "left",
    "abandoned",
)
AGENT_STATES: tuple[AgentState, ...] = (
    "offline",
    "available",
    "offered",
    "in_call",
    "wrap_up",
    "away",
)
ACTIVE_PATIENT_STATES = frozenset({"waiting", "offered", "in_call", "on_hold", "callback_pending"})
NEEDS = ("interpreter", "caregiver", "accessibility")


@dataclass(frozen=True, slots=True)
class PatientDetails:
    """What a patient tells the desk when joining (shown to the agent they reach)."""

    name: str
    reason: str
    language: str
    needs: tuple[str, ...] = ()
    priority: Literal["normal", "urgent"] = "normal"


@dataclass(frozen=True, slots=True)
class Ticket:
    """A patient's place: ``created`` is False when they already had one."""

    created: bool
    state: str
    ticket: int
    queue: str


@dataclass(frozen=True, slots=True)
class EmergencyFlag:
    """A patient flagged as a possible emergency: ``first`` the first time this visit,
    ``band`` their band after it (0 when the desk escalates)."""

    first: bool
    band: int
    state: str
    queue: str


@dataclass(frozen=True, slots=True)
class Offer:
    """An offer of one patient to one agent; ``token`` fences the accept."""

    agent: str
    patient: str
    token: str
    deadline_ms: int
    kind: Literal["call", "callback", "transfer"]
    queue: str


@dataclass(frozen=True, slots=True)
class Call:
    call_id: str
    patient: str
    agent: str
    queue: str
    wait_ms: int
    kind: str


@dataclass(frozen=True, slots=True)
class CallEnd:
    call_id: str
    patient: str
    queue: str
    handle_ms: int


@dataclass(frozen=True, slots=True)
class Position:
    """Where a patient stands: ``position`` is 1-based, 0 when not in the queue."""

    patient: str
    state: str
    queue: str
    position: int
    waiting: int
    staffed: int
    available: int
    estimate: WaitEstimate
    ticket: int
    callback_mode: str = ""
    returning: bool = False
    callback_slot: int = 0  # epoch ms of a booked call-back slot (0: none)
    waited_ms: int = 0  # since joining (Redis time)

    @property
    def waited_s(self) -> int:
        """Seconds since joining, while in a visit (else 0)."""
        return self.waited_ms // 1000 if self.state in ACTIVE_PATIENT_STATES else 0


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one ticker pass settled (for notifications and logs)."""

    expired: list[tuple[str, str]] = field(default_factory=list)  # (agent, queue)
    # (member, queue, what, call, other party): call and other are set when a call ended
    reaped: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    released: list[str] = field(default_factory=list)  # queues of call-backs now due

    @property
    def changed_queues(self) -> set[str]:
        queues = {q for _, q in self.expired if q}
        queues |= {reaped[1] for reaped in self.reaped if reaped[1]}
        queues |= {o.queue for o in self.offers}
        queues |= set(self.released)
        return queues
