"""The records as the app holds them: the database engine, this process's recorder and
its webhook deliverer."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from server.core.errors import Unavailable
from server.records.database import DatabaseUnavailable
from server.records.deliveries import Deliverer
from server.records.recorder import Recorder


@dataclass(frozen=True, slots=True)
class Records:
    engine: AsyncEngine
    recorder: Recorder
    deliverer: Deliverer


RECORDS = web.AppKey("records", Records)


@contextlib.contextmanager
def answering_unavailable() -> Iterator[None]:
    """A records database that does not answer is a 503 (``unavailable``) with a JSON
    body, as a Redis outage is; the desk itself goes on."""
    try:
        yield
    except DatabaseUnavailable:
        raise Unavailable("the records database is not reachable now; try again soon") from None
