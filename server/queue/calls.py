"""The queue's Lua scripts as typed calls: keyword arguments in, a small record out.

This module is the one place that knows each script's argument order (its ARGV after
the desk prefix) and the layout of its reply (which field is where, which are numbers,
where an offer starts in a longer reply, how a flat list splits into rows). Everything
else, :class:`~server.queue.engine.QueueEngine` first, speaks in the records below.
Each method is one script (one round trip); the durable ones (a place in the queue, a
call-back booked) wait for ``replicas`` replicas as :meth:`QueueScripts.run_durable`
does. Refusals arrive as the queue's typed errors, from :class:`QueueScripts`.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from server.queue.forecast import AgentNow, DeskNow, QueueNow
from server.queue.models import Offer
from server.queue.scripts import QueueScripts

OFFER_FIELDS = 6  # agent, patient, token, deadline_ms, kind, queue (make_offer in _lib.lua)
EXPIRED_FIELDS = 2  # agent, queue (expire_offers.lua)
REAPED_FIELDS = 5  # member, queue, what, call, other (reap_leases.lua)

OfferKind = Literal["call", "callback", "transfer"]


# -- what the scripts reply --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Joined:
    """join: ``created`` is False when the patient already had this place."""

    created: bool
    state: str
    ticket: int
    queue: str


@dataclass(frozen=True, slots=True)
class Left:
    """leave: the state the patient left from; ``agent`` and ``call`` are '' when none."""

    previous_state: str
    queue: str
    agent: str
    call: str


@dataclass(frozen=True, slots=True)
class CallbackChanged:
    """callback: the patient's state after it (callback_pending, or waiting again)."""

    state: str


@dataclass(frozen=True, slots=True)
class EmergencyFlagged:
    """emergency: ``first`` the first flag of this visit; ``band`` the band after it."""

    first: bool
    band: int
    state: str
    queue: str


@dataclass(frozen=True, slots=True)
class Rated:
    """survey: the call the rating went to."""

    call: str


@dataclass(frozen=True, slots=True)
class PositionRow:
    """positions: one patient's row, in the order the patients were asked for."""

    patient: str
    state: str
    queue: str
    position: int  # 1-based, 0 when not queued
    waiting: int  # patients in the queue
    staffed: int
    available: int
    ticket: int  # 0 when the patient has none
    callback_mode: str
    returning: bool
    callback_slot: int  # epoch ms, 0 when none
    waited_ms: int
    shown: str  # what the patient was last told: "known:low:high:why:staffed:place"


@dataclass(frozen=True, slots=True)
class SignedIn:
    """agent_signin: the agent's state after signing in."""

    state: str


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """agent_status: ``withdrawn_from`` the queue of an offer taken back ('' when none);
    ``offer`` the patient offered when the agent became available."""

    previous_state: str
    withdrawn_from: str
    offer: Offer | None


@dataclass(frozen=True, slots=True)
class Accepted:
    """accept: the call that began."""

    call: str
    patient: str
    queue: str
    wait_ms: int
    kind: str


@dataclass(frozen=True, slots=True)
class Declined:
    """decline: the queue the patient went back to ('' when the offer was gone)."""

    queue: str


@dataclass(frozen=True, slots=True)
class CallStarted:
    """call_started: the call's setup time (0 when already recorded)."""

    setup_ms: int


@dataclass(frozen=True, slots=True)
class Finished:
    """finish: the call that ended and how long it was handled."""

    call: str
    patient: str
    queue: str
    handle_ms: int


@dataclass(frozen=True, slots=True)
class WrappedUp:
    """wrapup_done: the call wrapped up; ``offer`` when the agent became available."""

    call: str
    offer: Offer | None


@dataclass(frozen=True, slots=True)
class Held:
    """hold / resume: the patient and the call put on hold or taken back."""

    patient: str
    call: str


@dataclass(frozen=True, slots=True)
class Transferred:
    """transfer: where the patient went; ``offer`` when handed to an agent."""

    patient: str
    queue: str
    call: str
    offer: Offer | None


