"""What a stranger can make the desk say: logs, CSV cells, parser errors and /metrics.

* Logs keep no token and no client address, even when aiohttp logs an oversized header.
* Report cells a spreadsheet would run as a formula are text, whatever starts them.
* Every error is JSON with the security headers, including the ones aiohttp's HTTP parser
  answers before any handler runs, and a static file that is not there.
* ``/metrics`` is for the monitoring network (an address allow-list) and, when a token is
  set, for whoever holds it.

The process-level tests talk to a real ``videodesk serve`` (embedded store) over raw sockets.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import ip_network
from pathlib import Path

import pytest
from aiohttp.http_exceptions import LineTooLong

from server.api import metrics
from server.core import logs
from server.core.settings import LOOPBACK_NETWORKS
from server.observability import reports
from tests.conftest import make_env
from tests.support.processes import ServerProcess

STATIC = Path(__file__).resolve().parents[1] / "web" / "static"
METRICS_TOKEN = "metrics-token-for-the-tests-only-" + "0123456789abcdef"


def jwt_shaped(subject: str) -> str:
    """A string shaped like a JWT (header.payload.signature), built here so that no
    token sits in the source."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join(
        [part(b'{"alg":"HS256","typ":"JWT"}'), part(f'{{"sub":"{subject}"}}'.encode()), "c2ln" * 8]
    )


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, str]:
        data = json.loads(self.body)
        assert isinstance(data, dict)
        return data


async def exchange(port: int, data: bytes) -> Reply:
    """Send raw bytes to the desk and read its whole answer (it closes the connection)."""
    async with asyncio.timeout(10):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(data)
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = dechunk(body)
    return Reply(int(status_line.split()[1]), headers, body)


def dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One desk (embedded store) with a metrics token and the default allow-list."""
    env = make_env(None, tmp_path_factory.mktemp("hygiene"), VIDEODESK_METRICS_TOKEN=METRICS_TOKEN)
    with ServerProcess("hygiene", env) as process:
        yield process


def log_size(process: ServerProcess) -> int:
    return process.log_path.stat().st_size


def log_since(process: ServerProcess, offset: int) -> str:
    with process.log_path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


# --- A: logs ---------------------------------------------------------------------------


async def test_oversized_bearer_header_leaves_no_token_or_client_address_in_the_log(
    desk: ServerProcess,
) -> None:
    token = jwt_shaped("oversized-header")
    before = log_size(desk)
    header = f"Authorization: Bearer {token}{'A' * 9000}\r\n".encode()
    reply = await exchange(desk.port, b"GET /api/v1/tokens HTTP/1.1\r\nHost: desk\r\n" + header)
    assert reply.status == 400
    # The process logs before it answers, so the rejection is in the log by now.
    written = log_since(desk, before)
    assert written.strip(), "the desk logged nothing about the rejected request"
    assert token[:20] not in written and "eyJ" not in written
    assert "127.0.0.1" not in written
    assert token[:20].encode() not in reply.body  # nor is it echoed back


def exception_with(text: str) -> BaseException:
    try:
        raise ValueError(text)
    except ValueError as exc:
        return exc


def formatted(
    msg: str, *args: object, exc: BaseException | None = None, stack: str | None = None
) -> str:
    """A record formatted by the desk's log formatter (built by hand: it must never
    reach the test run's own log file, which is checked for tokens after the suite)."""
    record = logging.LogRecord("server.test", logging.ERROR, __file__, 1, msg, args, None)
    if exc is not None:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    record.stack_info = stack
    return logs.LogFormatter(logs.LOG_FORMAT).format(record)


def test_a_traceback_carrying_a_token_and_an_address_is_scrubbed() -> None:
    token = jwt_shaped("traceback")
    exc = exception_with(f"bad header from 10.1.2.3 and [2001:db8::7]:443: Bearer {token}")
    out = formatted("unhandled error on %s %s", "GET", "/api/v1/tokens", exc=exc)
    assert "Traceback (most recent call last):" in out
    assert "ValueError: bad header" in out
    assert "eyJ" not in out and token[-12:] not in out
    assert "10.1.2.3" not in out and "2001:db8::7" not in out


def test_aiohttps_own_error_line_is_scrubbed() -> None:
    # The record aiohttp writes when its parser rejects a header (web_protocol.handle_error).
    token = jwt_shaped("aiohttp")
    try:
        raise LineTooLong(f"Bearer {token}{'A' * 80}"[:100] + "...", "8190")
    except LineTooLong as exc:
        out = formatted("Error handling request from %s", "127.0.0.1", exc=exc)
    assert "LineTooLong" in out
    assert "eyJ" not in out and "127.0.0.1" not in out
    assert out.splitlines()[0].endswith("Error handling request from [address]")


def test_stack_info_and_arguments_are_scrubbed_too() -> None:
    token = jwt_shaped("stack")
    out = formatted(
        "client %s sent %s", "::ffff:192.0.2.9", token, stack=f'  File "x.py"\n    t = "{token}"'
    )
    assert "eyJ" not in out
    assert "192.0.2.9" not in out


def test_a_line_break_in_a_message_cannot_forge_a_log_line() -> None:
    forged = "Ana\r\n1999-12-31 23:59:59,000 INFO server.auth admin signed in"
    out = formatted("patient %s joined", forged)
    assert len(out.splitlines()) == 1
    assert "\\r\\n" in out


