"""How fast the recorder files the events stream into the records database, beside a raw
bulk-insert floor measured in the same run, and how far behind it runs at a steady rate.

    unshare --net -- bash -c 'ip link set lo up && exec .venv/bin/python -m bench.records'

Starts its own throwaway redis-server and PostgreSQL cluster (tests/support), and a SQLite
file in a temporary folder. Figures:

- floor: the same event rows written with asyncpg's COPY and with one executemany INSERT
  per 500 rows (no visits, no Redis): what the database itself takes;
- recorder: a day of visits waiting in the stream, recorded by one Recorder (batches of 500,
  visits and call-backs rebuilt per patient, XACK after each commit), events/s;
- lag at a steady 200 events/s: from each XADD to the moment its row is visible in the
  database (polled every 10 ms, so up to 10 ms is the poll), p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from redis.asyncio import Redis
from sqlalchemy import func, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from server.records import tables
from server.records.database import open_engine, upgrade
from server.records.recorder import Pace, Recorder
from server.records.writer import event_row
from tests.support.postgres import PostgresServer
from tests.support.record_day import visit_day
from tests.support.redis_server import RedisServer

STREAM = "vd:{bench}:events"


async def fresh(url: URL) -> AsyncEngine:
    await upgrade(url)
    return open_engine(url)


async def fill(redis: Redis, events: list[dict[str, str]]) -> None:
    await redis.delete(STREAM)
    for start in range(0, len(events), 2000):
        async with redis.pipeline(transaction=False) as pipe:
            for fields in events[start : start + 2000]:
                pipe.xadd(STREAM, fields)  # type: ignore[arg-type]
            await pipe.execute()


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(tables.events))).scalar()
                   or 0)  # fmt: skip


async def floor(pg_url: str, events: list[dict[str, str]]) -> dict[str, float]:
    """COPY and executemany of the same rows into a fresh events table."""
    rows = [event_row(f"{1_000_000 + n}-0", fields) for n, fields in enumerate(events)]
    columns = list(rows[0])
    records = [tuple(r[c] for c in columns) for r in rows]
    figures: dict[str, float] = {}
    connection = await asyncpg.connect(pg_url)
    try:
        for name in ("copy", "executemany"):
            await connection.execute("TRUNCATE events")
            began = time.perf_counter()
            if name == "copy":
                await connection.copy_records_to_table("events", records=records, columns=columns)
            else:
                placeholders = ", ".join(f"${i + 1}" for i in range(len(columns)))
                names = ", ".join(f'"{c}"' for c in columns)
                statement = (f"INSERT INTO events ({names}) VALUES ({placeholders}) "
                             "ON CONFLICT (id) DO NOTHING")  # fmt: skip
                for start in range(0, len(records), 500):
                    async with connection.transaction():
                        await connection.executemany(statement, records[start : start + 500])
            figures[name] = len(records) / (time.perf_counter() - began)
        await connection.execute("TRUNCATE events")
    finally:
        await connection.close()
    return figures


async def throughput(redis: Redis, engine: AsyncEngine, events: list[dict[str, str]]) -> float:
    await fill(redis, events)
    recorder = Recorder(redis, STREAM, engine, "bench", Pace(batch=500, housekeeping_s=1))
    began = time.perf_counter()
    recorder.start()
    try:
        while await recorder.oldest_unrecorded() is not None:
            await asyncio.sleep(0.02)
    finally:
        await recorder.stop()
    return len(events) / (time.perf_counter() - began)


async def steady_lag(
    redis: Redis, engine: AsyncEngine, rate: int, seconds: float
) -> tuple[float, float, int]:
    """p50 and p99 (ms) from XADD to visible, at ``rate`` events a second."""
    await redis.delete(STREAM)
    async with engine.begin() as conn:
        for table in tables.metadata.sorted_tables:
            await conn.execute(table.delete())
    recorder = Recorder(redis, STREAM, engine, "bench", Pace(batch=500, housekeeping_s=1))
    recorder.start()
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    events = visit_day(int(rate * seconds / 4) + 10, seed=11)

    async def produce() -> None:
        began = time.perf_counter()
        for n, fields in enumerate(events[: int(rate * seconds)]):
            delay = began + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            event_id = await redis.xadd(STREAM, fields)  # type: ignore[arg-type]
            sent[str(event_id)] = time.perf_counter()

    async def watch(done: asyncio.Event) -> None:
        async with engine.connect() as conn:
            while not done.is_set() or len(seen) < len(sent):
                result = await conn.execute(text("SELECT id FROM events"))
                now = time.perf_counter()
                for (event_id,) in result:
                    seen.setdefault(event_id, now)
                await conn.commit()
                await asyncio.sleep(0.01)

    done = asyncio.Event()
    watcher = asyncio.create_task(watch(done))
    try:
        await produce()
        done.set()
        await asyncio.wait_for(watcher, 60)
    finally:
        await recorder.stop()
    lags = sorted((seen[eid] - at) * 1000 for eid, at in sent.items())
    return statistics.median(lags), lags[int(len(lags) * 0.99) - 1], len(lags)


async def main(visits: int, rate: int, seconds: float) -> None:
    events = visit_day(visits)
    print(f"# {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
          f"{len(events)} events of {visits} visits")  # fmt: skip
    redis_server = RedisServer()
    redis_server.start()
    postgres = PostgresServer()
    postgres.start()
    redis = Redis.from_url(redis_server.url, decode_responses=True)
    folder = Path(tempfile.mkdtemp(prefix="videodesk-bench-records-"))
    try:
        pg_url = postgres.create_database()
        pg = make_url(pg_url).set(drivername="postgresql+asyncpg")
        sqlite = URL.create("sqlite+aiosqlite", database=str(folder / "records.sqlite3"))
        engines = {"postgresql": await fresh(pg), "sqlite": await fresh(sqlite)}
        floors = await floor(pg_url, events)
        print(f"\nfloor (PostgreSQL, events rows only): COPY {floors['copy']:,.0f} events/s, "
              f"executemany per 500 {floors['executemany']:,.0f} events/s")  # fmt: skip
        print("\n| database | recorder events/s | ÷ executemany floor | "
              f"lag p50 at {rate}/s | lag p99 |")  # fmt: skip
        print("|---|---|---|---|---|")
        for name, engine in engines.items():
            rate_found = await throughput(redis, engine, events)
            assert await count(engine) == len(events)
            p50, p99, n = await steady_lag(redis, engine, rate, seconds)
            ratio = (f"{rate_found / floors['executemany']:.2f}" if name == "postgresql"
                     else "n/a (the floor is PostgreSQL's)")  # fmt: skip
            print(f"| {name} | {rate_found:,.0f} | {ratio} | {p50:.0f} ms | {p99:.0f} ms "
                  f"({n} events) |")  # fmt: skip
        for engine in engines.values():
            await engine.dispose()
    finally:
        await redis.aclose()
        redis_server.close()
        postgres.close()
    print(f"\n# load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=8000, help="visits in the day recorded")
    parser.add_argument("--rate", type=int, default=200, help="events a second for the lag")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the lag run lasts")
    args = parser.parse_args()
    asyncio.run(main(args.visits, args.rate, args.seconds))
