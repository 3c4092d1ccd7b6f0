"""Personal data in the records: none by default; with VIDEODESK_RECORD_PERSONAL_DATA the
name, reason and call-back phone are recorded, and erasing one visit's patient (admin API,
command line) blanks them everywhere (the records, the patient's Redis record, the calls'
chat) while the visit and every count stay; each erase is audited."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from pytest_aiohttp import AiohttpServer
from redis.asyncio import Redis
from sqlalchemy import func, select

from server.core import appkeys
from server.queue.models import PatientDetails
from server.records import tables
from server.records.service import RECORDS
from tests.conftest import TEST_SECRET
from tests.support.desks import LiveDesk, start_desk
from tests.support.processes import videodesk_command
from tests.support.records import recorded

NAME, REASON, PHONE = "Philomena Canaryhurst", "the tablets make me dizzy", "+447700900123"


async def start(aiohttp_server: AiohttpServer, redis_url: str, tmp_path: Path,
                **env: str) -> LiveDesk:  # fmt: skip
    return await start_desk(aiohttp_server, redis_url, tmp_path, **env)


async def two_visits(desk: LiveDesk) -> str:
    """p1 talks to an agent (and chats); p2 books a call-back. The id of p1's call."""
    engine = desk.desk.engine
    details = PatientDetails(name=NAME, reason=REASON, language="en")
    await engine.agent_signin("a1", "Sam", ["appointments"], ["en"])
    await engine.join("p1", "appointments", details)
    offer = await engine.set_status("a1", "available")
    assert offer is not None
    call = await engine.accept("a1", offer.token)
    # What the chat log keeps of the call (as server/ws/chatlog.py writes it).
    await engine.redis.rpush(desk.desk.keys.call_chat(call.call_id),
                             json.dumps({"from": "patient", "text": "it itches"}))  # fmt: skip
    await engine.join("p2", "appointments", details)
    await engine.request_callback("p2", "phone", PHONE)
    await recorded(desk.app)
    return call.call_id


async def table(desk: LiveDesk, which: Any) -> list[dict[str, Any]]:
    async with desk.app[RECORDS].engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(select(which))).mappings()]


async def test_by_default_no_personal_data_is_recorded(
    aiohttp_server: AiohttpServer, redis_url: str, redis: Redis, tmp_path: Path
) -> None:
    desk = await start(aiohttp_server, redis_url, tmp_path)
    await two_visits(desk)
    assert await table(desk, tables.personal_data) == []
    dump = ""
    for which in (tables.events, tables.visits, tables.callbacks):
        dump += "".join(str(row) for row in await table(desk, which))
    assert NAME not in dump and REASON not in dump and PHONE not in dump


@pytest.mark.parametrize("via", ["api", "command line"])
async def test_erasing_a_visit_blanks_the_personal_data_and_keeps_the_counts(
    aiohttp_server: AiohttpServer, redis_url: str, redis: Redis, tmp_path: Path, via: str
) -> None:
    desk = await start(aiohttp_server, redis_url, tmp_path,
                       VIDEODESK_RECORD_PERSONAL_DATA="true")  # fmt: skip
    call = await two_visits(desk)
    assert await redis.exists(desk.desk.keys.call_chat(call))
    recorded_rows = await table(desk, tables.personal_data)
    assert {(r["patient"], r["name"], r["reason"]) for r in recorded_rows} == {
        ("p1", NAME, REASON), ("p2", NAME, REASON)
    }  # fmt: skip
    assert [r["phone"] for r in recorded_rows if r["patient"] == "p2"][-1] == PHONE
    visit = next(v["id"] for v in await table(desk, tables.visits) if v["patient"] == "p1")

    if via == "api":
        admin = desk.token("admin")
        async with ClientSession() as http:
            url = f"{desk.url}/api/v1/records/visits/{visit}/personal-data"
            async with http.delete(url, headers={"Authorization": f"Bearer {admin}"}) as r:
                assert r.status == 200, await r.text()
            async with http.delete(
                url.replace(visit, "1-0"), headers={"Authorization": f"Bearer {admin}"}
            ) as r:
                assert r.status == 404  # fmt: skip
    else:
        settings = desk.app[appkeys.SETTINGS]
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
               "VIDEODESK_SECRET": TEST_SECRET, "REDIS_URL": redis_url,
               "VIDEODESK_SECRET_FILE": str(settings.secret_file),
               "VIDEODESK_DESK": desk.desk.keys.desk}  # fmt: skip
        result = subprocess.run(videodesk_command("records", "erase", "--visit", visit),
                                env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert result.returncode == 0, result.stderr
    await recorded(desk.app)

    after = await table(desk, tables.personal_data)
    for row in after:
        if row["patient"] == "p1":
            assert row["name"] == row["reason"] == row["phone"] == ""
            assert row["erased_at"] is not None
        else:
            assert row["name"] == NAME and row["erased_at"] is None  # nobody else's
    assert len(after) == len(recorded_rows)
    assert not await redis.exists(desk.desk.keys.call_chat(call))  # the chat, gone
    assert len(await table(desk, tables.visits)) == 2  # the counts stay
    record = await redis.hgetall(desk.desk.keys.patient("p1"))
    assert record["name"] == record["reason"] == ""
    assert (await redis.hget(desk.desk.keys.patient("p2"), "name")) == NAME
    audit = [r for r in await table(desk, tables.audit) if r["action"] == "personal_data_erased"]
    assert len(audit) == 1 and visit in audit[0]["details"]
    async with desk.app[RECORDS].engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(tables.events))).scalar()
    assert count and count > 0
