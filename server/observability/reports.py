"""Reports for a date range, from the events stream: every event, and one row per patient
visit (a "session": from joining to done, left or abandoned).

Times are the desk's clock (the ``at`` of each event), UTC. The stream is capped
(about 200 000 events), so export reports regularly.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from server.core.redis_keys import Keys

EVENT_COLUMNS = [
    "id", "at", "type", "patient", "agent", "queue", "call", "ticket", "kind", "reason",
    "wait_ms", "handle_ms", "setup_ms", "outcome", "rating", "mode",
]  # fmt: skip
SESSION_COLUMNS = [
    "patient", "ticket", "queue", "joined_at", "answered_at", "wait_s", "call", "agent",
    "handle_s", "outcome", "rating", "transfers", "callback", "end", "ended_at",
]  # fmt: skip
CHUNK = 1000


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


def iso(ms: int | str | None) -> str:
    if ms in (None, ""):
        return ""
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC).isoformat(timespec="seconds")


async def events_between(
    redis: Redis, keys: Keys, start_ms: int, end_ms: int
) -> list[dict[str, Any]]:
    """Every event with ``start_ms <= at < end_ms``, oldest first."""
    found: list[dict[str, Any]] = []
    cursor = "-"
    while True:
        batch: list[tuple[str, dict[str, str]]] = await redis.xrange(  # type: ignore[assignment]
            keys.events, min=cursor, max="+", count=CHUNK
        )
        if not batch:
            break
        for event_id, fields in batch:
            at = int(fields.get("at", "0"))
            if start_ms <= at < end_ms:
                found.append({"id": event_id, **fields})
        if len(batch) < CHUNK:
            break
        cursor = "(" + batch[-1][0]
    return found


@dataclass
class Visit:
    patient: str
    ticket: str
    queue: str = ""
    joined_at: int = 0
    answered_at: int | None = None
    wait_ms: int | None = None
    call: str = ""
    agent: str = ""
    handle_ms: int | None = None
    outcome: str = ""
    rating: str = ""
    transfers: int = 0
    callback: str = ""
    end: str = ""
    ended_at: int | None = None
    calls: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {
            "patient": self.patient,
            "ticket": self.ticket,
            "queue": self.queue,
            "joined_at": iso(self.joined_at),
            "answered_at": iso(self.answered_at),
            "wait_s": "" if self.wait_ms is None else round(self.wait_ms / 1000),
            "call": self.call,
            "agent": self.agent,
            "handle_s": "" if self.handle_ms is None else round(self.handle_ms / 1000),
            "outcome": self.outcome,
            "rating": self.rating,
            "transfers": self.transfers,
            "callback": self.callback,
            "end": self.end or "open",
            "ended_at": iso(self.ended_at),
        }


def sessions_from(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per visit: join → (offers, call, transfers) → done / left / abandoned."""
    visits: dict[str, Visit] = {}  # the current visit of each patient
    by_call: dict[str, Visit] = {}
    finished: list[Visit] = []
    for event in events:
        kind, pid, at = event["type"], event.get("patient", ""), int(event.get("at", 0))
        visit = visits.get(pid)
        if kind == "joined":
            if visit is not None:
                finished.append(visit)
            visit = Visit(pid, event.get("ticket", ""), queue=event.get("queue", ""), joined_at=at)
            visits[pid] = visit
        elif visit is None and kind not in ("wrapup",):
            continue  # the visit began before the range
        if visit is not None:
            _apply(visit, kind, event, at, by_call)
        elif kind == "wrapup" and event.get("call") in by_call:
            by_call[event["call"]].outcome = event.get("outcome", "")
    finished.extend(visits.values())
    finished.sort(key=lambda v: v.joined_at)
    return [v.row() for v in finished]


def _apply(
    visit: Visit, kind: str, event: dict[str, Any], at: int, by_call: dict[str, Visit]
) -> None:
    if kind == "accepted":
        if visit.answered_at is None:
            visit.answered_at = at
            visit.wait_ms = int(event.get("wait_ms", 0))
        visit.call, visit.agent = event.get("call", ""), event.get("agent", "")
        by_call[visit.call] = visit
    elif kind == "call_ended":
        visit.handle_ms = (visit.handle_ms or 0) + int(event.get("handle_ms", 0))
        if event.get("reason") in ("completed", "patient_ended"):
            visit.end, visit.ended_at = "done", at
    elif kind == "transferred":
        visit.transfers += 1
        visit.queue = event.get("queue", visit.queue)
    elif kind == "callback_requested":
        visit.callback = event.get("mode", "")
    elif kind == "left":
        visit.end = "self_help" if event.get("reason") == "self_help" else "left"
        visit.ended_at = at
    elif kind == "abandoned":
        visit.end, visit.ended_at = "abandoned", at
    elif kind == "rated":
        visit.rating = event.get("rating", "")


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    out = io.StringIO()
    # CRLF, as RFC 4180 has it: the csv module quotes a cell only for the characters of
    # the line terminator, so with "\n" alone a bare CR in a cell went out unquoted and a
    # spreadsheet started a new row there (whose first cell could be a formula).
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
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


def event_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**e, "at": iso(e.get("at"))} for e in events]
