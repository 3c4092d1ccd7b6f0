"""Retention: records older than ``VIDEODESK_RETENTION_DAYS`` (events, visits, surveys,
call-backs, personal data, finished webhook deliveries) and audit rows older than
``VIDEODESK_AUDIT_RETENTION_DAYS`` are deleted, once a day, by whichever process takes that
day's lock in Redis first. Deleting is idempotent, so two processes that both ran it (a
lock lost in a failover) delete nothing twice. Unset: nothing is deleted."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from server.records import tables

log = logging.getLogger(__name__)

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Retention:
    days: int | None = None
    audit_days: int | None = None

    @property
    def enforced(self) -> bool:
        return self.days is not None or self.audit_days is not None


async def enforce(engine: AsyncEngine, retention: Retention, now_ms: int) -> dict[str, int]:
    """Delete what is older than the retention; the rows deleted, per table."""
    deleted: dict[str, int] = {}
    async with engine.begin() as conn:
        if retention.days is not None:
            cutoff = now_ms - retention.days * DAY_MS
            d = tables.webhook_deliveries
            for table, column in (
                (tables.events, tables.events.c.at),
                (tables.visits, tables.visits.c.joined_at),
                (tables.surveys, tables.surveys.c.at),
                (tables.callbacks, tables.callbacks.c.requested_at),
                (tables.webhook_attempts, tables.webhook_attempts.c.at),
                (tables.personal_data, tables.personal_data.c.at),
            ):
                deleted[table.name] = (
                    await conn.execute(delete(table).where(column < cutoff))
                ).rowcount
            finished = delete(d).where(d.c.created_at < cutoff, d.c.status != "pending")
            deleted[d.name] = (await conn.execute(finished)).rowcount
        if retention.audit_days is not None:
            cutoff = now_ms - retention.audit_days * DAY_MS
            old = delete(tables.audit).where(tables.audit.c.at < cutoff)
            deleted["audit"] = (await conn.execute(old)).rowcount
    if any(deleted.values()):
        log.info(
            "records: retention deleted %s", ", ".join(f"{n} {t}" for t, n in deleted.items() if n)
        )
    return deleted