def test_a_line_break_in_an_exception_message_cannot_forge_a_log_line() -> None:
    exc = exception_with("bad\n1999-12-31 23:59:59,000 INFO server.auth admin signed in")
    lines = formatted("failed", exc=exc).splitlines()
    assert len(lines) > 1  # the traceback keeps its lines...
    assert not any(line.startswith("1999-12-31") for line in lines)  # ...none passes for a record


def test_what_is_not_an_address_is_left_alone() -> None:
    out = formatted("at 21:19:05 on aiohttp 3.14.5 queue=pharmacy p_1a2b wait=1.5s")
    assert out.endswith("at 21:19:05 on aiohttp 3.14.5 queue=pharmacy p_1a2b wait=1.5s")


# --- B: CSV ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["=2+2", "+2", "-2+3", "@SUM(A1)", "\t=2+2", "\r=2+2", "\n=1"])
def test_csv_cells_that_a_spreadsheet_would_run_are_text(value: str) -> None:
    text = reports.to_csv([{"reason": value, "queue": "billing"}], ["reason", "queue"])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["'" + value, "billing"]


def test_a_carriage_return_inside_a_csv_cell_cannot_start_a_row() -> None:
    text = reports.to_csv([{"reason": "ok\r=2+2", "queue": "billing"}], ["reason", "queue"])
    assert list(csv.reader(io.StringIO(text))) == [["reason", "queue"], ["ok\r=2+2", "billing"]]


def test_csv_leaves_ordinary_cells_as_they_are() -> None:
    text = reports.to_csv([{"reason": "repeat prescription", "wait_s": 12}], ["reason", "wait_s"])
    assert list(csv.reader(io.StringIO(text)))[1] == ["repeat prescription", "12"]


# --- C: every error is JSON with the security headers ------------------------------------

MALFORMED = {
    "request-line-too-long": b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: desk\r\n\r\n",
    "header-too-long": b"GET / HTTP/1.1\r\nHost: desk\r\nX-Padding: " + b"b" * 9000 + b"\r\n\r\n",
    "not-http": b"GARBAGE\r\n\r\n",
    "static-backslash-escaped": (
        b"GET /static/..%5c..%5cetc/passwd HTTP/1.1\r\nHost: desk\r\nConnection: close\r\n\r\n"
    ),
    "static-backslash": b"GET /static/a\\b HTTP/1.1\r\nHost: desk\r\nConnection: close\r\n\r\n",
    "static-missing": b"GET /static/nope.js HTTP/1.1\r\nHost: desk\r\nConnection: close\r\n\r\n",
}


@pytest.mark.parametrize("name", list(MALFORMED))
async def test_errors_before_any_handler_are_json_with_security_headers(
    desk: ServerProcess, name: str
) -> None:
    reply = await exchange(desk.port, MALFORMED[name])
    assert 400 <= reply.status < 500
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert body["error"] and body["message"]
    assert "default-src 'self'" in reply.headers["content-security-policy"]
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["referrer-policy"] == "no-referrer"
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["server"] == "videodesk"


def test_a_static_file_that_exists_is_still_served(desk: ServerProcess) -> None:
    stylesheet = next((STATIC / "css").glob("*.css"))
    status, body = desk.get(f"/static/css/{stylesheet.name}")
    assert status == 200
    assert body == stylesheet.read_bytes()


# --- D: /metrics -----------------------------------------------------------------------


def test_metrics_allow_list_decision() -> None:
    allow = (*LOOPBACK_NETWORKS, ip_network("10.0.0.0/8"))
    assert metrics.address_allowed("127.0.0.1", LOOPBACK_NETWORKS)
    assert metrics.address_allowed("::1", LOOPBACK_NETWORKS)
    assert metrics.address_allowed("::ffff:127.0.0.1", LOOPBACK_NETWORKS)
    assert metrics.address_allowed("10.20.30.40", allow)
    assert not metrics.address_allowed("10.20.30.40", LOOPBACK_NETWORKS)
    assert not metrics.address_allowed("192.0.2.1", allow)
    assert not metrics.address_allowed("2001:db8::1", allow)
    assert not metrics.address_allowed(None, allow)
    assert not metrics.address_allowed("not-an-address", allow)


def test_metrics_need_the_bearer_token_when_one_is_set(desk: ServerProcess) -> None:
    status, body = desk.get("/metrics")
    assert status == 401
    assert json.loads(body)["error"] == "unauthorized"
    status, body = desk.get("/metrics", token=METRICS_TOKEN[:-1] + "X")
    assert status == 401
    assert json.loads(body)["error"] == "unauthorized"
    status, body = desk.get("/metrics", token=METRICS_TOKEN)
    assert status == 200
    assert b"# TYPE videodesk_queue_waiting gauge" in body


def test_metrics_refuse_a_client_outside_the_allow_list(tmp_path: Path) -> None:
    env = make_env(
        None,
        tmp_path,
        VIDEODESK_METRICS_ALLOW="10.0.0.0/8",
        VIDEODESK_METRICS_TOKEN=METRICS_TOKEN,
    )
    with ServerProcess("metrics-allow", env) as process:
        status, body = process.get("/metrics", token=METRICS_TOKEN)
        assert status == 403
        assert json.loads(body)["error"] == "forbidden"
        assert process.get("/healthz")[0] == 200  # only /metrics is fenced
