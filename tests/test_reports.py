"""Reports of a scripted day (CSV and JSON, API and command line), /metrics, and the dashboard
history."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from server.auth.tokens import TokenRequest
from server.core import appkeys
from server.queue.engine import QueueEngine
from server.queue.models import PatientDetails
from server.records import tables
from server.records.service import RECORDS
from server.records.visits import session_row, visits_from
from tests.conftest import TEST_SECRET
from tests.support.desks import LiveDesk
from tests.support.processes import videodesk_command
from tests.support.records import recorded

DAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def at(engine: QueueEngine, hour: int, minute: int, second: int = 0) -> None:
    """Set the desk's clock to a time of the scripted day."""
    target = int(DAY.replace(hour=hour, minute=minute, second=second).timestamp() * 1000)
    skew = target - (
        await engine.clock_ms() - int(await engine.redis.get(engine.keys.clock_skew) or 0)
    )
    await engine.redis.set(engine.keys.clock_skew, skew)


def details(name: str) -> PatientDetails:
    return PatientDetails(name=name, reason="question", language="en")


async def scripted_day(engine: QueueEngine) -> None:
    await engine.agent_signin("a1", "Sam", ["appointments", "pharmacy", "billing"], ["en"])
    await at(engine, 8, 0)
    await engine.join("p1", "appointments", details("Ana"))
    await at(engine, 8, 1)
    offer = await engine.set_status("a1", "available")
    assert offer is not None
    await engine.accept("a1", offer.token)
    await at(engine, 8, 2)
    await engine.join("p2", "appointments", details("Ben"))
    await at(engine, 8, 3)
    await engine.leave("p2")
    await at(engine, 8, 4)
    await engine.join("p3", "pharmacy", details("Cy"))
    await at(engine, 8, 6)
    await engine.renew(["a:a1", "p:p1"])
    await engine.finish("a1")
    await engine.wrapup_done("a1", "resolved", available=False)
    await engine.rate("p1", 5, "kind and quick")
    await at(engine, 8, 10)
    await engine.join("p4", "billing", details("Di"))
    await engine.leave("p4", "self_help")
    await at(engine, 8, 20)  # p3 has been gone for 16 minutes: lease lapsed
    await engine.tick()


async def sessions_from_the_stream(engine: QueueEngine, day: datetime) -> list[dict[str, Any]]:
    """The sessions report as it was computed before the records database: every event of
    the day from the Redis stream."""
    start = int(day.replace(hour=0).timestamp() * 1000)
    end = start + 24 * 3600 * 1000
    entries: list[tuple[str, dict[str, str]]] = await engine.redis.xrange(  # type: ignore[assignment]
        engine.keys.events
    )
    events = [{"id": eid, **f} for eid, f in entries if start <= int(f.get("at", 0)) < end]
    rows = [session_row(v.columns()) for v in visits_from(events)]
    return list(json.loads(json.dumps(rows)))


