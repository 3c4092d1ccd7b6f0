"""Reports for a date range, from the records database (server/records/): every event, and
one row per patient visit (a "session": from joining to done, left or abandoned), as CSV
or JSON, streamed.

Times are the desk's clock (the ``at`` of each event), UTC.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from server.records import queries

EVENT_COLUMNS = [
    "id", "at", "type", "patient", "agent", "queue", "call", "ticket", "kind", "reason",
    "wait_ms", "handle_ms", "setup_ms", "outcome", "rating", "mode",
]  # fmt: skip
SESSION_COLUMNS = [
    "patient", "ticket", "queue", "joined_at", "answered_at", "wait_s", "call", "agent",
    "handle_s", "outcome", "rating", "transfers", "callback", "end", "ended_at",
    "estimate_low_min", "estimate_high_min", "estimate_s", "estimate_error_s",
    "estimate_inside", "estimate_changes",
]  # fmt: skip
CHUNK = 500  # rows per chunk of a streamed report


def parse_when(raw: str, *, end: bool = False) -> int:
    """``2026-11-27`` (the whole day), an ISO time, or epoch milliseconds → epoch ms."""
    raw = raw.strip()
    if raw.isdigit():
        return int(raw)
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a date: {raw[:40]!r} (use YYYY-MM-DD)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ms = int(moment.timestamp() * 1000)
    if end and len(raw) == 10:  # a bare date: up to the end of that day
        ms += 24 * 3600 * 1000
    return ms


def rows_of(
    engine: AsyncEngine, kind: str, start_ms: int, end_ms: int
) -> AsyncIterator[dict[str, Any]]:
    """The report's rows from the records database (streamed)."""
    if kind == "sessions":
        return queries.session_rows(engine, start_ms, end_ms)
    return queries.event_rows(engine, start_ms, end_ms)


def columns_of(kind: str) -> list[str]:
    return SESSION_COLUMNS if kind == "sessions" else EVENT_COLUMNS


async def csv_chunks(rows: AsyncIterator[dict[str, Any]], columns: list[str]) -> AsyncIterator[str]:
    """The CSV a few hundred rows at a time (the header first, even with no rows)."""
    rows = await _started(rows)
    page: list[dict[str, Any]] = []
    yield to_csv([], columns)
    async for row in rows:
        page.append(row)
        if len(page) >= CHUNK:
            yield to_csv(page, columns, header=False)
            page = []
    if page:
        yield to_csv(page, columns, header=False)


async def json_chunks(kind: str, rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    """``{"<kind>": [row, …]}`` a few hundred rows at a time."""
    rows = await _started(rows)
    yield f'{{"{kind}": ['
    separator = ""
    page: list[str] = []
    async for row in rows:
        page.append(separator + json.dumps(row, default=str))
        separator = ","
        if len(page) >= CHUNK:
            yield "".join(page)
            page = []
    yield "".join(page) + "]}\n"


async def _started(rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    """The rows with the first already fetched, so that a database that is down fails here,
    before anything is sent."""
    try:
        first = await anext(rows)
    except StopAsyncIteration:
        first = None

    async def resumed() -> AsyncIterator[dict[str, Any]]:
        if first is not None:
            yield first
        async for row in rows:
            yield row

    return resumed()


def to_csv(rows: list[dict[str, Any]], columns: list[str], *, header: bool = True) -> str:
    out = io.StringIO()
    # CRLF, as RFC 4180 has it: the csv module quotes a cell only for the characters of
    # the line terminator, so with "\n" alone a bare CR in a cell went out unquoted and a
    # spreadsheet started a new row there (whose first cell could be a formula).
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    if header:
        writer.writeheader()
    for row in rows:
        # Cells that a spreadsheet would run as a formula are quoted as text.
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


# What a spreadsheet may read as the start of a formula (OWASP "CSV Injection"): = + - @,
# and tab and carriage return, which some strip before looking; line feed for the same reason.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value
