"""QueueEngine: the Python face of the queue's Lua scripts.

Each method is one atomic script (one round trip to Redis, through the typed
calls of :mod:`server.queue.calls`) and validates its input first, so bad input
is a typed error and never a partial state. Methods that change who waits where
return what changed, so the caller can push new positions and offers to the
sockets concerned.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis

from server.core.errors import BadRequest
from server.core.redis_keys import Keys
from server.core.settings import QueueConfig
from server.queue.calls import PositionRow, QueueCalls
from server.queue.errors import UnknownAgent, UnknownQueue
from server.queue.estimate import Shown, WaitEstimate, estimate_wait, why_up
from server.queue.forecast import DeskNow, QueueNow, replay
from server.queue.models import (
    NEEDS,
    Call,
    CallEnd,
    EmergencyFlag,
    Offer,
    PatientDetails,
    Position,
    Ticket,
    TickReport,
)
from server.queue.scripts import QueueScripts

log = logging.getLogger(__name__)

DISPATCH_BATCH = 50
TICK_BATCH = 500
BATCH = 500  # patients per positions script call (each call blocks Redis briefly)
MAX_NOTE = 1000


@dataclass(frozen=True, slots=True)
class Timing:
    """The engine's time limits, in milliseconds."""

    offer_timeout_ms: int = 20_000
    patient_grace_ms: int = 60_000
    agent_idle_grace_ms: int = 15_000
    agent_call_grace_ms: int = 60_000
    # Replicas that must have a join or a call-back booking before the patient is told
    # (0: do not wait; a single Redis), and how long to wait for them.
    wait_replicas: int = 0
    wait_ms: int = 500


def _position(row: PositionRow, estimate: WaitEstimate) -> Position:
    return Position(
        patient=row.patient,
        state=row.state,
        queue=row.queue,
        position=row.position,
        waiting=row.waiting,
        staffed=row.staffed,
        available=row.available,
        estimate=estimate,
        ticket=row.ticket,
        callback_mode=row.callback_mode,
        returning=row.returning,
        callback_slot=row.callback_slot,
        waited_ms=row.waited_ms,
    )


def _shown_row(pid: str, estimate: WaitEstimate, row: PositionRow) -> list[str | int | float]:
    """estimate_shown.lua's arguments."""
    return [
        pid,
        int(estimate.known),
        estimate.low_minutes,
        estimate.high_minutes,
        round(estimate.expected_seconds),
        estimate.why or estimate.reason,
        row.staffed,
        row.position,
    ]


QUEUED_STATES = frozenset({"waiting", "callback_pending"})


