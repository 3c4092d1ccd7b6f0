"""Webhook delivery: every process sends what is due from the outbox (webhook_deliveries).

- A process claims up to ``slots`` due deliveries at a time by pushing their next attempt
  past a lease (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so two processes never take the same
  one); a process that dies mid-send leaves them to be retried when the lease ends. At least
  once: a receiver de-duplicates on the ``webhook-id`` header.
- Each send is its own task with a timeout: a receiver that is slow or never answers holds
  one slot for at most ``timeout`` seconds, and nothing of the desk waits for it.
- Signed as the Standard Webhooks spec says (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature: v1,<base64 HMAC-SHA256>``), with the endpoint's secret.
- A 2xx is delivered; anything else is retried (webhooks.retry_delay_s) for 24 hours, then
  marked failed. Every attempt is kept in webhook_attempts, for the admins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from server.records import tables
from server.records.database import DatabaseUnavailable
from server.records.webhooks import next_attempt_ms

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: str
    webhook_id: str
    payload: str
    attempts: int
    created_at: int
    url: str
    secret: str


class Deliverer:
    def __init__(
        self, engine: AsyncEngine, *, retry_base_s: float, timeout_s: float, slots: int = 20,
        poll_s: float = 0.25, idle_poll_s: float = 2.0,
    ) -> None:  # fmt: skip
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._retry_base_s = retry_base_s
        self._timeout_s = timeout_s
        self._slots = slots
        self._poll_s = poll_s
        self._idle_poll_s = idle_poll_s
        self._wake = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._timeout_s),
            headers={"User-Agent": "videodesk-webhooks"},
        )
        self._task = asyncio.create_task(self._run(), name="webhook-deliveries")

    async def stop(self) -> None:
        for task in [self._task, *self._sending]:
            if task is not None:
                task.cancel()
        for task in [self._task, *self._sending]:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._session is not None:
            await self._session.close()

    def wake(self) -> None:
        """New deliveries were queued (by this process's recorder): look now."""
        self._wake.set()

    async def _run(self) -> None:
        idle = self._poll_s
        while True:
            claimed: list[Claimed] = []
            self._wake.clear()  # before looking: a wake during the claim is kept
            try:
                free = self._slots - len(self._sending)
                claimed = await self.claim(free) if free > 0 else []
                for delivery in claimed:
                    task = asyncio.create_task(self.send(delivery))
                    self._sending.add(task)
                    task.add_done_callback(self._sending.discard)
            except asyncio.CancelledError:
                raise
            except DatabaseUnavailable as exc:
                log.warning("webhooks: the database failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(2)
            except Exception:  # the loop outlives any one failure
                log.exception("webhooks: claiming deliveries failed")
                await asyncio.sleep(2)
            # Soon again while there is work; less often (up to idle_poll_s: retries and
            # other processes' deliveries) while there is none, unless woken.
            idle = self._poll_s if claimed else min(idle * 2, self._idle_poll_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), idle)

    async def claim(self, limit: int) -> list[Claimed]:
        d, w = tables.webhook_deliveries, tables.webhooks
        now = int(time.time() * 1000)
        lease = now + int((self._timeout_s + 30) * 1000)
        due = (
            select(d.c.id)
            .where(d.c.status == "pending", d.c.next_attempt_at <= now)
            .order_by(d.c.next_attempt_at)
            .limit(limit)
        )
        if self._postgres:
            due = due.with_for_update(skip_locked=True)
        async with self._engine.begin() as conn:
            rows = (await conn.execute(
                update(d).where(d.c.id.in_(due.scalar_subquery())).values(next_attempt_at=lease)
                .returning(d.c.id, d.c.webhook_id, d.c.payload, d.c.attempts, d.c.created_at)
            )).all()  # fmt: skip
            if not rows:
                return []
            endpoints = {
                r.id: (r.url, r.secret)
                for r in await conn.execute(
                    select(w.c.id, w.c.url, w.c.secret).where(
                        w.c.id.in_({r.webhook_id for r in rows})
                    )
                )
            }
            gone = [r.id for r in rows if r.webhook_id not in endpoints]
            if gone:  # removed meanwhile
                await conn.execute(update(d).where(d.c.id.in_(gone)).values(status="cancelled"))
        return [
            Claimed(
                r.id, r.webhook_id, r.payload, r.attempts, r.created_at, *endpoints[r.webhook_id]
            )  # fmt: skip
            for r in rows
            if r.webhook_id in endpoints
        ]

    async def send(self, delivery: Claimed) -> None:
        assert self._session is not None
        sent_at = datetime.now(tz=UTC)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": delivery.id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": Webhook(delivery.secret).sign(
                delivery.id, sent_at, delivery.payload
            ),
        }
        began = time.monotonic()
        status: int | None = None
        error = ""
        try:
            async with self._session.post(
                delivery.url, data=delivery.payload.encode(), headers=headers,
                allow_redirects=False,
            ) as response:  # fmt: skip
                status = response.status
                await response.content.read(4096)
        except TimeoutError:
            error = f"no answer within {self._timeout_s:g} s"
        except aiohttp.ClientError as exc:
            error = type(exc).__name__
        if status is not None and not 200 <= status < 300:
            error = f"HTTP {status}"
        await self._settle(delivery, status, error, int((time.monotonic() - began) * 1000))

    async def _settle(
        self, delivery: Claimed, status: int | None, error: str, duration_ms: int
    ) -> None:
        d = tables.webhook_deliveries
        now = int(time.time() * 1000)
        attempts = delivery.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_attempt_at": now,
                                  "last_status": status, "last_error": error[:200]}  # fmt: skip
        if not error:
            values["status"] = "delivered"
        else:
            retry = next_attempt_ms(delivery.created_at, attempts, now, self._retry_base_s)
            if retry is None:
                values["status"] = "failed"
                log.warning("webhooks: delivery %s failed for 24 h; given up", delivery.id)
            else:
                values["next_attempt_at"] = retry
        try:
            async with self._engine.begin() as conn:
                await conn.execute(update(d).where(d.c.id == delivery.id).values(**values))
                await conn.execute(insert(tables.webhook_attempts).values(
                    delivery_id=delivery.id, at=now, status=status, error=error[:200],
                    duration_ms=duration_ms,
                ))  # fmt: skip
        except DatabaseUnavailable as exc:
            # The lease runs out and the delivery is sent again: at least once.
            log.warning("webhooks: could not record attempt of %s (%s)", delivery.id,
                        type(exc).__name__)  # fmt: skip