@dataclass(frozen=True, slots=True)
class ExpiredOffer:
    """expire_offers: an agent whose offer lapsed, and the patient's queue ('' if none)."""

    agent: str
    queue: str


@dataclass(frozen=True, slots=True)
class ReapedLease:
    """reap_leases: a lapsed lease settled. ``member`` is ``p:<pid>`` or ``a:<aid>``;
    ``call`` and ``other`` (the other party) are set when a call ended, else ''."""

    member: str
    queue: str
    what: str  # abandoned / offline
    call: str
    other: str


# -- decoding shared by several replies ---------------------------------------------------------
def _offer(fields: Sequence[Any]) -> Offer:
    """An offer from its fields (make_offer in _lib.lua)."""
    agent, patient, token, deadline, kind, queue = fields[:OFFER_FIELDS]
    return Offer(
        str(agent), str(patient), str(token), int(deadline), cast(OfferKind, kind), str(queue)
    )


def _offer_after(reply: Sequence[Any], head: int) -> Offer | None:
    """The offer that follows ``head`` leading fields of a reply, if the script made one."""
    return _offer(reply[head:]) if len(reply) >= head + OFFER_FIELDS else None


def _rows(flat: Sequence[Any], width: int, *, drop_partial: bool = False) -> list[Sequence[Any]]:
    """A flat list of fixed-width entries, split into rows. A short last row is kept (and
    then fails to unpack) unless ``drop_partial``."""
    end = len(flat) - len(flat) % width if drop_partial else len(flat)
    return [flat[i : i + width] for i in range(0, end, width)]


def _comma_list(items: Sequence[str]) -> str:
    return ",".join(items)


def _split(items: object) -> list[str]:
    return [item for item in str(items or "").split(",") if item]


