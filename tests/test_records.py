"""The system of record (docs/records.md), on a real PostgreSQL and on SQLite: every event of
the stream recorded exactly once, with two recording processes and one of them SIGKILLed
mid-batch; a stream far past the old cap losing nothing; the database down for 10 s (and
at start) while the desk serves, and nothing lost; the migrations and the tables
agreeing; a schema newer than the code refused."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from prometheus_client.parser import text_string_to_metric_families
from pytest_aiohttp import AiohttpServer
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.core.audit import audit
from server.core.redis_keys import Keys
from server.core.settings import Settings
from server.queue.engine import QueueEngine
from server.records import tables
from server.records.database import (
    SchemaError,
    database_url,
    open_engine,
    prepare,
    schema_of,
    upgrade,
)
from server.records.recorder import GROUP, Pace, Recorder
from server.records.retention import DAY_MS, Retention, enforce
from server.records.visits import session_row, visits_from
from tests.support.desks import LiveDesk, start_desk
from tests.support.postgres import PostgresServer
from tests.support.processes import LOG_DIR
from tests.support.queues import QUEUES, TIMING, details
from tests.support.record_day import visit_day
from tests.support.records import recorded

STREAM = Keys("rec").events


def settings_for(url: str) -> Settings:
    return Settings(database_url=url)


@pytest.fixture
async def records(records_url: str) -> AsyncIterator[AsyncEngine]:
    """The records database, upgraded from empty."""
    url = database_url(settings_for(records_url))
    await upgrade(url)
    engine = open_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def write_stream(
    redis: Redis, events: list[dict[str, str]]
) -> list[tuple[str, dict[str, str]]]:
    """XADD every event (no cap, as the scripts do); their ids."""
    written: list[tuple[str, dict[str, str]]] = []
    for start in range(0, len(events), 2000):
        chunk = events[start : start + 2000]
        async with redis.pipeline(transaction=False) as pipe:
            for fields in chunk:
                pipe.xadd(STREAM, fields)  # type: ignore[arg-type]
            ids = await pipe.execute()
        written += list(zip(ids, chunk, strict=True))
    return written


async def recorded_rows(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(tables.events))).scalar()
        ids = {r for (r,) in await conn.execute(select(tables.events.c.id))}
        visits = [dict(r) for r in (await conn.execute(select(tables.visits))).mappings()]
        surveys = (await conn.execute(select(func.count()).select_from(tables.surveys))).scalar()
        callbacks = [dict(r) for r in (await conn.execute(select(tables.callbacks))).mappings()]
    return {"count": count, "ids": ids, "visits": visits, "surveys": surveys,
            "callbacks": callbacks}  # fmt: skip


def by_patient(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["patient"]: session_row(row) for row in rows}


async def wait_recorded(redis: Redis, engine: AsyncEngine, timeout: float) -> None:
    probe = Recorder(redis, STREAM, engine, "probe")
    deadline = time.monotonic() + timeout
    while await probe.oldest_unrecorded() is not None:
        assert time.monotonic() < deadline, "the recorders did not catch up"
        await asyncio.sleep(0.2)


def start_worker(redis_url: str, records_url: str, name: str) -> subprocess.Popen[bytes]:
    LOG_DIR.mkdir(exist_ok=True)
    with (LOG_DIR / f"record-worker-{name}.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.support.record_worker", redis_url, STREAM,
             records_url, name, "200"],
            stdout=log, stderr=log,
        )  # fmt: skip


async def test_a_day_is_recorded_exactly_once_by_two_processes_one_killed_mid_batch(
    redis: Redis, redis_url: str, records_url: str, records: AsyncEngine
) -> None:
    events = visit_day(2500)
    written = await write_stream(redis, events)
    first = start_worker(redis_url, records_url, "first")
    second = start_worker(redis_url, records_url, "second")
    try:
        # Kill the first while it holds a batch it has read and not acknowledged.
        held = 0
        deadline = time.monotonic() + 60
        while not held:
            assert time.monotonic() < deadline, "the first recorder never held a batch"
            try:
                consumers = await redis.xinfo_consumers(STREAM, GROUP)
            except ResponseError:  # the workers have not created the group yet
                consumers = []
            held = next((int(c["pending"]) for c in consumers if c["name"] == "first"), 0)
            if not held:
                await asyncio.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        await wait_recorded(redis, records, timeout=120)
    finally:
        for worker in (first, second):
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(20)
    rows = await recorded_rows(records)
    # Every event once: the same ids as the stream, none twice, none missing.
    assert rows["count"] == len(written)
    assert rows["ids"] == {eid for eid, _ in written}
    # The visits built batch by batch, by two processes, are the visits of the whole day.
    expected = visits_from({"id": eid, **fields} for eid, fields in written)
    assert by_patient(rows["visits"]) == by_patient([v.columns() for v in expected])
    assert len(rows["visits"]) == 2500
    assert rows["surveys"] == sum(1 for e in events if e["type"] == "rated")
    due = [c for c in rows["callbacks"] if c["due_at"] is not None]
    assert (
        len(due)
        == len(rows["callbacks"])
        == sum(1 for e in events if e["type"] == "callback_requested")
    )
    # Nothing left pending: what the killed process held was claimed and recorded.
    assert (await redis.xpending(STREAM, GROUP))["pending"] == 0
    assert held > 0


async def test_a_stream_far_past_the_old_cap_loses_no_unrecorded_event(
    redis: Redis, records: AsyncEngine
) -> None:
    # 250 000 events wait while nothing records (the old XADD cap was about 200 000) …
    filler = [
        {"type": "agent_status", "agent": f"a{n % 50}", "status": "away", "at": str(n)}
        for n in range(250_000)
    ]
    await write_stream(redis, filler)
    # … and the desk's own writers add theirs: a queue script and an audit event.
    engine = QueueEngine(redis, Keys("rec"), QUEUES, TIMING)
    await engine.join("p-late", "appointments", details())
    await audit(redis, Keys("rec"), "token_revoked", jti="abc123")
    assert await redis.xlen(STREAM) == 250_002  # no writer trimmed anything
    recorder = Recorder(redis, STREAM, records, "solo", Pace(batch=2000, keep_ms=0,
                                                             housekeeping_s=0.2))  # fmt: skip
    recorder.start()
    try:
        await wait_recorded(redis, records, timeout=240)
        await recorder.housekeeping()  # the last trim
    finally:
        await recorder.stop()
    rows = await recorded_rows(records)
    assert rows["count"] == 250_002
    assert [v["patient"] for v in rows["visits"]] == ["p-late"]
    async with records.connect() as conn:
        audited = await conn.execute(select(tables.audit.c.action, tables.audit.c.details))
        assert [(a, json.loads(d)) for a, d in audited] == [("token_revoked", {"jti": "abc123"})]
    # Recorded, so trimmed: the stream keeps only what is newer than keep_ms (here none).
    assert await redis.xlen(STREAM) < 1000


async def test_nothing_is_trimmed_before_it_is_recorded(redis: Redis, records: AsyncEngine) -> None:
    written = await write_stream(redis, visit_day(100))
    recorder = Recorder(redis, STREAM, records, "solo", Pace(batch=50, keep_ms=0))
    await recorder.ensure_group()
    # Read one batch and do not record it (as a process that died holding it).
    await redis.xreadgroup(GROUP, "dead", {STREAM: ">"}, count=50)
    oldest = await recorder.oldest_unrecorded()
    assert oldest is not None and f"{oldest[0]}-{oldest[1]}" == written[0][0]
    await recorder.trim(oldest, now_ms=int(time.time() * 1000) + 10**9)
    assert await redis.xlen(STREAM) == len(written)  # the held batch and all after it stay


async def test_the_latest_migration_builds_exactly_the_tables(records: AsyncEngine) -> None:
    def differences(connection: Any) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), tables.metadata))

    async with records.connect() as conn:
        assert await conn.run_sync(differences) == []
    assert (await schema_of(records)).state == "current"


async def test_a_schema_newer_than_the_code_is_refused(records_url: str) -> None:
    url = database_url(settings_for(records_url))
    await upgrade(url)
    engine = open_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
        with pytest.raises(SchemaError, match="newer than this videodesk"):
            await prepare(settings_for(records_url), engine)
    finally:
        await engine.dispose()


async def test_the_embedded_file_is_created_and_upgraded_at_start(tmp_path: Path) -> None:
    settings = Settings(secret_file=tmp_path / "data" / "secret")
    engine = open_engine(database_url(settings))
    try:
        schema = await prepare(settings, engine)
    finally:
        await engine.dispose()
    assert schema is not None and schema.state == "current"
    assert settings.records_file == tmp_path / "data" / "records.sqlite3"
    assert settings.records_file.exists()


async def _report(desk: LiveDesk) -> tuple[int, Any]:
    admin = desk.token("admin")
    async with (
        ClientSession() as http,
        http.get(f"{desk.url}/api/v1/reports/sessions",
                 headers={"Authorization": f"Bearer {admin}"}) as response,
    ):  # fmt: skip
        return response.status, await response.json()


async def _lag(desk: LiveDesk) -> float:
    async with ClientSession() as http, http.get(f"{desk.url}/metrics") as response:
        for family in text_string_to_metric_families(await response.text()):
            if family.name == "videodesk_recorder_lag_seconds":
                return float(family.samples[0].value)
    raise AssertionError("no videodesk_recorder_lag_seconds in /metrics")


async def upgraded_database(server: PostgresServer) -> str:
    """A fresh PostgreSQL database at this code's schema; its URL."""
    url = server.create_database()
    await upgrade(database_url(settings_for(url)))
    return url


