"""The records database as the command line opens it: the engine for one command, its
schema checked, and the one-line messages when the database is not there or not right."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from server.core.settings import Settings
from server.records.database import (
    DatabaseUnavailable,
    SchemaError,
    check,
    database_url,
    open_engine,
    schema_of,
    shown,
)


async def with_records(
    settings: Settings, work: Callable[[AsyncEngine], Awaitable[int]], *, checked: bool = True
) -> int:
    """Run ``work`` on the records database (its schema this code's, when ``checked``);
    its exit status, or 1 with a message when the database fails."""
    url = database_url(settings)
    engine = open_engine(url)
    try:
        if checked:
            check(await schema_of(engine))
        return await work(engine)
    except SchemaError as exc:
        print(f"videodesk: {exc}", file=sys.stderr)
        return 1
    except DatabaseUnavailable as exc:
        print(f"videodesk: the records database {shown(url)} is not reachable "
              f"({type(exc).__name__}: {str(exc)[:200]})", file=sys.stderr)  # fmt: skip
        return 1
    finally:
        await engine.dispose()
