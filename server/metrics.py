"""``GET /metrics``: Prometheus text exposition of the desk (desk-wide, from Redis) and of
this process (its sockets).

Aggregates only: counts, gauges and a histogram, labelled by queue and state; no
ids and no personal data. Still, it is for the monitoring network only: the direct
client address must be in ``VIDEODESK_METRICS_ALLOW`` (loopback by default; 403
otherwise) and, when ``VIDEODESK_METRICS_TOKEN`` is set, the request must carry
``Authorization: Bearer <that token>`` (401 otherwise). The address is the TCP peer's
(``request.remote``), never a forwarded header: behind a proxy, allow the proxy and
set the token.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from ipaddress import IPv6Address, ip_address

from aiohttp import web

from server import appkeys
from server.dashboard import snapshot
from server.desk import Desk
from server.middleware import json_error
from server.queue.models import AGENT_STATES
from server.settings import IPNetwork

SETUP_BUCKETS_MS = (250, 500, 1000, 2000, 5000, 10000, 30000)
COUNTERS = (
    ("joined", "videodesk_patients_joined_total", "Patients who joined a queue."),
    ("answered", "videodesk_calls_answered_total", "Calls answered (first answer per visit)."),
    ("completed", "videodesk_calls_completed_total", "Calls ended by the agent."),
    ("abandoned", "videodesk_patients_abandoned_total", "Patients whose place lapsed."),
    ("left", "videodesk_patients_left_total", "Patients who left the queue."),
    ("self_help", "videodesk_self_help_resolved_total", "Left because an article helped."),
    ("offers_expired", "videodesk_offers_expired_total", "Offers not answered in time."),
    ("csat_count", "videodesk_ratings_total", "Satisfaction ratings given."),
)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]

    def sample(self, name: str, value: float, **labels: str) -> None:
        text = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
        self.lines.append(f"{name}{{{text}}} {value:g}" if text else f"{name} {value:g}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def address_allowed(remote: str | None, allow: Iterable[IPNetwork]) -> bool:
    """Whether a client at ``remote`` (``request.remote``) may read the metrics.

    An IPv4 address mapped into IPv6 (``::ffff:10.0.0.1``, from a dual-stack socket)
    counts as the IPv4 address; no address, or one that does not parse, is refused.
    """
    if remote is None:
        return False
    try:
        address = ip_address(remote.partition("%")[0])
    except ValueError:
        return False
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in allow)


def bearer_matches(header: str, token: str) -> bool:
    """Whether an ``Authorization`` header is ``Bearer <token>`` (compared in constant time)."""
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def refusal(request: web.Request) -> web.Response | None:
    """The answer to a client that may not read the metrics, or ``None`` when it may."""
    settings = request.app[appkeys.SETTINGS]
    if not address_allowed(request.remote, settings.metrics_allow):
        return json_error(403, "forbidden", "Metrics are not served to this address.")
    token = settings.metrics_token
    if token is not None and not bearer_matches(request.headers.get("Authorization", ""), token):
        response = json_error(401, "unauthorized", "Send Authorization: Bearer <metrics token>.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return None


async def metrics(request: web.Request) -> web.Response:
    refused = refusal(request)
    if refused is not None:
        return refused
    return web.Response(
        body=(await exposition(request.app[appkeys.DESK])).encode(),
        headers={
            "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
            "Cache-Control": "no-store",
        },
    )


async def exposition(desk: Desk) -> str:
    """The desk's and this process's metrics, as Prometheus text."""
    view = await snapshot(desk.engine)
    out = Exposition()
    queues = view["queues"]
    out.family("videodesk_queue_waiting", "gauge", "Patients waiting (or call-back pending).")
    for q in queues:
        out.sample("videodesk_queue_waiting", q["waiting"], queue=q["name"])
    out.family("videodesk_queue_oldest_wait_seconds", "gauge", "Longest current wait.")
    for q in queues:
        out.sample("videodesk_queue_oldest_wait_seconds", q["oldest_wait_s"], queue=q["name"])
    out.family("videodesk_agents", "gauge", "Agents serving a queue, by state.")
    for q in queues:
        for state in AGENT_STATES:
            out.sample("videodesk_agents", q["agents"].get(state, 0), queue=q["name"], state=state)
    stats = {q["name"]: await desk.engine.redis.hgetall(desk.keys.stats(q["name"])) for q in queues}
    for field, name, help_text in COUNTERS:
        out.family(name, "counter", help_text)
        for queue, values in stats.items():
            out.sample(name, int(values.get(field, 0)), queue=queue)
    out.family("videodesk_csat_average", "gauge", "Average satisfaction rating (1-5).")
    for q in queues:
        if q["csat"] is not None:
            out.sample("videodesk_csat_average", q["csat"], queue=q["name"])
    out.family("videodesk_call_setup_seconds", "histogram", "Accept to media flowing.")
    for queue, values in stats.items():
        for le in SETUP_BUCKETS_MS:
            count = int(values.get(f"setup_le_{le}", 0))
            out.sample(
                "videodesk_call_setup_seconds_bucket", count, queue=queue, le=f"{le / 1000:g}"
            )
        total = int(values.get("setup_count", 0))
        out.sample("videodesk_call_setup_seconds_bucket", total, queue=queue, le="+Inf")
        out.sample("videodesk_call_setup_seconds_sum", int(values.get("setup_ms_sum", 0)) / 1000,
                   queue=queue)  # fmt: skip
        out.sample("videodesk_call_setup_seconds_count", total, queue=queue)
    out.family("videodesk_process_sockets", "gauge", "WebSockets open on this process.")
    for role in ("patient", "agent", "admin"):
        out.sample("videodesk_process_sockets", sum(1 for _ in desk.hub.all(role)), role=role)
    return out.text()


def setup(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