async def _visit(engine: QueueEngine, n: int) -> str:
    pid = f"p{n}"
    await engine.join(pid, "appointments", details())
    await engine.leave(pid)
    return pid


async def test_the_database_down_for_ten_seconds_loses_nothing(
    aiohttp_server: AiohttpServer,
    redis_url: str,
    redis: Redis,
    tmp_path: Path,
    postgres_server: PostgresServer,
) -> None:
    url = await upgraded_database(postgres_server)
    desk = await start_desk(aiohttp_server, redis_url, tmp_path, VIDEODESK_DATABASE_URL=url)
    engine = desk.desk.engine
    visits = [await _visit(engine, n) for n in range(5)]
    await recorded(desk.app)
    postgres_server.stop()
    try:
        lag = 0.0
        began = time.monotonic()
        while time.monotonic() - began < 10:
            # The desk keeps serving patients; its readiness is Redis's alone.
            visits.append(await _visit(engine, len(visits)))
            lag = max(lag, await _lag(desk))
            await asyncio.sleep(0.2)
        status, body = await _report(desk)
        assert status == 503 and body["error"] == "unavailable"
        async with ClientSession() as http, http.get(f"{desk.url}/readyz") as response:
            assert response.status == 200
    finally:
        postgres_server.start()
    assert lag > 0  # the backlog showed on /metrics
    await recorded(desk.app, timeout=60)
    status, body = await _report(desk)
    assert status == 200
    assert sorted(row["patient"] for row in body["sessions"]) == sorted(visits)
    assert len(visits) > 30
    assert all(row["end"] == "left" for row in body["sessions"])


