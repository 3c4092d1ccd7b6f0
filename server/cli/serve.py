"""Run the desk: start the app, print the page links, drain on SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

from aiohttp import web

from server.app import create_app
from server.auth.tokens import TOKENS, TokenRequest
from server.core.lifecycle import Lifecycle
from server.core.settings import Settings
from server.core.store import EMBEDDED_NOTICE
from server.http.parser_errors import DeskRunner

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 10.0
# Young-generation collections every 10,000 allocations instead of 700: a relayed message
# allocates a few dozen short-lived objects (none in cycles), and at thousands of messages
# a second the default spent about 2 % of the process in the collector
# (docs/relay.md). Whatever was loaded at start-up is frozen out of every collection.
GC_THRESHOLD = (10_000, 20, 20)


def tune_collector() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


async def serve(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then drain: /readyz turns 503, sockets close with 1001."""
    lifecycle = Lifecycle()
    app = create_app(settings, lifecycle=lifecycle)
    # DeskRunner: aiohttp's parser errors answered as JSON with the security headers.
    runner = DeskRunner(
        app, secure=settings.secure_cookies, shutdown_timeout=SHUTDOWN_TIMEOUT, access_log=None
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True)
    await site.start()
    tune_collector()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # The port only: log lines carry no addresses (server.core.logs would redact the host).
    log.info("videodesk process %s listening on port %s", lifecycle.process_id, settings.port)
    await print_links(app, settings)
    try:
        await stop.wait()
    finally:
        # Draining: /readyz answers 503 and new sockets and joins are refused at
        # once; the load balancer gets drain_seconds to notice, then every socket
        # closes with 1001 and its client reconnects to another process.
        lifecycle.draining = True
        log.info("draining process %s for %.1f s", lifecycle.process_id, settings.drain_seconds)
        await asyncio.sleep(settings.drain_seconds)
        await runner.cleanup()
        log.info("process %s stopped", lifecycle.process_id)


async def print_links(app: web.Application, settings: Settings) -> None:
    """Tell the person who started the desk where its pages are."""
    url = settings.public_url
    lines = [f"videodesk is running at {url}"]
    if settings.embedded:
        tokens = app[TOKENS]
        first_queue = settings.queues[0].name
        label = "printed by serve"
        admin = await tokens.issue(TokenRequest(typ="admin", name="Admin", label=label), by="serve")
        agent = await tokens.issue(
            TokenRequest(
                typ="agent",
                name="Agent",
                label=label,
                queues=tuple(q.name for q in settings.queues),
            )
        )
        desk = await tokens.issue(
            TokenRequest(typ="desk", queues=(first_queue,), label=f"desk link: {first_queue}")
        )
        lines += [
            "",
            f"  admin console:  {url}/admin#token={admin.token}",
            f"  agent console:  {url}/agent#token={agent.token}",
            f"  patient link:   {url}/p#token={desk.token}",
            "",
            f"Note: {EMBEDDED_NOTICE}",
        ]
    else:
        lines += [
            "",
            f"  admin console:  {url}/admin#token=<admin token>",
            f"  agent console:  {url}/agent#token=<agent token>",
            f"  patient link:   {url}/p#token=<invite or desk token>",
            "",
            "Issue tokens with: videodesk token issue --role admin|agent|patient",
        ]
    if settings.database_url is None:
        lines.append(
            f"Records (visits, events, audit): an embedded SQLite file, {settings.records_file}; "
            "one process only. Set VIDEODESK_DATABASE_URL=postgresql://… for several."
        )
    print("\n".join(lines), flush=True)
