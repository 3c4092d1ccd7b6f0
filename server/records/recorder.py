"""The recorder: every process reads the events stream in one consumer group and writes
what it reads to the database (writer.py), acknowledging an entry only after the commit.

- A batch that the database refuses is held and retried with backoff; nothing new is
  read meanwhile, so during an outage the events simply wait in the stream.
- A process that dies leaves its batch pending in the group: after ``claim_idle_ms`` any
  other process claims it (XAUTOCLAIM) and records it. Recording twice is harmless.
- The stream is trimmed here and only here (the XADDs carry no cap): by MINID, never past
  the oldest entry the group has not acknowledged, and keeping the last ``keep_ms`` for
  live readers.
- ``lag_seconds`` is how old the oldest unrecorded event is (``/metrics``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.core.outages import is_outage
from server.records.database import DatabaseUnavailable, SchemaError, check, schema_of
from server.records.retention import DAY_MS, Retention, enforce
from server.records.writer import PERSONAL_TYPES, Entry, Writer

log = logging.getLogger(__name__)

TRIM_LIMIT = 10_000  # entries one approximate XTRIM may remove (Redis's default cap)
TRIM_ROUNDS = 50  # per housekeeping round: a backlog of 500,000 recorded events

GROUP = "recorder"


@dataclass(frozen=True, slots=True)
class Pace:
    batch: int = 500
    poll_s: float = 0.05  # wait after a read that found a few events
    idle_poll_s: float = 0.5  # the longest wait, reached by doubling while reads find none
    claim_idle_ms: int = 30_000  # a pending entry this old belongs to a dead process
    keep_ms: int = 3_600_000  # recorded events kept in Redis for live readers
    housekeeping_s: float = 5.0  # trim, claim and measure the lag this often
    backoff_max_s: float = 5.0
    warn_lag_s: float = 60.0


class Recorder:
    def __init__(
        self,
        redis: Redis,
        stream: str,
        engine: AsyncEngine,
        consumer: str,
        pace: Pace = Pace(),
        retention: Retention | None = None,
        patient_key: Callable[[str], str] | None = None,
    ) -> None:
        """``patient_key`` (the patient record's Redis key) only with
        VIDEODESK_RECORD_PERSONAL_DATA: then names, reasons and phone numbers are recorded."""
        self._redis = redis
        self._stream = stream
        self._writer = Writer(engine)
        self._engine = engine
        self._consumer = consumer
        self._pace = pace
        self._retention = retention or Retention()
        self._patient_key = patient_key
        self._retention_day = -1  # the last day this process checked
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._held: list[Entry] = []  # read, not yet committed
        self._schema_ok = False
        self._group_ready = False
        self._own_pending = True  # read our own pending entries first (after a restart)
        self._next_housekeeping = 0.0
        self._last_warning = 0.0
        self.lag_seconds = 0.0
        self.recorded = 0
        self._last_read = 0
        # Called after a batch that queued webhook deliveries (the deliverer wakes).
        self.on_deliveries: Callable[[], None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="recorder")

    async def stop(self) -> None:
        if self._task is not None:
            # The flag as well as the cancel: a cancel that lands inside the database
            # driver can come back as one of its own errors, which the loop survives.
            self._stopping = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        failures = 0
        idle = self._pace.poll_s
        while not self._stopping:
            try:
                busy = await self.step()
                failures = 0
                # Polling, not a blocking read (no connection of its own): soon again
                # while events come, less often while none do.
                idle = (
                    self._pace.poll_s if self._last_read else min(idle * 2, self._pace.idle_poll_s)
                )
                if not busy:
                    await asyncio.sleep(idle)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the loop outlives any one failure
                failures += 1
                self._report(exc)
                await asyncio.sleep(min(self._pace.backoff_max_s, 0.2 * 2**failures))

    async def step(self) -> bool:
        """Record one batch (and do the housekeeping when due). True when there is more."""
        if not self._schema_ok:
            check(await schema_of(self._engine))
            self._schema_ok = True
        if not self._group_ready:
            await self.ensure_group()
            self._group_ready = True
        if time.monotonic() >= self._next_housekeeping:
            await self.housekeeping()
        if not self._held:
            self._held = await self._read()
        self._last_read = len(self._held)
        if not self._held:
            return False
        await self._record(self._held)
        full = len(self._held) >= self._pace.batch
        self._held = []
        return full

    async def _record(self, entries: Sequence[Entry]) -> None:
        present = [(eid, fields) for eid, fields in entries if fields]
        details = await self._personal_data(present) if self._patient_key else None
        queued = await self._writer.write(present, details)
        if queued and self.on_deliveries is not None:
            self.on_deliveries()
        await self._redis.xack(self._stream, GROUP, *(eid for eid, _ in entries))
        self.recorded += len(present)

    async def _personal_data(self, entries: Sequence[Entry]) -> dict[str, dict[str, str]]:
        """The name, reason and call-back phone of the patients who joined or asked for a
        call-back in this batch, from their records in Redis (while they last: a week)."""
        assert self._patient_key is not None
        pids = sorted({f["patient"] for _, f in entries
                       if f.get("type") in PERSONAL_TYPES and f.get("patient")})  # fmt: skip
        if not pids:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for pid in pids:
                pipe.hmget(self._patient_key(pid), ["name", "reason", "callback_phone"])
            found: list[list[str | None]] = await pipe.execute()
        return {
            pid: {"name": name or "", "reason": reason or "", "phone": phone or ""}
            for pid, (name, reason, phone) in zip(pids, found, strict=True)
        }

    async def _read(self) -> list[Entry]:
        start = "0" if self._own_pending else ">"
        reply: Any = await self._redis.xreadgroup(
            GROUP, self._consumer, {self._stream: start}, count=self._pace.batch
        )
        entries = _entries(reply)
        if self._own_pending and not entries:
            self._own_pending = False
        return entries

    async def ensure_group(self) -> None:
        """Create the group at the start of the stream: everything in it gets recorded."""
        try:
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def housekeeping(self) -> None:
        """Measure the lag and trim (both work while the database is down), then claim."""
        self._next_housekeeping = time.monotonic() + self._pace.housekeeping_s
        now_ms = await self._redis_ms()
        oldest = await self.oldest_unrecorded()
        await self.trim(oldest, now_ms)
        self.lag_seconds = 0.0 if oldest is None else max(0.0, (now_ms - oldest[0]) / 1000)
        if self.lag_seconds >= self._pace.warn_lag_s and time.monotonic() - self._last_warning > 60:
            self._last_warning = time.monotonic()
            log.warning("records: the oldest unrecorded event is %.0f s old (is the database "
                        "down?); the events wait in Redis", self.lag_seconds)  # fmt: skip
        await self.claim()
        await self.retain(now_ms)

    async def retain(self, now_ms: int) -> bool:
        """Once a day, for the whole desk (the first process to take the day's lock).
        True when this process ran it."""
        day = now_ms // DAY_MS
        if not self._retention.enforced or day == self._retention_day:
            return False
        lock = f"{self._stream}:retention:{day}"
        if not await self._redis.set(lock, self._consumer, nx=True, ex=2 * 86400):
            self._retention_day = day
            return False
        try:
            await enforce(self._engine, self._retention, now_ms)
        except BaseException:
            await self._redis.delete(lock)  # let the next round (or process) try again
            raise
        self._retention_day = day
        return True

    async def claim(self) -> None:
        """Take over what a dead process read and never acknowledged; record it."""
        cursor = "0-0"
        for _ in range(20):  # bounded per round; the rest waits for the next one
            reply: Any = await self._redis.xautoclaim(
                self._stream, GROUP, self._consumer, self._pace.claim_idle_ms,
                start_id=cursor, count=self._pace.batch,
            )  # fmt: skip
            cursor, claimed = reply[0], reply[1]
            if claimed:
                log.info("records: claimed %d events a stopped process had read", len(claimed))
                await self._record([(eid, fields or {}) for eid, fields in claimed])
            if cursor in ("0-0", b"0-0"):
                break

    async def oldest_unrecorded(self) -> tuple[int, int] | None:
        """The id of the oldest entry not yet acknowledged by the group (None: none)."""
        try:
            groups: Any = await self._redis.xinfo_groups(self._stream)
        except ResponseError as exc:
            if "no such key" in str(exc).lower():
                return None  # no stream: nothing to record
            raise
        group = next((g for g in groups if _text(g.get("name")) == GROUP), None)
        if group is None:  # not created yet: everything is unrecorded
            first: Any = await self._redis.xrange(self._stream, count=1)
            return _id(first[0][0]) if first else None
        if int(group.get("pending") or 0):
            summary: Any = await self._redis.xpending(self._stream, GROUP)
            if summary.get("min"):
                return _id(summary["min"])
        after: Any = await self._redis.xrange(
            self._stream, min="(" + _text(group["last-delivered-id"]), count=1
        )
        return _id(after[0][0]) if after else None

    async def trim(self, oldest: tuple[int, int] | None, now_ms: int) -> None:
        keep = (now_ms - self._pace.keep_ms, 0)
        limit = keep if oldest is None else min(oldest, keep)
        if limit[0] <= 0:
            return
        # An approximate trim removes whole stream nodes, at most TRIM_LIMIT entries a call
        # (Redis's own cap): after a backlog (the database was down) it takes several.
        for _ in range(TRIM_ROUNDS):
            trimmed = await self._redis.xtrim(
                self._stream, minid=f"{limit[0]}-{limit[1]}", approximate=True, limit=TRIM_LIMIT
            )
            if int(trimmed) < TRIM_LIMIT:
                break

    async def _redis_ms(self) -> int:
        seconds, micros = await self._redis.time()
        return int(seconds) * 1000 + int(micros) // 1000

    def _report(self, exc: Exception) -> None:
        if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):
            self._group_ready = False  # the stream was deleted (or Redis wiped): start again
            self._own_pending = True
            log.warning("records: the events stream has no recorder group; creating it")
        elif isinstance(exc, SchemaError):
            self._schema_ok = False
            log.error("records: not recording: %s", exc)
        elif isinstance(exc, DatabaseUnavailable):
            log.warning("records: the database failed (%s); %d events held, retrying",
                        type(exc).__name__, len(self._held))  # fmt: skip
        elif isinstance(exc, RedisError) and is_outage(exc):
            log.warning("records: Redis unavailable (%s); retrying", type(exc).__name__)
        else:
            log.exception("records: recording failed; retrying")


def _entries(reply: Any) -> list[Entry]:
    """XREADGROUP's reply, ``[[stream, [(id, fields), …]]]`` → ``[(id, fields)]``; an entry
    trimmed while pending comes back with no fields."""
    return [(_text(eid), fields or {}) for _, items in reply or () for eid, fields in items]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _id(raw: Any) -> tuple[int, int]:
    ms, _, seq = _text(raw).partition("-")
    return int(ms), int(seq or 0)