async def test_a_desk_starts_with_the_database_down_and_records_once_it_is_up(
    aiohttp_server: AiohttpServer,
    redis_url: str,
    redis: Redis,
    tmp_path: Path,
    postgres_server: PostgresServer,
) -> None:
    url = await upgraded_database(postgres_server)
    postgres_server.stop()
    try:
        desk = await start_desk(aiohttp_server, redis_url, tmp_path, VIDEODESK_DATABASE_URL=url)
        visits = [await _visit(desk.desk.engine, n) for n in range(3)]
    finally:
        postgres_server.start()
    await recorded(desk.app, timeout=60)
    status, body = await _report(desk)
    assert status == 200
    assert sorted(row["patient"] for row in body["sessions"]) == visits


async def test_retention_deletes_only_what_is_old_and_runs_once_a_day(
    redis: Redis, records: AsyncEngine
) -> None:
    now = int(time.time() * 1000)
    old, recent = now - 40 * DAY_MS, now - 2 * DAY_MS
    events = [
        {"type": "joined", "patient": "p-old", "queue": "pharmacy", "ticket": "1",
         "at": str(old)},
        {"type": "left", "patient": "p-old", "queue": "pharmacy", "reason": "self_help",
         "at": str(old + 60_000)},
        {"type": "token_revoked", "jti": "old", "at": str(old)},
        {"type": "joined", "patient": "p-new", "queue": "pharmacy", "ticket": "2",
         "at": str(recent)},
        {"type": "token_revoked", "jti": "new", "at": str(recent)},
    ]  # fmt: skip
    await write_stream(redis, events)
    writer = Recorder(redis, STREAM, records, "writer")  # no retention: records only
    while await writer.oldest_unrecorded() is not None or not writer.recorded:
        await writer.step()
    policy = Retention(days=30, audit_days=365)
    first = Recorder(redis, STREAM, records, "first", retention=policy)
    second = Recorder(redis, STREAM, records, "second", retention=policy)
    # Two processes, one day: one of them deletes.
    assert [await first.retain(now), await second.retain(now)] == [True, False]
    assert await first.retain(now) is False  # and not again that day
    rows = await recorded_rows(records)
    assert [v["patient"] for v in rows["visits"]] == ["p-new"]
    assert rows["count"] == 2  # p-new's join and the recent revocation
    async with records.connect() as conn:
        audited = {json.loads(d)["jti"] for (d,) in await conn.execute(
            select(tables.audit.c.details))}  # fmt: skip
    assert audited == {"old", "new"}  # the audit trail has its own, longer retention
    deleted = await enforce(records, Retention(audit_days=30), now)
    assert deleted == {"audit": 1}
