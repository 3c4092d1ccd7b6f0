"""A process that only records: ``python -m tests.support.record_worker REDIS_URL STREAM
DATABASE_URL CONSUMER BATCH`` runs one Recorder until it is stopped (or SIGKILLed), as a
desk process would, for the tests that kill one of two recorders."""

from __future__ import annotations

import asyncio
import signal
import sys

from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from server.core.logs import configure_logging
from server.records.database import open_engine
from server.records.recorder import Pace, Recorder


async def main(redis_url: str, stream: str, database: str, consumer: str, batch: int) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    url = make_url(database)
    url = url.set(drivername="postgresql+asyncpg" if url.drivername.startswith("postgres")
                  else "sqlite+aiosqlite")  # fmt: skip
    engine = open_engine(url)
    recorder = Recorder(
        redis, stream, engine, consumer,
        Pace(batch=batch, claim_idle_ms=1000, housekeeping_s=0.5, keep_ms=0),
    )  # fmt: skip
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    recorder.start()
    await stop.wait()
    await recorder.stop()
    await engine.dispose()
    await redis.aclose()


if __name__ == "__main__":
    configure_logging("INFO")
    redis_url, stream, database, consumer, batch = sys.argv[1:6]
    asyncio.run(main(redis_url, stream, database, consumer, int(batch)))
