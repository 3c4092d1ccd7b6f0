"""Who is in a call: the patient, the agent and up to two more (guests, a supervisor).

A call is a patient and an agent (the queue's call record, ``c:<call>``); guests join
it by a link the agent made (an interpreter, a carer or a second clinician). They are
kept beside the call record, in ``c:<call>:guests`` (:meth:`Keys.call_guests`), by the
scripts ``guest_join.lua``, ``supervisor_join.lua`` and ``guest_leave.lua``, so a join
races safely with another join, with the end of the call and with a removal. A
supervisor (server/ws/supervisor.py) is kept the same way, with its ``mode``.

Each party has a *handle*: ``patient``, ``agent``, ``g1``, ``g2``… for guests, ``s1``…
for a supervisor. Pages
address each other by handle (``call.sdp`` ``to``); the ids behind the handles stay on
the server. Each party also has a *sequence number*, taken anew at every join: of any
two parties the later one makes the WebRTC offers (docs/protocol.md, "Calls with more
than two parties").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis.asyncio import Redis

from server.core.redis_keys import Keys
from server.queue.scripts import QueueScripts

MAX_GUESTS = 2  # a call has at most four parties: patient, agent and two guests or supervisors
PATIENT_SEQ = 0
AGENT_SEQ = 1


@dataclass(frozen=True, slots=True)
class Guest:
    """A guest (or a supervisor) in a call (``guest`` is their id: never sent to a page)."""

    handle: str
    guest: str
    jti: str  # a guest's link ('' for a supervisor)
    party: str  # interpreter, carer, clinician or supervisor
    name: str  # first name, as the guest gave it in the lobby
    language: str
    seq: int
    joined_at: int  # epoch ms
    mode: str = ""  # a supervisor's: monitor, whisper or barge


@dataclass(frozen=True, slots=True)
class GuestJoined:
    handle: str
    seq: int
    created: bool  # False: a rejoin (a reload or a reconnect)


class CallParties:
    """The guests of calls, in Redis."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._scripts = QueueScripts(redis, keys)

    async def join(
        self,
        *,
        call: str,
        guest: str,
        jti: str,
        party: str,
        name: str,
        language: str,
        link_ttl: int,
    ) -> GuestJoined:
        """The guest joins the live call (or rejoins it); refuses ``call_over``,
        ``link_used`` (another guest holds the link) and ``call_full``."""
        handle, seq, created = await self._scripts.run(
            "guest_join", call, guest, jti, party, name, language, MAX_GUESTS, link_ttl
        )
        return GuestJoined(str(handle), int(seq), bool(int(created)))

    async def supervise(self, *, call: str, supervisor: str, name: str, mode: str) -> GuestJoined:
        """A supervisor joins the live call (or again); refuses ``call_over``, ``call_full``."""
        handle, seq, created = await self._scripts.run(
            "supervisor_join", call, supervisor, name, mode, MAX_GUESTS
        )
        return GuestJoined(str(handle), int(seq), bool(int(created)))

    async def set_mode(self, call: str, handle: str, mode: str) -> bool:
        """A supervisor's new mode; False when they are not in the call."""
        return bool(await self._scripts.run("party_mode", call, handle, mode))

    async def leave(self, *, call: str, handle: str) -> Guest | None:
        """The guest leaves (or is removed); None when the handle is no guest of it."""
        raw = await self._scripts.run("guest_leave", call, handle)
        return _guest(handle, str(raw)) if raw else None

    async def rejoined(self, call: str, handle: str) -> None:
        """The patient's or agent's page took the call again: a new sequence number for
        them, when the call has guests."""
        await self._scripts.run("party_rejoined", call, handle)

    async def count(self, call: str) -> int:
        """How many guests the call has now."""
        return int(await self._redis.hget(self._keys.call_guests(call), "count") or 0)

    async def everyone(self, call: str) -> tuple[list[Guest], int, int]:
        """The call's guests (in the order they first joined) and the patient's and the
        agent's sequence numbers: one read of the hash."""
        record: dict[str, str] = await self._redis.hgetall(self._keys.call_guests(call))  # type: ignore[assignment]
        guests = [_guest(field[2:], raw) for field, raw in record.items() if field.startswith("h:")]
        guests.sort(key=lambda g: int(g.handle[1:]) if g.handle[1:].isdigit() else 0)
        patient = int(record.get("seq:patient") or PATIENT_SEQ)
        agent = int(record.get("seq:agent") or AGENT_SEQ)
        return guests, patient, agent

    async def guests(self, call: str) -> list[Guest]:
        """The call's guests, in the order they first joined."""
        return (await self.everyone(call))[0]

    async def guest(self, call: str, handle: str) -> Guest | None:
        raw = await self._redis.hget(self._keys.call_guests(call), f"h:{handle}")
        return None if raw is None else _guest(handle, str(raw))

    async def handle_of(self, call: str, guest: str) -> str:
        """The guest's handle in the call ('' when not in it)."""
        handle = await self._redis.hget(self._keys.call_guests(call), f"p:{guest}")
        return "" if handle is None else str(handle)

    async def end(self, call: str) -> list[Guest]:
        """The call ended: its guests (to tell), forgotten."""
        guests = await self.guests(call)
        await self._redis.delete(self._keys.call_guests(call))
        return guests


def _guest(handle: str, raw: str) -> Guest:
    data = json.loads(raw)
    return Guest(
        handle=handle,
        guest=str(data.get("guest", "")),
        jti=str(data.get("jti", "")),
        party=str(data.get("party", "")),
        name=str(data.get("name", "")),
        language=str(data.get("language", "")),
        seq=int(data.get("seq", 0)),
        joined_at=int(data.get("joined_at", 0)),
        mode=str(data.get("mode", "")),
    )
