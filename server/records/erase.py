"""Erasing one person's personal data (a right-to-erasure request): ``videodesk records
erase --visit ID`` and ``DELETE /api/v1/records/visits/{id}/personal-data``.

Everywhere the desk keeps it: the recorded name, reason and phone number of that patient
(blanked, with erased_at set: the rows, and so every count, stay), and while they last in
Redis, the patient's record (name, reason, call-back phone) and the chat logs of the
patient's calls. The visit itself (times, queue, outcome) is not personal and stays."""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.core.redis_keys import Keys
from server.records import tables


@dataclass(frozen=True, slots=True)
class Erased:
    visit: str
    patient: str
    records: int  # personal_data rows blanked
    chats: int  # chat logs deleted from Redis


async def erase_visit(
    engine: AsyncEngine, redis: Redis | None, keys: Keys, visit_id: str
) -> Erased | None:
    """Erase the personal data of the patient of ``visit_id`` (a visit's id, or the patient
    id the sessions report shows); None: no such visit.
    ``redis`` None: the database only (the command line against an embedded desk)."""
    v, e, p = tables.visits, tables.events, tables.personal_data
    async with engine.begin() as conn:
        # The visit's id, or its patient's (the sessions report shows the patient).
        patient = (await conn.execute(
            select(v.c.patient).where(or_(v.c.id == visit_id, v.c.patient == visit_id)).limit(1)
        )).scalar()  # fmt: skip
        if patient is None:
            return None
        calls = {c for (c,) in await conn.execute(
            select(e.c.call).where(e.c.patient == patient, e.c.call.is_not(None)).distinct()
        )}  # fmt: skip
        blanked = await conn.execute(
            update(p).where(p.c.patient == patient)
            .values(name="", reason="", phone="", erased_at=int(time.time() * 1000))
        )  # fmt: skip
    chats = 0
    if redis is not None:
        record = keys.patient(patient)
        if await redis.exists(record):
            await redis.hset(record, mapping={"name": "", "reason": "", "callback_phone": ""})
        if calls:
            chats = int(await redis.delete(*(keys.call_chat(c) for c in sorted(calls))))
    return Erased(visit_id, patient, blanked.rowcount, chats)
