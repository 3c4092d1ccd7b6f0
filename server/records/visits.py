"""Visits and call-backs from events: pure functions, the same for the recorder (one
patient's events at a time, from the database) and for a list of events read anywhere.

A visit runs from a ``joined`` event to done, left or abandoned; later events of the same
patient (offers, the call, transfers, the survey) belong to the visit they follow."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Event = Mapping[str, Any]


@dataclass(slots=True)
class Visit:
    id: str  # the id of the "joined" event
    patient: str
    ticket: str
    queue: str = ""
    joined_at: int = 0
    answered_at: int | None = None
    wait_ms: int | None = None
    call: str = ""
    agent: str = ""
    handle_ms: int | None = None
    outcome: str = ""
    rating: str = ""
    transfers: int = 0
    callback: str = ""
    end: str = ""
    ended_at: int | None = None
    estimate_low_min: int | None = None
    estimate_high_min: int | None = None
    estimate_s: int | None = None
    estimate_changes: int = 0
    estimated: bool = False  # an estimate event has been seen (the first is the join's)
    calls: list[str] = field(default_factory=list)

    def columns(self) -> dict[str, Any]:
        """The ``visits`` table's row."""
        return {
            "id": self.id, "patient": self.patient, "ticket": self.ticket, "queue": self.queue,
            "joined_at": self.joined_at, "answered_at": self.answered_at,
            "wait_ms": self.wait_ms, "call": self.call, "agent": self.agent,
            "handle_ms": self.handle_ms, "outcome": self.outcome, "rating": self.rating,
            "transfers": self.transfers, "callback": self.callback, "end": self.end,
            "ended_at": self.ended_at, "estimate_low_min": self.estimate_low_min,
            "estimate_high_min": self.estimate_high_min, "estimate_s": self.estimate_s,
            "estimate_changes": self.estimate_changes,
        }  # fmt: skip


@dataclass(slots=True)
class Callback:
    id: str  # the "callback_requested" event
    patient: str
    queue: str
    mode: str
    requested_at: int
    due_at: int | None = None
    cancelled_at: int | None = None

    def columns(self) -> dict[str, Any]:
        return {
            "id": self.id, "patient": self.patient, "queue": self.queue, "mode": self.mode,
            "requested_at": self.requested_at, "due_at": self.due_at,
            "cancelled_at": self.cancelled_at,
        }  # fmt: skip


def visits_from(events: Iterable[Event]) -> list[Visit]:
    """One visit per ``joined``, in order of joining; events before a patient's first
    ``joined`` (the visit began before these events) are ignored."""
    current: dict[str, Visit] = {}  # the current visit of each patient
    by_call: dict[str, Visit] = {}
    visits: list[Visit] = []
    for event in events:
        kind, pid, at = event["type"], event.get("patient") or "", int(event.get("at", 0))
        if kind == "joined":
            current[pid] = Visit(
                str(event["id"]), pid, event.get("ticket", ""), queue=event.get("queue", ""),
                joined_at=at,
            )  # fmt: skip
            visits.append(current[pid])
            continue
        if kind == "wrapup":
            # The agent's outcome belongs to the visit of the call.
            target = by_call.get(event.get("call", ""))
            if target is not None:
                target.outcome = event.get("outcome", "")
            continue
        if pid in current:
            _apply(current[pid], kind, event, at, by_call)
    visits.sort(key=lambda v: v.joined_at)
    return visits


def _apply(visit: Visit, kind: str, event: Event, at: int, by_call: dict[str, Visit]) -> None:
    if kind == "accepted":
        if visit.answered_at is None:
            visit.answered_at = at
            visit.wait_ms = int(event.get("wait_ms", 0))
        visit.call, visit.agent = event.get("call", ""), event.get("agent", "")
        by_call[visit.call] = visit
    elif kind == "call_ended":
        visit.handle_ms = (visit.handle_ms or 0) + int(event.get("handle_ms", 0))
        if event.get("reason") in ("completed", "patient_ended"):
            visit.end, visit.ended_at = "done", at
    elif kind == "transferred":
        visit.transfers += 1
        visit.queue = event.get("queue", visit.queue)
    elif kind == "callback_requested":
        visit.callback = event.get("mode", "")
    elif kind == "left":
        visit.end = "self_help" if event.get("reason") == "self_help" else "left"
        visit.ended_at = at
    elif kind == "abandoned":
        visit.end, visit.ended_at = "abandoned", at
    elif kind == "rated":
        visit.rating = event.get("rating", "")
    elif kind == "estimate":
        _estimate(visit, event)


