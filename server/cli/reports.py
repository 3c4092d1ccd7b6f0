"""``videodesk report sessions|events --from DATE --to DATE [--format csv|json]``."""

from __future__ import annotations

import argparse
import json
import sys

import aiohttp

from server.auth.keyring import Keyring, load_secret
from server.auth.tokens import TokenRequest, TokenService
from server.core.redis_keys import Keys
from server.core.settings import Settings
from server.core.store import connect, embedded
from server.observability.reports import (
    EVENT_COLUMNS,
    SESSION_COLUMNS,
    event_rows,
    events_between,
    parse_when,
    sessions_from,
    to_csv,
)


async def report_from_cli(settings: Settings, args: argparse.Namespace) -> int:
    try:
        start = parse_when(args.start) if args.start else 0
        end = parse_when(args.end, end=True) if args.end else 2**53
    except ValueError as exc:
        print(f"videodesk: {exc}", file=sys.stderr)
        return 2
    if settings.embedded:
        return await _through_server(settings, args)
    redis = connect(settings)
    try:
        events = await events_between(redis, Keys(settings.desk), start, end)
    finally:
        await redis.aclose()
    rows = sessions_from(events) if args.kind == "sessions" else event_rows(events)
    if args.format == "json":
        print(json.dumps({args.kind: rows}, indent=1, default=str))
    else:
        columns = SESSION_COLUMNS if args.kind == "sessions" else EVENT_COLUMNS
        sys.stdout.write(to_csv(rows, columns))
    return 0


async def _through_server(settings: Settings, args: argparse.Namespace) -> int:
    """Embedded mode: the events live in the running desk; ask its API."""
    secret, _ = load_secret(settings)
    service = TokenService(embedded(), Keys(settings.desk), Keyring.from_secrets(secret),
                           settings.issuer)  # fmt: skip
    admin = service.mint(TokenRequest(typ="admin", name="command line", ttl=60))
    params = {"format": args.format}
    if args.start:
        params["from"] = args.start
    if args.end:
        params["to"] = args.end
    url = f"{(args.server or settings.public_url).rstrip('/')}/api/v1/reports/{args.kind}"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
            session.get(
                url, params=params, headers={"Authorization": f"Bearer {admin.token}"}
            ) as response,
        ):
            body = await response.text()
            if response.status != 200:
                print(f"videodesk: the desk refused: {body[:200]}", file=sys.stderr)
                return 1
    except (aiohttp.ClientError, TimeoutError):
        print(f"videodesk: no desk answered at {url}", file=sys.stderr)
        return 1
    sys.stdout.write(body if body.endswith("\n") else body + "\n")
    return 0
