"""The wait estimate on a live desk: what each patient is told is kept when it changes,
says why when it goes up, and a scripted day's visits carry the estimate shown at join
beside the wait they had, in the report, the dashboard history and /metrics."""

from __future__ import annotations

import csv
import io
import json

from aiohttp import ClientSession
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from server.auth.tokens import TokenRequest
from server.queue.engine import QueueEngine
from server.records import tables
from server.records.service import RECORDS
from server.ws import outbound
from tests.support.desks import LiveDesk
from tests.support.records import recorded
from tests.test_reports import at, details

Q = "appointments"


async def answer(engine: QueueEngine, aid: str, pid: str) -> None:
    """The agent becomes free and accepts the offer of ``pid``."""
    offer = await engine.set_status(aid, "available")
    assert offer is not None and offer.patient == pid
    await engine.accept(aid, offer.token)


async def test_a_scripted_day_of_estimates(live_desk: LiveDesk) -> None:
    engine = live_desk.desk.engine
    for aid in ("a1", "a2"):
        await engine.agent_signin(aid, aid.upper(), [Q], ["en"])
    # 08:00-08:05: a first call, so the queue has measured a call and a wrap-up.
    await at(engine, 8, 0)
    await engine.join("p0", Q, details("Ana"))
    first = await engine.position("p0")
    assert not first.estimate.known and first.estimate.reason == "nobody_staffed"
    await answer(engine, "a1", "p0")
    await at(engine, 8, 5)
    await engine.finish("a1")
    await at(engine, 8, 5, 30)
    assert await engine.wrapup_done("a1", "resolved", available=False) is None
    # 08:06: both agents busy; p2 and p3 join behind them.
    await at(engine, 8, 6)
    await engine.join("p1", Q, details("Ben"))
    await answer(engine, "a1", "p1")
    await engine.join("pb", Q, details("Bo"))
    await answer(engine, "a2", "pb")
    await at(engine, 8, 7)
    await engine.join("p2", Q, details("Cy"))
    await engine.join("p3", Q, details("Di"))
    p2, p3 = await engine.positions(["p2", "p3"])
    assert p2.estimate.known and p3.estimate.known
    assert p2.estimate.expected_seconds < p3.estimate.expected_seconds
    assert p3.estimate.why == ""
    # 08:08: a2 ends their call and goes away in wrap-up: fewer people answer, p3's wait
    # goes up, and the message says why.
    await at(engine, 8, 8)
    await engine.finish("a2")
    await engine.set_status("a2", "away", "break")
    p3_later = await engine.position("p3")
    assert p3_later.estimate.high_minutes > p3.estimate.high_minutes
    assert p3_later.estimate.why == "fewer_agents"
    message = outbound.queue_state(p3_later)
    assert message["estimate"]["why"] == "fewer_agents"
    # Told again with nothing new: the reason stands, no new change is recorded.
    assert (await engine.position("p3")).estimate.why == "fewer_agents"
    # 08:10:30: a1 is free and answers p2, later p3.
    await at(engine, 8, 10)
    await engine.finish("a1")
    await at(engine, 8, 10, 30)
    offer = await engine.wrapup_done("a1", "resolved", available=True)
    assert offer is not None and offer.patient == "p2"
    await engine.accept("a1", offer.token)
    await at(engine, 8, 14)
    await engine.finish("a1")
    await at(engine, 8, 14, 30)
    offer = await engine.wrapup_done("a1", "resolved", available=True)
    assert offer is not None and offer.patient == "p3"
    await engine.accept("a1", offer.token)
    await recorded(live_desk.app)

    records = live_desk.app[RECORDS].engine
    async with records.connect() as conn:
        rows = {
            row.patient: row
            for row in await conn.execute(
                select(tables.visits).where(tables.visits.c.patient.in_(["p2", "p3"]))
            )
        }
        shown = (
            await conn.execute(
                select(tables.events.c.patient, tables.events.c.fields).where(
                    tables.events.c.type == "estimate"
                )
            )
        ).all()
    p3_shown = [json.loads(f) for p, f in shown if p == "p3"]
    assert [e["why"] for e in p3_shown] == ["", "fewer_agents"]  # each change once
    assert rows["p2"].estimate_s == round(p2.estimate.expected_seconds)
    assert (rows["p2"].estimate_low_min, rows["p2"].estimate_high_min) == (
        p2.estimate.low_minutes,
        p2.estimate.high_minutes,
    )
    assert rows["p3"].estimate_changes == 1 and rows["p2"].estimate_changes == 0

    admin = live_desk.tokens.mint(TokenRequest(typ="admin")).token
    headers = {"Authorization": f"Bearer {admin}"}
    async with ClientSession() as http:
        url = f"{live_desk.url}/api/v1/reports/sessions?from=2026-03-02&to=2026-03-02&format=csv"
        async with http.get(url, headers=headers) as response:
            report = {r["patient"]: r for r in csv.DictReader(io.StringIO(await response.text()))}
        async with http.get(
            f"{live_desk.url}/api/v1/dashboard/history?hours=1", headers=headers
        ) as response:
            assert response.status == 200
            accuracy = (await response.json())["accuracy"]
        async with http.get(f"{live_desk.url}/metrics") as response:
            metrics = await response.text()
    # p2 waited 3.5 min, p3 7.5 min: the report has each one's estimate beside its wait.
    for pid, waited_s in (("p2", 210), ("p3", 450)):
        row = report[pid]
        assert row["wait_s"] == str(waited_s)
        assert int(row["estimate_error_s"]) == waited_s - int(row["estimate_s"])
        low, high = int(row["estimate_low_min"]), int(row["estimate_high_min"])
        assert row["estimate_inside"] == ("yes" if low * 60 <= waited_s <= high * 60 else "no")
    assert report["p3"]["estimate_changes"] == "1"
    assert report["p0"]["estimate_s"] == "" and report["p0"]["estimate_inside"] == ""
    # The last day's figures, per queue: the visits shown a range at join (p2, p3; p0 was
    # told nobody was answering, p1 and pb were answered at once).
    errors = [abs(int(report[p]["estimate_error_s"])) for p in ("p2", "p3")]
    inside = [report[p]["estimate_inside"] == "yes" for p in ("p2", "p3")]
    figures = accuracy[Q]
    assert figures["answered"] == 2
    assert abs(figures["median_error_s"] - sum(errors) / 2) <= 1  # waits here to the ms
    assert figures["median_wait_s"] == round((210 + 450) / 2)
    assert figures["inside_range"] == sum(inside) / 2
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
    }
    key = (("queue", Q),)
    assert samples[("videodesk_wait_estimate_inside_range_ratio", key)] == figures["inside_range"]
    assert (
        round(samples[("videodesk_wait_estimate_median_error_seconds", key)])
        == (figures["median_error_s"])
    )
    assert ("videodesk_wait_estimate_error_ratio", key) in samples