def _estimate(visit: Visit, event: Event) -> None:
    """The first estimate of a visit is the one shown at join; later ones are changes
    (only those before the answer count)."""
    if visit.answered_at is not None:
        return
    if visit.estimated:
        visit.estimate_changes += 1
        return
    visit.estimated = True
    if event.get("known") == "1":
        try:
            visit.estimate_low_min = int(event.get("low_min", ""))
            visit.estimate_high_min = int(event.get("high_min", ""))
            visit.estimate_s = int(event.get("expected_s", ""))
        except ValueError:
            visit.estimate_low_min = visit.estimate_high_min = visit.estimate_s = None


def callbacks_from(events: Iterable[Event]) -> list[Callback]:
    """One row per call-back requested, with when it fell due or was cancelled."""
    open_by_patient: dict[str, Callback] = {}
    found: list[Callback] = []
    for event in events:
        kind, pid, at = event["type"], event.get("patient") or "", int(event.get("at", 0))
        if kind == "callback_requested":
            callback = Callback(
                str(event["id"]), pid, event.get("queue", ""), event.get("mode", ""), at
            )
            open_by_patient[pid] = callback
            found.append(callback)
        elif kind == "callback_due" and pid in open_by_patient:
            open_by_patient[pid].due_at = at
        elif kind == "callback_cancelled" and pid in open_by_patient:
            open_by_patient.pop(pid).cancelled_at = at
    return found


def iso(ms: int | str | None) -> str:
    if ms in (None, ""):
        return ""
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC).isoformat(timespec="seconds")


def session_row(visit: Mapping[str, Any]) -> dict[str, Any]:
    """A visit (its ``visits`` columns) as a row of the sessions report."""
    wait_ms, handle_ms = visit["wait_ms"], visit["handle_ms"]
    return {
        "patient": visit["patient"],
        "ticket": visit["ticket"],
        "queue": visit["queue"],
        "joined_at": iso(visit["joined_at"]),
        "answered_at": iso(visit["answered_at"]),
        "wait_s": "" if wait_ms is None else round(wait_ms / 1000),
        "call": visit["call"],
        "agent": visit["agent"],
        "handle_s": "" if handle_ms is None else round(handle_ms / 1000),
        "outcome": visit["outcome"],
        "rating": visit["rating"],
        "transfers": visit["transfers"],
        "callback": visit["callback"],
        "end": visit["end"] or "open",
        "ended_at": iso(visit["ended_at"]),
        "estimate_low_min": _blank(visit.get("estimate_low_min")),
        "estimate_high_min": _blank(visit.get("estimate_high_min")),
        "estimate_s": _blank(visit.get("estimate_s")),
        "estimate_error_s": (
            ""
            if visit.get("estimate_s") is None or wait_ms is None
            else round(wait_ms / 1000) - int(visit["estimate_s"])
        ),
        "estimate_inside": _inside(visit),
        "estimate_changes": visit.get("estimate_changes") or 0,
    }


def _blank(value: object) -> object:
    return "" if value is None else value


def _inside(visit: Mapping[str, Any]) -> str:
    """ "yes" when the actual wait fell inside the range shown at join, "no" when not,
    "" when there was no answer or no range."""
    low, high = visit.get("estimate_low_min"), visit.get("estimate_high_min")
    wait_ms = visit["wait_ms"]
    if low is None or high is None or wait_ms is None:
        return ""
    return "yes" if low * 60_000 <= wait_ms <= high * 60_000 else "no"
