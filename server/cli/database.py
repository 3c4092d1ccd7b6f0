"""``videodesk db upgrade`` and ``videodesk db status``: the records database's schema."""

from __future__ import annotations

import sys

from sqlalchemy.ext.asyncio import AsyncEngine

from server.cli.records_db import with_records
from server.core.settings import Settings
from server.records.database import schema_of, shown, upgrade


async def db_from_cli(settings: Settings, action: str) -> int:
    async def work(engine: AsyncEngine) -> int:
        url = engine.url
        schema = await schema_of(engine)
        if action == "status":
            print(f"{shown(url)}: schema {schema.revision or '(empty)'}, this videodesk "
                  f"needs {schema.head}: {schema.state}")  # fmt: skip
            return 0 if schema.state == "current" else 1
        if schema.state == "ahead":
            print(f"videodesk: {shown(url)} has schema {schema.revision}, newer than this "
                  f"videodesk ({schema.head}); nothing done", file=sys.stderr)  # fmt: skip
            return 1
        if schema.state == "behind":
            await upgrade(url)
            print(f"{shown(url)}: upgraded from {schema.revision or '(empty)'} to {schema.head}")
        else:
            print(f"{shown(url)}: already at {schema.head}")
        return 0

    return await with_records(settings, work, checked=False)
