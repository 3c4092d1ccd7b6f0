"""QueueEngine: the Python face of the queue's Lua scripts.

Each method is one atomic script (one round trip to Redis) and validates its
input first, so bad input is a typed error and never a partial state. Methods
that change who waits where return what changed, so the caller can push new
positions and offers to the sockets concerned.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from server.errors import BadRequest
from server.keys import CALL_RECORD_TTL, Keys
from server.queue.errors import UnknownAgent, UnknownQueue
from server.queue.estimate import estimate_wait
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
    offers_from,
)
from server.queue.scripts import QueueScripts
from server.settings import QueueConfig

log = logging.getLogger(__name__)

DISPATCH_BATCH = 50
TICK_BATCH = 500
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


class QueueEngine:
    """Join, offer, accept, finish, transfer…: every transition of patients and agents."""

    def __init__(
        self, redis: Redis, keys: Keys, queues: Sequence[QueueConfig], timing: Timing
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.queues = {q.name: q for q in queues}
        self.timing = timing
        self._scripts = QueueScripts(redis, keys)
        self._warned_queues: set[str] = set()
        self._targets = ",".join(f"{q.name}={q.target_seconds * 1000}" for q in queues)

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
        created, state, ticket, actual_queue = await self._scripts.run_durable(
            "join",
            pid,
            queue,
            language,
            details.priority,
            self.timing.patient_grace_ms,
            details.name,
            details.reason,
            json.dumps(needs),
            replicas=self.timing.wait_replicas,
            wait_ms=self.timing.wait_ms,
        )
        return Ticket(bool(int(created)), state, int(ticket), actual_queue)

    async def leave(self, pid: str, reason: str = "patient_left") -> tuple[str, str, str, str]:
        """The patient leaves (from any state). Returns (previous state, queue, agent, call)."""
        state, queue, agent, call = await self._scripts.run("leave", pid, reason)
        return state, queue, agent, call

    async def request_callback(
        self, pid: str, mode: str, phone: str = "", *, slot_ms: int | None = None
    ) -> None:
        """Keep the place and be called back (at the place's turn, or from ``slot_ms``)."""
        if mode not in ("phone", "page"):
            raise BadRequest("mode must be phone or page")
        action = "request" if slot_ms is None else "schedule"
        await self._scripts.run_durable(
            "callback",
            pid,
            action,
            mode,
            phone,
            self.timing.patient_grace_ms,
            slot_ms or 0,
            replicas=self.timing.wait_replicas,
            wait_ms=self.timing.wait_ms,
        )

    async def cancel_callback(self, pid: str) -> None:
        await self._scripts.run("callback", pid, "cancel", "", "", self.timing.patient_grace_ms, 0)

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
        first, band, state, queue = await self._scripts.run(
            "emergency", pid, ",".join(w.replace(",", " ") for w in words), int(escalate)
        )
        return EmergencyFlag(first=bool(first), band=int(band), state=str(state), queue=str(queue))

    async def rate(self, pid: str, rating: int, comment: str) -> str:
        if not 1 <= rating <= 5:
            raise BadRequest("rating must be 1 to 5")
        (call_id,) = await self._scripts.run("survey", pid, rating, comment[:MAX_NOTE])
        return str(call_id)

    async def positions(self, pids: Sequence[str]) -> list[Position]:
        """Where each patient stands, with the wait estimate (one round trip)."""
        if not pids:
            return []
        rows = await self._scripts.run("positions", ",".join(self.queues), *pids)
        result = []
        for pid, row in zip(pids, rows, strict=True):
            state, queue, position, waiting, staffed, available, aht, awt, ticket = row[:9]
            position, staffed, available = int(position), int(staffed), int(available)
            estimate = estimate_wait(
                position + float(row[11]), staffed, available, float(aht), float(awt)
            )
            result.append(
                Position(
                    patient=pid,
                    state=state,
                    queue=queue,
                    position=position,
                    waiting=int(waiting),
                    staffed=staffed,
                    available=available,
                    estimate=estimate,
                    ticket=int(ticket) if ticket else 0,
                    callback_mode=row[9],
                    returning=row[10] == "1",
                    callback_slot=int(row[12] or 0),
                    waited_ms=int(row[13] or 0),
                )
            )
        return result

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
        (state,) = await self._scripts.run(
            "agent_signin",
            aid,
            name,
            ",".join(served),
            ",".join(chosen),
            self.timing.agent_idle_grace_ms,
            self.timing.agent_call_grace_ms,
        )
        return str(state)

    async def set_status(self, aid: str, status: str, reason: str = "") -> Offer | None:
        """available / away / offline. Returns the offer made if they became available."""
        if status not in ("available", "away", "offline"):
            raise BadRequest("status must be available, away or offline")
        result = await self._scripts.run(
            "agent_status", aid, status, reason[:60], self.timing.offer_timeout_ms
        )
        return Offer.from_fields(result[2:]) if len(result) >= 8 else None

    async def offer_next(self, aid: str) -> Offer | None:
        result = await self._scripts.run("offer_next", aid, self.timing.offer_timeout_ms)
        return Offer.from_fields(result) if result else None

    async def dispatch(self, queues: Iterable[str] | None = None) -> list[Offer]:
        """Offer waiting patients to available agents of these queues (all by default)."""
        offers: list[Offer] = []
        for queue in queues if queues is not None else self.queues:
            if queue not in self.queues:
                continue
            flat = await self._scripts.run(
                "dispatch", queue, self.timing.offer_timeout_ms, DISPATCH_BATCH
            )
            offers.extend(offers_from(flat))
        return offers

    async def accept(self, aid: str, token: str) -> Call:
        call_id = "c_" + secrets.token_urlsafe(9)
        cid, pid, queue, wait_ms, kind = await self._scripts.run(
            "accept", aid, token, call_id, self.timing.agent_call_grace_ms, self._targets
        )
        return Call(cid, pid, aid, queue, int(wait_ms), kind)

    async def decline(self, aid: str, token: str, reason: str = "declined") -> str:
        """Returns the queue the patient went back to."""
        (queue,) = await self._scripts.run("decline", aid, token, reason[:60])
        return str(queue)

    async def call_started(self, call_id: str) -> int:
        (setup_ms,) = await self._scripts.run("call_started", call_id)
        return int(setup_ms)

    async def finish(self, aid: str, reason: str = "completed") -> CallEnd:
        cid, pid, queue, handle = await self._scripts.run("finish", aid, reason[:60])
        return CallEnd(cid, pid, queue, int(handle))

    async def wrapup_done(self, aid: str, outcome: str, *, available: bool) -> Offer | None:
        result = await self._scripts.run(
            "wrapup_done",
            aid,
            outcome,
            "available" if available else "away",
            self.timing.offer_timeout_ms,
        )
        return Offer.from_fields(result[1:]) if len(result) >= 7 else None

    async def hold(self, aid: str) -> tuple[str, str]:
        pid, cid = await self._scripts.run("hold", aid, "hold")
        return pid, cid

    async def resume(self, aid: str) -> tuple[str, str]:
        pid, cid = await self._scripts.run("hold", aid, "resume")
        return pid, cid

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
        current = await self.redis.hmget(self.keys.agent(aid), ["state", "patient"])
        if current[0] is None:
            raise UnknownAgent("There is no such agent.")
        pid = str(current[1] or "")
        patient_language = await self.redis.hget(self.keys.patient(pid), "language") or "en"
        if queue is not None:
            target_kind, target = "queue", queue
            lang = self.language_for(queue, language or str(patient_language))
        else:
            target_kind, target = "agent", str(agent)
            lang = language or str(patient_language)
        result = await self._scripts.run(
            "transfer",
            aid,
            target_kind,
            target,
            note[:MAX_NOTE],
            lang,
            self.timing.offer_timeout_ms,
        )
        offer = Offer.from_fields(result[3:]) if len(result) >= 9 else None
        return result[0], result[1], offer

    async def save_call_text(self, call_id: str, field: str, text: str) -> None:
        """Keep an agent's private notes or wrap-up note on the call record."""
        if field not in ("notes", "wrapup_note"):
            raise BadRequest("not a call note")
        key = self.keys.call(call_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, field, text[: MAX_NOTE * 2])
            pipe.expire(key, CALL_RECORD_TTL)
            await pipe.execute()

    async def mark_media(self, call_id: str) -> None:
        """A call-back became a video call (the patient answered the ring)."""
        await self.redis.hset(self.keys.call(call_id), "media", "1")

    async def chat_history(self, call_id: str) -> list[dict[str, Any]]:
        raw: list[str] = await self.redis.lrange(self.keys.call_chat(call_id), 0, -1)  # type: ignore[assignment]
        history = []
        for item in raw:
            try:
                history.append(json.loads(item))
            except ValueError:
                continue
        return history

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
        waiting, rows = int(replies[0]), replies[1:]
        return {"name": queue, "waiting": waiting, "patients": rows}

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
        gone: list[str] = await self._scripts.run(
            "renew_leases",
            self.timing.patient_grace_ms,
            self.timing.agent_idle_grace_ms,
            self.timing.agent_call_grace_ms,
            *members,
        )
        return gone

    async def tick(self) -> TickReport:
        """Expire overdue offers, reap lapsed leases, dispatch. Safe in every process at once."""
        expired_flat = await self._scripts.run("expire_offers", TICK_BATCH)
        expired = [(expired_flat[i], expired_flat[i + 1]) for i in range(0, len(expired_flat), 2)]
        reaped_flat = await self._scripts.run("reap_leases", TICK_BATCH)
        reaped = [
            (
                reaped_flat[i],
                reaped_flat[i + 1],
                reaped_flat[i + 2],
                reaped_flat[i + 3],
                reaped_flat[i + 4],
            )
            for i in range(0, len(reaped_flat), 5)
        ]
        released: list[str] = await self._scripts.run("release_callbacks", TICK_BATCH)
        offers = await self.dispatch()
        if expired or reaped:
            log.info("tick: %d offers expired, %d leases reaped", len(expired), len(reaped))
        return TickReport(expired=expired, reaped=reaped, offers=offers, released=released)

    async def skew_clock(self, milliseconds: int) -> None:
        """Move this desk's clock forward (tests and drills only; see keys.clock_skew)."""
        await self.redis.incrby(self.keys.clock_skew, milliseconds)

    async def events(self, count: int = 1000) -> list[dict[str, Any]]:
        """The most recent events, oldest first."""
        entries: list[tuple[str, dict[str, str]]] = await self.redis.xrevrange(  # type: ignore[assignment]
            self.keys.events, count=count
        )
        return [{"id": eid, **fields} for eid, fields in reversed(entries)]
