"""The records as the app holds them: the database engine and this process's recorder."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from server.records.recorder import Recorder


@dataclass(frozen=True, slots=True)
class Records:
    engine: AsyncEngine
    recorder: Recorder


RECORDS = web.AppKey("records", Records)