class QueueEngine:
    """Join, offer, accept, finish, transfer…: every transition of patients and agents."""

    def __init__(
        self, redis: Redis, keys: Keys, queues: Sequence[QueueConfig], timing: Timing
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.queues = {q.name: q for q in queues}
        self.timing = timing
        self._calls = QueueCalls(QueueScripts(redis, keys))
        self._warned_queues: set[str] = set()
        self._targets = tuple((q.name, q.target_seconds * 1000) for q in queues)

    # -- validation -----------------------------------------------------------
    def queue(self, name: str) -> QueueConfig:
        config = self.queues.get(name)
        if config is None:
            raise UnknownQueue("There is no such queue.")
        return config

    def language_for(self, queue: str, language: str) -> str:
        """The patient's language if the queue serves it, else the queue's first."""
        config = self.queue(queue)
        return language if language in config.languages else config.languages[0]

    # -- patients -------------------------------------------------------------
    async def join(self, pid: str, queue: str, details: PatientDetails) -> Ticket:
        """Put a patient in a queue; joining again returns the place they already have."""
        language = self.language_for(queue, details.language)
        needs = [n for n in details.needs if n in NEEDS]
        joined = await self._calls.join(
            patient=pid,
            queue=queue,
            language=language,
            priority=details.priority,
            grace_ms=self.timing.patient_grace_ms,
            name=details.name,
            reason=details.reason,
            needs=needs,
            replicas=self.timing.wait_replicas,
            wait_ms=self.timing.wait_ms,
        )
        return Ticket(joined.created, joined.state, joined.ticket, joined.queue)

    async def leave(self, pid: str, reason: str = "patient_left") -> tuple[str, str, str, str]:
        """The patient leaves (from any state). Returns (previous state, queue, agent, call)."""
        left = await self._calls.leave(patient=pid, reason=reason)
        return left.previous_state, left.queue, left.agent, left.call

    async def request_callback(
        self, pid: str, mode: str, phone: str = "", *, slot_ms: int | None = None
    ) -> None:
        """Keep the place and be called back (at the place's turn, or from ``slot_ms``)."""
        if mode not in ("phone", "page"):
            raise BadRequest("mode must be phone or page")
        await self._calls.book_callback(
            patient=pid,
            mode=mode,
            phone=phone,
            grace_ms=self.timing.patient_grace_ms,
            slot_ms=slot_ms,
            replicas=self.timing.wait_replicas,
            wait_ms=self.timing.wait_ms,
        )

    async def cancel_callback(self, pid: str) -> None:
        await self._calls.cancel_callback(patient=pid, grace_ms=self.timing.patient_grace_ms)

    async def clock_ms(self) -> int:
        """The desk's clock (Redis TIME plus any skew), in milliseconds."""
        seconds, micros = await self.redis.time()
        skew = int(await self.redis.get(self.keys.clock_skew) or 0)
        return int(seconds) * 1000 + int(micros) // 1000 + skew

    async def flag_emergency(
        self, pid: str, words: Sequence[str], *, escalate: bool
    ) -> EmergencyFlag:
        """Flag a patient in a visit as a possible emergency (words kept on the record);
        with ``escalate`` a queued patient moves to the urgent band."""
        flagged = await self._calls.flag_emergency(patient=pid, words=words, escalate=escalate)
        return EmergencyFlag(
            first=flagged.first, band=flagged.band, state=flagged.state, queue=flagged.queue
        )

    async def rate(self, pid: str, rating: int, comment: str) -> str:
        if not 1 <= rating <= 5:
            raise BadRequest("rating must be 1 to 5")
        rated = await self._calls.rate(patient=pid, rating=rating, comment=comment[:MAX_NOTE])
        return rated.call

    async def positions(self, pids: Sequence[str]) -> list[Position]:
        """Where each patient stands, with the wait estimate: one replay of the desk's
        dispatch (``server/queue/forecast.py``), then rows in batches of ``BATCH``.
        What a waiting patient is told is kept on their record when it changes (an
        ``estimate`` event: the accuracy figures), with why it went up, if it did."""
        if not pids:
            return []
        desk = await self.desk_now(up_to=pids)
        answers = replay(desk, wanted=pids)
        positions: list[Position] = []
        changed: list[list[str | int | float]] = []
        for start in range(0, len(pids), BATCH):
            rows = await self._calls.positions(patients=pids[start : start + BATCH])
            for row in rows:
                estimate = WaitEstimate(known=False)  # not waiting: nothing to estimate
                if row.state in QUEUED_STATES:
                    estimate = estimate_wait(
                        answers.get(row.patient), desk.queues.get(row.queue, QueueNow())
                    )
                    before = Shown.parse(row.shown)
                    why = why_up(before, estimate, row.staffed, row.position)
                    estimate = dataclasses.replace(estimate, why=why)
                    if before is None or not before.same(estimate):
                        changed.append(_shown_row(row.patient, estimate, row))
                positions.append(_position(row, estimate))
        await self._calls.estimates_shown(changed)
        return positions

    async def places(self, queue: str) -> list[tuple[str, str]]:
        """A queue's patients in offer order (place = index + 1), each with their state:
        the cheap read behind a quick push of new places to a long queue."""
        return await self._calls.places(queue=queue)

    async def desk_now(self, up_to: Sequence[str] = ()) -> DeskNow:
        """What the wait forecast starts from (everyone waiting, or as far as the last
        of ``up_to``: those behind them do not change their wait)."""
        return await self._calls.desk_now(queues=list(self.queues), up_to=up_to)

    async def position(self, pid: str) -> Position:
        return (await self.positions([pid]))[0]

    async def patient(self, pid: str) -> dict[str, str]:
        record: dict[str, str] = await self.redis.hgetall(self.keys.patient(pid))  # type: ignore[assignment]
        return record

    # -- agents ---------------------------------------------------------------
    async def agent_signin(
        self, aid: str, name: str, queues: Iterable[str], languages: Iterable[str]
    ) -> str:
        """Create or refresh an agent from their token. Returns their state."""
        queues = list(queues)
        # A token that names no queue serves them all; one that names only queues this
        # desk no longer has serves none (it must not fall back to every queue).
        served = [q for q in queues if q in self.queues] if queues else sorted(self.queues)
        for unknown in sorted(set(queues) - set(self.queues) - self._warned_queues):
            self._warned_queues.add(unknown)
            log.warning("an agent token names queue %s, which this desk does not have", unknown)
        spoken = {lang for q in served for lang in self.queues[q].languages}
        chosen = [lang for lang in languages if lang in spoken] or sorted(spoken)
        signed_in = await self._calls.agent_signin(
            agent=aid,
            name=name,
            queues=served,
            languages=chosen,
            idle_lease_ms=self.timing.agent_idle_grace_ms,
            busy_lease_ms=self.timing.agent_call_grace_ms,
        )
        return signed_in.state

    async def set_status(self, aid: str, status: str, reason: str = "") -> Offer | None:
        """available / away / offline. Returns the offer made if they became available."""
        if status not in ("available", "away", "offline"):
            raise BadRequest("status must be available, away or offline")
        changed = await self._calls.agent_status(
            agent=aid,
            status=status,
            reason=reason[:60],
            offer_timeout_ms=self.timing.offer_timeout_ms,
        )
        return changed.offer

    async def offer_next(self, aid: str) -> Offer | None:
        return await self._calls.offer_next(
            agent=aid, offer_timeout_ms=self.timing.offer_timeout_ms
        )

    async def dispatch(self, queues: Iterable[str] | None = None) -> list[Offer]:
        """Offer waiting patients to available agents of these queues (all by default)."""
        offers: list[Offer] = []
        for queue in queues if queues is not None else self.queues:
            if queue not in self.queues:
                continue
            offers += await self._calls.dispatch(
                queue=queue,
                offer_timeout_ms=self.timing.offer_timeout_ms,
                max_offers=DISPATCH_BATCH,
            )
        return offers

    async def accept(self, aid: str, token: str) -> Call:
        call_id = "c_" + secrets.token_urlsafe(9)
        accepted = await self._calls.accept(
            agent=aid,
            token=token,
            call=call_id,
            lease_ms=self.timing.agent_call_grace_ms,
            targets_ms=self._targets,
        )
        return Call(
            accepted.call, accepted.patient, aid, accepted.queue, accepted.wait_ms, accepted.kind
        )

    async def decline(self, aid: str, token: str, reason: str = "declined") -> str:
        """Returns the queue the patient went back to."""
        declined = await self._calls.decline(agent=aid, token=token, reason=reason[:60])
        return declined.queue

    async def call_started(self, call_id: str) -> int:
        started = await self._calls.call_started(call=call_id)
        return started.setup_ms

    async def finish(self, aid: str, reason: str = "completed") -> CallEnd:
        finished = await self._calls.finish(agent=aid, reason=reason[:60])
        return CallEnd(finished.call, finished.patient, finished.queue, finished.handle_ms)

    async def wrapup_done(self, aid: str, outcome: str, *, available: bool) -> Offer | None:
        wrapped = await self._calls.wrapup_done(
            agent=aid,
            outcome=outcome,
            available=available,
            offer_timeout_ms=self.timing.offer_timeout_ms,
        )
        return wrapped.offer

    async def hold(self, aid: str) -> tuple[str, str]:
        held = await self._calls.hold(agent=aid)
        return held.patient, held.call

    async def resume(self, aid: str) -> tuple[str, str]:
        resumed = await self._calls.resume(agent=aid)
        return resumed.patient, resumed.call

    async def transfer(
        self,
        aid: str,
        *,
        queue: str | None = None,
        agent: str | None = None,
        note: str = "",
        language: str | None = None,
    ) -> tuple[str, str, Offer | None]:
        """Hand the patient to a queue or an agent. Returns (patient, queue, offer)."""
        if (queue is None) == (agent is None):
            raise BadRequest("transfer to exactly one queue or agent")
        state, patient = await self.redis.hmget(self.keys.agent(aid), ["state", "patient"])
        if state is None:
            raise UnknownAgent("There is no such agent.")
        pid = str(patient or "")
        patient_language = await self.redis.hget(self.keys.patient(pid), "language") or "en"
        target_kind: Literal["queue", "agent"]
        if queue is not None:
            target_kind, target = "queue", queue
            lang = self.language_for(queue, language or str(patient_language))
        else:
            target_kind, target = "agent", str(agent)
            lang = language or str(patient_language)
        transferred = await self._calls.transfer(
            agent=aid,
            target_kind=target_kind,
            target=target,
            note=note[:MAX_NOTE],
            language=lang,
            offer_timeout_ms=self.timing.offer_timeout_ms,
        )
        return transferred.patient, transferred.queue, transferred.offer

    async def queue_snapshot(self, queue: str, limit: int = 20) -> dict[str, Any]:
        """Waiting count, oldest wait and the first patients of a queue (for agents)."""
        pids: list[str] = await self.redis.zrange(self.keys.queue(queue), 0, limit - 1)  # type: ignore[assignment]
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.keys.queue(queue))
            for pid in pids:
                pipe.hmget(
                    self.keys.patient(pid),
                    ["name", "reason", "joined_at", "state", "language", "priority", "returning"],
                )
            replies = await pipe.execute()
        waiting, *rows = replies
        return {"name": queue, "waiting": int(waiting), "patients": rows}

    async def call(self, call_id: str) -> dict[str, str]:
        record: dict[str, str] = await self.redis.hgetall(self.keys.call(call_id))  # type: ignore[assignment]
        return record

    async def agent(self, aid: str) -> dict[str, str]:
        record: dict[str, str] = await self.redis.hgetall(self.keys.agent(aid))  # type: ignore[assignment]
        return record

    # -- leases and the ticker --------------------------------------------------
    async def renew(self, members: Sequence[str]) -> list[str]:
        """Renew presence leases (``p:<pid>``, ``a:<aid>``); returns those already reaped."""
        if not members:
            return []
        return await self._calls.renew_leases(
            members=members,
            patient_lease_ms=self.timing.patient_grace_ms,
            agent_idle_lease_ms=self.timing.agent_idle_grace_ms,
            agent_call_lease_ms=self.timing.agent_call_grace_ms,
        )

    async def tick(self) -> TickReport:
        """Expire overdue offers, reap lapsed leases, dispatch. Safe in every process at once."""
        expired = [(e.agent, e.queue) for e in await self._calls.expire_offers(limit=TICK_BATCH)]
        reaped = [
            (r.member, r.queue, r.what, r.call, r.other)
            for r in await self._calls.reap_leases(limit=TICK_BATCH)
        ]
        released = await self._calls.release_callbacks(limit=TICK_BATCH)
        offers = await self.dispatch()
        if expired or reaped:
            log.info("tick: %d offers expired, %d leases reaped", len(expired), len(reaped))
        return TickReport(expired=expired, reaped=reaped, offers=offers, released=released)

    async def skew_clock(self, milliseconds: int) -> None:
        """Move this desk's clock forward (tests and drills only; see keys.clock_skew)."""
        await self.redis.incrby(self.keys.clock_skew, milliseconds)
