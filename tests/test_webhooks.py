"""Webhooks (docs/records.md), on PostgreSQL and SQLite, to a real aiohttp receiver on
loopback that refuses the first three attempts of every message and holds one request:
every event is delivered, signed so that the receiver's secret verifies it, retried no
sooner than the documented schedule, with one stable id per message, no personal data;
and the desk goes on serving while a delivery hangs."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from pytest_aiohttp import AiohttpServer
from redis.asyncio import Redis
from standardwebhooks.webhooks import Webhook

from server.core.settings import Settings
from server.queue.models import PatientDetails
from server.records.database import database_url, upgrade
from server.records.webhooks import RETRY_FOR_MS, next_attempt_ms, retry_delay_s
from tests.conftest import TEST_SECRET
from tests.support.desks import LiveDesk, start_desk
from tests.support.processes import videodesk_command

RETRY_BASE = 0.3
NAME, REASON = "Zebedee Canaryfield", "my rash is spreading fast"


@dataclass
class Receiver:
    """Refuses attempts 1–3 of each message with a 500; holds the first 4th attempt until
    released; accepts the rest. Keeps every request."""

    requests: list[tuple[float, dict[str, str], str]] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    holding: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        self.requests.append((time.monotonic(), dict(request.headers), body))
        message = request.headers["webhook-id"]
        self.attempts[message] += 1
        if self.attempts[message] <= 3:
            return web.json_response({"error": "not now"}, status=500)
        if not self.holding.is_set():
            self.holding.set()
            await asyncio.wait_for(self.release.wait(), 8)
        return web.json_response({"ok": True})


async def admin_call(desk: LiveDesk, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {desk.token('admin')}"}
    async with (
        ClientSession() as http,
        http.request(method, f"{desk.url}{path}", headers=headers, **kwargs) as response,
    ):
        return response.status, await response.json()


def visitor(n: int) -> PatientDetails:
    return PatientDetails(name=f"{NAME} {n}", reason=REASON, language="en")


@pytest.fixture
async def desk(
    aiohttp_server: AiohttpServer, redis_url: str, redis: Redis, tmp_path: Path, records_url: str
) -> LiveDesk:
    await upgrade(database_url(Settings(database_url=records_url)))
    return await start_desk(
        aiohttp_server, redis_url, tmp_path, VIDEODESK_DATABASE_URL=records_url,
        VIDEODESK_WEBHOOK_RETRY_BASE=str(RETRY_BASE),
    )  # fmt: skip


async def test_every_event_is_delivered_signed_retried_and_the_desk_never_waits(
    desk: LiveDesk, aiohttp_server: AiohttpServer
) -> None:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", receiver.handle)
    server = await aiohttp_server(app)
    status, created = await admin_call(desk, "POST", "/api/v1/webhooks", json={
        "url": f"http://127.0.0.1:{server.port}/hooks",
        "events": ["visit.started", "visit.ended"],
    })  # fmt: skip
    assert status == 201 and created["secret"].startswith("whsec_")
    engine = desk.desk.engine
    for n in range(3):
        await engine.join(f"p{n}", "appointments", visitor(n))
        await engine.leave(f"p{n}")
    # While a delivery hangs at the receiver, the desk answers and records as ever.
    await asyncio.wait_for(receiver.holding.wait(), 30)
    async with ClientSession() as http:
        response = await asyncio.wait_for(http.get(f"{desk.url}/healthz"), 5)
        assert response.status == 200
    await asyncio.wait_for(engine.join("p-while", "appointments", visitor(9)), 5)
    status, _ = await asyncio.wait_for(admin_call(desk, "GET", "/api/v1/reports/sessions"), 5)
    assert status == 200
    receiver.release.set()

    webhook = created["id"]
    deadline = time.monotonic() + 60
    while True:
        status, body = await admin_call(desk, "GET", f"/api/v1/webhooks/{webhook}/deliveries")
        deliveries = body["deliveries"]
        if len(deliveries) == 7 and all(d["status"] == "delivered" for d in deliveries):
            break
        assert time.monotonic() < deadline, deliveries
        await asyncio.sleep(0.2)

    # Each message: the same id on every attempt, 500 three times, then 200.
    assert {d["id"] for d in deliveries} == set(receiver.attempts)
    for delivery in deliveries:
        assert [a["status"] for a in delivery["attempts_made"]] == [500, 500, 500, 200]
        assert delivery["attempts"] == 4
    by_message: dict[str, list[float]] = defaultdict(list)
    verifier = Webhook(created["secret"])
    kinds: dict[str, list[str]] = defaultdict(list)
    for at, headers, body in receiver.requests:
        by_message[headers["webhook-id"]].append(at)
        sent = verifier.verify(body, headers)  # raises unless signed with our secret
        assert sent["type"] in ("visit.started", "visit.ended")
        kinds[sent["type"]].append(sent["data"]["patient"])
        assert NAME.split()[0] not in body and "rash" not in body  # no personal data
    assert sorted(set(kinds["visit.started"])) == ["p-while", "p0", "p1", "p2"]
    assert sorted(set(kinds["visit.ended"])) == ["p0", "p1", "p2"]
    # Retries no sooner than the schedule: base × 2^(n−1), less the 25% jitter.
    for times in by_message.values():
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        for n, gap in enumerate(gaps, start=1):
            assert gap >= 0.75 * RETRY_BASE * 2 ** (n - 1) - 0.05, (n, gaps)
    # With a wrong secret nothing verifies.
    _, headers, body = receiver.requests[-1]
    other = Webhook("whsec_" + "A" * 32)
    with pytest.raises(Exception, match="signature"):
        other.verify(body, headers)


async def test_admins_list_and_remove_webhooks_and_bad_ones_are_refused(desk: LiveDesk) -> None:
    status, body = await admin_call(
        desk,
        "POST",
        "/api/v1/webhooks",
        json={"url": "ftp://x.example/h", "events": ["visit.ended"]},
    )
    assert status == 400 and body["error"] == "bad_request"
    status, body = await admin_call(
        desk, "POST", "/api/v1/webhooks", json={"url": "https://x.example/h", "events": ["lunch"]}
    )
    assert status == 400 and "events" in body["message"]
    status, created = await admin_call(desk, "POST", "/api/v1/webhooks",
                                       json={"url": "https://x.example/h",
                                             "events": ["token.revoked"]})  # fmt: skip
    assert status == 201
    status, listed = await admin_call(desk, "GET", "/api/v1/webhooks")
    assert [w["id"] for w in listed["webhooks"]] == [created["id"]]
    assert "secret" not in listed["webhooks"][0]
    status, _ = await admin_call(desk, "DELETE", f"/api/v1/webhooks/{created['id']}")
    assert status == 200
    status, body = await admin_call(desk, "DELETE", f"/api/v1/webhooks/{created['id']}")
    assert status == 404 and body["error"] == "not_found"
    status, listed = await admin_call(desk, "GET", "/api/v1/webhooks")
    assert listed["webhooks"] == []


def test_the_command_line_adds_lists_and_removes(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "VIDEODESK_SECRET": TEST_SECRET,
        "VIDEODESK_SECRET_FILE": str(tmp_path / "secret"),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(videodesk_command(*args), env=env, capture_output=True,
                              text=True, timeout=60)  # fmt: skip

    assert run("db", "upgrade").returncode == 0
    added = run("webhook", "add", "https://crm.example.org/h", "--event", "visit.ended")
    assert added.returncode == 0, added.stderr
    webhook = added.stdout.split()[0]
    assert webhook.startswith("wh_") and "whsec_" in added.stdout
    listed = run("webhook", "list")
    assert webhook in listed.stdout and "visit.ended" in listed.stdout
    assert "whsec_" not in listed.stdout
    assert run("webhook", "remove", webhook).returncode == 0
    assert run("webhook", "remove", webhook).returncode == 1
    refused = run("webhook", "add", "https://crm.example.org/h", "--event", "lunch")
    assert refused.returncode == 2


def test_the_retry_schedule_doubles_with_jitter_and_gives_up_after_a_day() -> None:
    rng = random.Random(3)
    for attempts in range(1, 30):
        nominal = min(5.0 * 2 ** (attempts - 1), 3600.0)
        delay = retry_delay_s(attempts, 5.0, rng)
        assert 0.75 * nominal <= delay <= 1.25 * nominal
    created = 1_000_000
    assert next_attempt_ms(created, 1, created + 1000, 5.0) is not None
    assert next_attempt_ms(created, 20, created + RETRY_FOR_MS - 1000, 5.0) is None