async def test_report_of_a_scripted_day(live_desk: LiveDesk, tmp_path: Path) -> None:
    engine = live_desk.desk.engine
    await scripted_day(engine)
    await recorded(live_desk.app)
    admin = live_desk.tokens.mint(TokenRequest(typ="admin")).token
    headers = {"Authorization": f"Bearer {admin}"}
    async with ClientSession() as http:
        url = f"{live_desk.url}/api/v1/reports/sessions?from=2026-03-02&to=2026-03-02&format=csv"
        async with http.get(url, headers=headers) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/csv")
            rows = list(csv.DictReader(io.StringIO(await response.text())))
        url = f"{live_desk.url}/api/v1/reports/events?from=2026-03-02&to=2026-03-02&format=json"
        async with http.get(url, headers=headers) as response:
            events = (await response.json())["events"]
        url = f"{live_desk.url}/api/v1/reports/sessions?from=2026-03-02&to=2026-03-02"
        async with http.get(url, headers=headers) as response:
            sessions = (await response.json())["sessions"]
        url = f"{live_desk.url}/api/v1/reports/sessions?from=2026-03-01&to=2026-03-01"
        async with http.get(url, headers=headers) as response:
            assert (await response.json())["sessions"] == []
        async with http.get(
            f"{live_desk.url}/api/v1/reports/sessions?from=soon", headers=headers
        ) as response:
            assert response.status == 400
    # The old path (the whole events stream, folded into visits in one pass) and the new
    # (the visits table the recorder built batch by batch) give the same report.
    assert sessions == await sessions_from_the_stream(engine, DAY)
    assert [r["patient"] for r in rows] == ["p1", "p2", "p3", "p4"]
    # Each download is in the audit trail, with who asked and for which report.
    await recorded(live_desk.app)
    async with live_desk.app[RECORDS].engine.connect() as conn:
        audited = (await conn.execute(
            select(tables.audit.c.actor, tables.audit.c.details)
            .where(tables.audit.c.action == "report_downloaded")
        )).all()  # fmt: skip
    admin_sub = live_desk.tokens.decode(admin, "admin").sub
    assert {actor for actor, _ in audited} == {admin_sub}
    assert sorted(json.loads(d)["report"] for _, d in audited) == [
        "events", "sessions", "sessions", "sessions"
    ]  # fmt: skip
    ends = {r["patient"]: r["end"] for r in rows}
    assert ends == {"p1": "done", "p2": "left", "p3": "abandoned", "p4": "self_help"}
    first = rows[0]
    assert first["wait_s"] == "60" and first["handle_s"] == "300"
    assert first["outcome"] == "resolved" and first["rating"] == "5"
    assert first["joined_at"] == "2026-03-02T08:00:00+00:00"
    types = [e["type"] for e in events]
    assert types.count("joined") == 4 and types.count("accepted") == 1
    assert types.count("abandoned") == 1 and "rated" in types
    assert all(e["at"].startswith("2026-03-02T08:") for e in events)
    # The command line gives the same report.
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "REDIS_URL": live_desk.app[appkeys.SETTINGS].redis_url or "",
        "VIDEODESK_SECRET": TEST_SECRET,
        "VIDEODESK_SECRET_FILE": str(live_desk.app[appkeys.SETTINGS].secret_file),
        "VIDEODESK_DESK": live_desk.desk.keys.desk,
    }
    result = subprocess.run(
        videodesk_command("report", "sessions", "--from", "2026-03-02", "--to", "2026-03-02"),
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert list(csv.DictReader(io.StringIO(result.stdout))) == rows


async def test_metrics_parse_and_count(live_desk: LiveDesk) -> None:
    engine = live_desk.desk.engine
    await scripted_day(engine)
    async with ClientSession() as http, http.get(f"{live_desk.url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in families.values()
        for s in family.samples
    }
    assert samples[("videodesk_patients_joined_total", (("queue", "appointments"),))] == 2
    assert samples[("videodesk_calls_answered_total", (("queue", "appointments"),))] == 1
    assert samples[("videodesk_patients_abandoned_total", (("queue", "pharmacy"),))] == 1
    assert samples[("videodesk_self_help_resolved_total", (("queue", "billing"),))] == 1
    assert samples[("videodesk_csat_average", (("queue", "appointments"),))] == 5
    assert samples[("videodesk_queue_waiting", (("queue", "appointments"),))] == 0
    assert families["videodesk_call_setup_seconds"].type == "histogram"
    assert ("videodesk_agents", (("queue", "billing"), ("state", "away"))) in samples


async def test_dashboard_history(live_desk: LiveDesk) -> None:
    engine = live_desk.desk.engine
    await scripted_day(engine)
    from server.observability.history import history, record_sample

    # This minute's sample is taken by us or, at the same moment, by the desk's ticker.
    await record_sample(engine.redis, engine.keys, list(engine.queues), await engine.clock_ms())
    await recorded(live_desk.app)
    records = live_desk.app[RECORDS].engine
    for _ in range(50):
        view = await history(engine.redis, engine.keys, records, list(engine.queues), hours=1)
        if view["waiting"]["appointments"]:
            break
        await asyncio.sleep(0.1)
    assert set(view["waiting"]) == set(engine.queues)
    assert len(view["waiting"]["appointments"]) == 1
    assert sum(view["waits"]["appointments"]) == 1  # one answered call, waited 60 s
    # waited 60 s of desk time (plus the milliseconds the script took): 30-60 or 60-120 s
    assert view["waits"]["appointments"][1] + view["waits"]["appointments"][2] == 1
