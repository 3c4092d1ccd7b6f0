"""``GET /metrics``: Prometheus text exposition of the desk (desk-wide, from Redis) and of
this process (its sockets), rendered by prometheus_client from a collector of one scrape.

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
from collections.abc import Iterable, Iterator
from ipaddress import IPv6Address, ip_address

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from server.core import appkeys
from server.core.settings import IPNetwork
from server.http.middleware import json_error
from server.observability.dashboard import snapshot
from server.observability.history import DAY_MS, desk_time_ms
from server.queue.models import AGENT_STATES
from server.records.database import DatabaseUnavailable
from server.records.queries import estimate_accuracy
from server.records.service import RECORDS, Records
from server.ws.desk import DESK, Desk

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
        body=await exposition(request.app[DESK], request.app[RECORDS]),
        headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4, "Cache-Control": "no-store"},
    )


class DeskCollector(Collector):
    """The desk's figures as read for one scrape (Redis is read before the scrape is
    rendered: prometheus_client collects synchronously)."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families


async def exposition(desk: Desk, records: Records) -> bytes:
    """The desk's and this process's metrics, in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    lag = GaugeMetricFamily(
        "videodesk_recorder_lag_seconds",
        "Age of the oldest event not yet in the records database (0: all recorded).",
        value=records.recorder.lag_seconds,
    )
    accuracy = await estimate_families(desk, records)
    registry.register(DeskCollector([*await families(desk), lag, *accuracy]))
    return generate_latest(registry)


async def estimate_families(desk: Desk, records: Records) -> list[Metric]:
    """How the last day's wait estimates held up, per queue (from the records database;
    left out of a scrape while it does not answer)."""
    until = await desk_time_ms(desk.engine.redis, desk.keys)
    try:
        accuracy = await estimate_accuracy(records.engine, until - DAY_MS, until + 1)
    except DatabaseUnavailable:
        return []
    error = GaugeMetricFamily(
        "videodesk_wait_estimate_error_ratio",
        "Last 24 h: median |estimate shown at join - actual wait| over the median wait.",
        labels=["queue"],
    )
    median = GaugeMetricFamily(
        "videodesk_wait_estimate_median_error_seconds",
        "Last 24 h: median |estimate shown at join - actual wait|.",
        labels=["queue"],
    )
    inside = GaugeMetricFamily(
        "videodesk_wait_estimate_inside_range_ratio",
        "Last 24 h: share of answered patients whose wait fell inside the range shown.",
        labels=["queue"],
    )
    for queue, figures in sorted(accuracy.items()):
        error.add_metric([queue], figures.relative_error)
        median.add_metric([queue], figures.median_error_s)
        inside.add_metric([queue], figures.inside)
    return [error, median, inside]


async def families(desk: Desk) -> list[Metric]:
    view = await snapshot(desk.engine)
    queues = view["queues"]
    waiting = GaugeMetricFamily(
        "videodesk_queue_waiting", "Patients waiting (or call-back pending).", labels=["queue"]
    )
    oldest = GaugeMetricFamily(
        "videodesk_queue_oldest_wait_seconds", "Longest current wait.", labels=["queue"]
    )
    agents = GaugeMetricFamily(
        "videodesk_agents", "Agents serving a queue, by state.", labels=["queue", "state"]
    )
    csat = GaugeMetricFamily(
        "videodesk_csat_average", "Average satisfaction rating (1-5).", labels=["queue"]
    )
    for q in queues:
        waiting.add_metric([q["name"]], q["waiting"])
        oldest.add_metric([q["name"]], q["oldest_wait_s"])
        for state in AGENT_STATES:
            agents.add_metric([q["name"], state], q["agents"].get(state, 0))
        if q["csat"] is not None:
            csat.add_metric([q["name"]], q["csat"])
    stats = {q["name"]: await desk.engine.redis.hgetall(desk.keys.stats(q["name"])) for q in queues}
    counters = []
    for field, name, help_text in COUNTERS:
        counter = CounterMetricFamily(name, help_text, labels=["queue"])
        for queue, values in stats.items():
            counter.add_metric([queue], int(values.get(field, 0)))
        counters.append(counter)
    setup = HistogramMetricFamily(
        "videodesk_call_setup_seconds", "Accept to media flowing.", labels=["queue"]
    )
    for queue, values in stats.items():
        buckets = [
            (f"{le / 1000:g}", int(values.get(f"setup_le_{le}", 0))) for le in SETUP_BUCKETS_MS
        ]
        buckets.append(("+Inf", int(values.get("setup_count", 0))))
        setup.add_metric([queue], buckets, int(values.get("setup_ms_sum", 0)) / 1000)
    sockets = GaugeMetricFamily(
        "videodesk_process_sockets", "WebSockets open on this process.", labels=["role"]
    )
    for role in ("patient", "agent", "admin"):
        sockets.add_metric([role], sum(1 for _ in desk.hub.all(role)))
    return [waiting, oldest, agents, *counters, csat, setup, sockets]


def setup(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