class QueueCalls:
    """One typed method per queue script of a desk (see the module docstring)."""

    def __init__(self, scripts: QueueScripts) -> None:
        self._scripts = scripts

    # -- patients -------------------------------------------------------------------------------
    async def join(
        self,
        *,
        patient: str,
        queue: str,
        language: str,
        priority: str,
        grace_ms: int,
        name: str,
        reason: str,
        needs: Sequence[str],
        replicas: int,
        wait_ms: int,
    ) -> Joined:
        """A place in ``queue`` (or the one the patient has), confirmed on ``replicas``."""
        created, state, ticket, actual_queue = await self._scripts.run_durable(
            "join",
            patient,
            queue,
            language,
            priority,
            grace_ms,
            name,
            reason,
            json.dumps(list(needs)),
            replicas=replicas,
            wait_ms=wait_ms,
        )
        return Joined(bool(int(created)), str(state), int(ticket), str(actual_queue))

    async def leave(self, *, patient: str, reason: str) -> Left:
        state, queue, agent, call = await self._scripts.run("leave", patient, reason)
        return Left(str(state), str(queue), str(agent), str(call))

    async def book_callback(
        self,
        *,
        patient: str,
        mode: str,
        phone: str,
        grace_ms: int,
        slot_ms: int | None,
        replicas: int,
        wait_ms: int,
    ) -> CallbackChanged:
        """A call-back at the place's turn (``slot_ms`` None) or from ``slot_ms``,
        confirmed on ``replicas``."""
        action = "request" if slot_ms is None else "schedule"
        (state,) = await self._scripts.run_durable(
            "callback",
            patient,
            action,
            mode,
            phone,
            grace_ms,
            slot_ms or 0,
            replicas=replicas,
            wait_ms=wait_ms,
        )
        return CallbackChanged(str(state))

    async def cancel_callback(self, *, patient: str, grace_ms: int) -> CallbackChanged:
        (state,) = await self._scripts.run("callback", patient, "cancel", "", "", grace_ms, 0)
        return CallbackChanged(str(state))

    async def flag_emergency(
        self, *, patient: str, words: Sequence[str], escalate: bool
    ) -> EmergencyFlagged:
        first, band, state, queue = await self._scripts.run(
            "emergency", patient, _comma_list([w.replace(",", " ") for w in words]), int(escalate)
        )
        return EmergencyFlagged(bool(first), int(band), str(state), str(queue))

    async def rate(self, *, patient: str, rating: int, comment: str) -> Rated:
        (call,) = await self._scripts.run("survey", patient, rating, comment)
        return Rated(str(call))

    async def positions(self, *, patients: Sequence[str]) -> list[PositionRow]:
        """One row per patient, in order (read only)."""
        rows = await self._scripts.run("positions", *patients)
        result = []
        for patient, row in zip(patients, rows, strict=True):
            (
                state,
                queue,
                position,
                waiting,
                staffed,
                available,
                ticket,
                callback_mode,
                returning,
                callback_slot,
                waited_ms,
                shown,
            ) = row
            result.append(
                PositionRow(
                    patient=patient,
                    state=str(state),
                    queue=str(queue),
                    position=int(position),
                    waiting=int(waiting),
                    staffed=int(staffed),
                    available=int(available),
                    ticket=int(ticket) if ticket else 0,
                    callback_mode=str(callback_mode),
                    returning=returning == "1",
                    callback_slot=int(callback_slot or 0),
                    waited_ms=int(waited_ms or 0),
                    shown=str(shown or ""),
                )
            )
        return result

    async def estimates_shown(self, shown: Sequence[Sequence[str | int | float]]) -> None:
        """Keep what each patient is told (``estimate_shown.lua`` arguments after the
        prefix, one row each), pipelined: one round trip for them all."""
        if shown:
            await self._scripts.run_many("estimate_shown", shown)

    async def places(self, *, queue: str) -> list[tuple[str, str]]:
        """The queue's patients in offer order with their states (read only)."""
        flat = await self._scripts.run("places", queue)
        return [(str(flat[i]), str(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def desk_now(self, *, queues: Sequence[str], up_to: Sequence[str] = ()) -> DeskNow:
        """What the wait forecast starts from: queued patients in offer order (every
        queue merged by score; with ``up_to``, only as far as the last of those
        patients), working agents, each queue's averages (read only)."""
        rows, agents = await self._scripts.run("desk_now", _comma_list(queues), *up_to)
        stats: dict[str, QueueNow] = {}
        lines: list[list[tuple[float, str, str]]] = []
        for name, aht_ms, awt_ms, members in rows:
            queue = str(name)
            stats[queue] = QueueNow(float(aht_ms) / 1000, float(awt_ms) / 1000)
            lines.append(
                [(float(members[i + 1]), str(members[i]), queue) for i in range(0, len(members), 2)]
            )
        return DeskNow(
            queues=stats,
            waiting=[(patient, queue) for _, patient, queue in heapq.merge(*lines)],
            agents=[
                AgentNow(tuple(_split(served)), str(state), int(elapsed_ms) / 1000)
                for served, state, elapsed_ms in agents
            ],
        )

    # -- agents ---------------------------------------------------------------------------------
    async def agent_signin(
        self,
        *,
        agent: str,
        name: str,
        queues: Sequence[str],
        languages: Sequence[str],
        idle_lease_ms: int,
        busy_lease_ms: int,
    ) -> SignedIn:
        (state,) = await self._scripts.run(
            "agent_signin",
            agent,
            name,
            _comma_list(queues),
            _comma_list(languages),
            idle_lease_ms,
            busy_lease_ms,
        )
        return SignedIn(str(state))

    async def agent_status(
        self, *, agent: str, status: str, reason: str, offer_timeout_ms: int
    ) -> StatusChanged:
        reply = await self._scripts.run("agent_status", agent, status, reason, offer_timeout_ms)
        previous, withdrawn_from = reply[0], reply[1]
        return StatusChanged(str(previous), str(withdrawn_from), _offer_after(reply, 2))

    async def offer_next(self, *, agent: str, offer_timeout_ms: int) -> Offer | None:
        """The best waiting patient offered to this (available) agent, if any."""
        reply = await self._scripts.run("offer_next", agent, offer_timeout_ms)
        return _offer(reply) if reply else None

    async def dispatch(self, *, queue: str, offer_timeout_ms: int, max_offers: int) -> list[Offer]:
        """Offers made to available agents of ``queue``."""
        flat = await self._scripts.run("dispatch", queue, offer_timeout_ms, max_offers)
        return [_offer(fields) for fields in _rows(flat, OFFER_FIELDS, drop_partial=True)]

    async def accept(
        self,
        *,
        agent: str,
        token: str,
        call: str,
        lease_ms: int,
        targets_ms: Sequence[tuple[str, int]],
    ) -> Accepted:
        """The call ``call`` begins; ``targets_ms`` holds (queue, service-level target)."""
        targets = _comma_list([f"{name}={ms}" for name, ms in targets_ms])
        cid, patient, queue, wait_ms, kind = await self._scripts.run(
            "accept", agent, token, call, lease_ms, targets
        )
        return Accepted(str(cid), str(patient), str(queue), int(wait_ms), str(kind))

    async def decline(self, *, agent: str, token: str, reason: str) -> Declined:
        (queue,) = await self._scripts.run("decline", agent, token, reason)
        return Declined(str(queue))

    async def call_started(self, *, call: str) -> CallStarted:
        (setup_ms,) = await self._scripts.run("call_started", call)
        return CallStarted(int(setup_ms))

    async def finish(self, *, agent: str, reason: str) -> Finished:
        cid, patient, queue, handle_ms = await self._scripts.run("finish", agent, reason)
        return Finished(str(cid), str(patient), str(queue), int(handle_ms))

    async def wrapup_done(
        self, *, agent: str, outcome: str, available: bool, offer_timeout_ms: int
    ) -> WrappedUp:
        """Wrap-up recorded; the agent becomes available (and may get an offer) or away."""
        reply = await self._scripts.run(
            "wrapup_done",
            agent,
            outcome,
            "available" if available else "away",
            offer_timeout_ms,
        )
        return WrappedUp(str(reply[0]), _offer_after(reply, 1))

    async def hold(self, *, agent: str) -> Held:
        patient, call = await self._scripts.run("hold", agent, "hold")
        return Held(str(patient), str(call))

    async def resume(self, *, agent: str) -> Held:
        patient, call = await self._scripts.run("hold", agent, "resume")
        return Held(str(patient), str(call))

    async def transfer(
        self,
        *,
        agent: str,
        target_kind: Literal["queue", "agent"],
        target: str,
        note: str,
        language: str,
        offer_timeout_ms: int,
    ) -> Transferred:
        reply = await self._scripts.run(
            "transfer", agent, target_kind, target, note, language, offer_timeout_ms
        )
        patient, queue, call = reply[0], reply[1], reply[2]
        return Transferred(str(patient), str(queue), str(call), _offer_after(reply, 3))

    # -- leases and the ticker ------------------------------------------------------------------
    async def renew_leases(
        self,
        *,
        members: Sequence[str],
        patient_lease_ms: int,
        agent_idle_lease_ms: int,
        agent_call_lease_ms: int,
    ) -> list[str]:
        """Renew presence leases; returns the members that had none any more (reaped)."""
        gone = await self._scripts.run(
            "renew_leases", patient_lease_ms, agent_idle_lease_ms, agent_call_lease_ms, *members
        )
        return [str(member) for member in gone]

    async def expire_offers(self, *, limit: int) -> list[ExpiredOffer]:
        flat = await self._scripts.run("expire_offers", limit)
        return [ExpiredOffer(str(a), str(q)) for a, q in _rows(flat, EXPIRED_FIELDS)]

    async def reap_leases(self, *, limit: int) -> list[ReapedLease]:
        flat = await self._scripts.run("reap_leases", limit)
        return [
            ReapedLease(str(member), str(queue), str(what), str(call), str(other))
            for member, queue, what, call, other in _rows(flat, REAPED_FIELDS)
        ]

    async def release_callbacks(self, *, limit: int) -> list[str]:
        """The queues of scheduled call-backs now due (one entry per call-back)."""
        queues = await self._scripts.run("release_callbacks", limit)
        return [str(queue) for queue in queues]
