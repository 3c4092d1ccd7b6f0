"""``GET /metrics``: Prometheus text exposition of the desk (desk-wide, from Redis) and of
this process (its sockets).

Aggregates only: counts, gauges and a histogram, labelled by queue and state; no
ids and no personal data. Serve it to your monitoring network only.
"""

from __future__ import annotations

from aiohttp import web

from server import appkeys
from server.dashboard import snapshot
from server.queue.models import AGENT_STATES

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


async def metrics(request: web.Request) -> web.Response:
    desk = request.app[appkeys.DESK]
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
    return web.Response(
        body=out.text().encode(),
        headers={
            "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
            "Cache-Control": "no-store",
        },
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
