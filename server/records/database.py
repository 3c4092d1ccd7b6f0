"""The records database: its URL, the engine, and the schema's version.

``VIDEODESK_DATABASE_URL`` (``postgresql://…``) names PostgreSQL, reached with asyncpg;
without it the records go to an embedded SQLite file in the desk's data folder (one
process only, like the embedded Redis store). Alembic migrations build the schema
(``videodesk db upgrade``); the embedded file is upgraded at start."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.core.settings import Settings

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
EMBEDDED_NOTICE = (
    "records: no VIDEODESK_DATABASE_URL, so visits, events and audit go to an embedded "
    "SQLite file ({path}): one process only; set VIDEODESK_DATABASE_URL=postgresql://… "
    "for a desk of several processes"
)

# Errors that mean "the database is not there now" (down, restarting, unreachable).
DatabaseUnavailable = (OperationalError, DBAPIError, OSError, ConnectionError, TimeoutError)


def database_url(settings: Settings) -> URL:
    """The SQLAlchemy URL for the settings, with the async driver named."""
    if settings.database_url is None:
        return URL.create("sqlite+aiosqlite", database=str(settings.records_file))
    url = make_url(settings.database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+asyncpg")
    elif url.drivername == "sqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    return url


def shown(url: URL) -> str:
    """The URL for a log line: never the password."""
    return url.render_as_string(hide_password=True)


def open_engine(url: URL) -> AsyncEngine:
    if url.get_backend_name() == "sqlite":
        if url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        pool_size=4,
        max_overflow=2,
        pool_pre_ping=True,
        # A database that does not answer must not hold a recorder batch for long.
        connect_args={"timeout": 5, "command_timeout": 30},
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def alembic_config(url: URL) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config(URL.create("sqlite"))).get_current_head()
    assert head is not None
    return head


SchemaState = Literal["current", "behind", "ahead"]


@dataclass(frozen=True, slots=True)
class Schema:
    state: SchemaState
    revision: str | None  # what the database has (None: empty)
    head: str  # what this code expects


async def schema_of(engine: AsyncEngine) -> Schema:
    """Compare the database's migration with this code's latest."""
    head = head_revision()
    try:
        async with engine.connect() as conn:
            found = await conn.execute(text("SELECT version_num FROM alembic_version"))
            revision = found.scalar()
    except (OperationalError, ProgrammingError) as exc:
        if "alembic_version" not in str(exc):
            raise
        revision = None
    if revision == head:
        return Schema("current", revision, head)
    known = {script.revision for script in ScriptDirectory.from_config(
        alembic_config(URL.create("sqlite"))).walk_revisions()}  # fmt: skip
    if revision is not None and revision not in known:
        return Schema("ahead", revision, head)
    return Schema("behind", revision, head)


async def upgrade(url: URL) -> None:
    """Apply every pending migration (Alembic runs in a thread with a loop of its own)."""
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")


class SchemaError(RuntimeError):
    """The database's schema does not match this code."""


async def prepare(settings: Settings, engine: AsyncEngine) -> Schema | None:
    """At start: upgrade the embedded file; refuse a schema newer than the code, or an
    older PostgreSQL one (``videodesk db upgrade`` first). None when the database cannot
    be reached now: the desk starts anyway and the recorder checks again before writing."""
    url = engine.url
    try:
        schema = await schema_of(engine)
        if schema.state == "behind" and settings.database_url is None:
            await upgrade(url)
            schema = await schema_of(engine)
    except DatabaseUnavailable as exc:
        log.warning("records: the database %s is not reachable (%s); events wait in Redis "
                    "until it is", shown(url), type(exc).__name__)  # fmt: skip
        return None
    check(schema)
    return schema


def check(schema: Schema) -> None:
    if schema.state == "ahead":
        raise SchemaError(
            f"the records database has schema {schema.revision}, newer than this videodesk "
            f"({schema.head}): run the newer videodesk, or restore the database"
        )
    if schema.state == "behind":
        raise SchemaError(
            f"the records database has schema {schema.revision or '(empty)'} and this "
            f"videodesk needs {schema.head}: run `videodesk db upgrade` first"
        )
