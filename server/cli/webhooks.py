"""``videodesk webhook add URL --event TYPE … | list | remove ID``: webhook endpoints in the
records database (``VIDEODESK_DATABASE_URL``, or the embedded file)."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.ext.asyncio import AsyncEngine

from server.cli.records_db import with_records
from server.core.settings import Settings
from server.records.webhooks import WEBHOOK_EVENTS, add_webhook, list_webhooks, remove_webhook


async def webhook_from_cli(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "add" and not args.url.startswith(("http://", "https://")):
        print("videodesk: the URL must be http:// or https://", file=sys.stderr)
        return 2

    async def work(engine: AsyncEngine) -> int:
        if args.action == "add":
            endpoint, secret = await add_webhook(engine, args.url, args.event, "command line")
            print(f"{endpoint.id}  {endpoint.url}  {','.join(endpoint.events)}")
            print(f"signing secret (shown this once): {secret}")
        elif args.action == "list":
            for endpoint, counts in await list_webhooks(engine):
                tally = " ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none yet"
                print(f"{endpoint.id}  {endpoint.url}  {','.join(endpoint.events)}  "
                      f"deliveries: {tally}")  # fmt: skip
        elif not await remove_webhook(engine, args.id):
            print(f"videodesk: no webhook {args.id}", file=sys.stderr)
            return 1
        else:
            print(f"removed {args.id}")
        return 0

    return await with_records(settings, work)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    webhook = commands.add_parser(
        "webhook",
        help="webhook endpoints: add, list, remove",
        description=(
            "Endpoints the desk calls, signed as the Standard Webhooks spec says, when the "
            "events they asked for happen: " + "; ".join(
                f"{k} ({v})" for k, v in WEBHOOK_EVENTS.items()
            ) + ". Deliveries are retried with backoff for 24 hours."
        ),
    )  # fmt: skip
    actions = webhook.add_subparsers(title="actions", metavar="ACTION", dest="action")
    add = actions.add_parser("add", help="register an endpoint; prints its signing secret")
    add.add_argument("url", help="https://… (http:// for a receiver on a private network)")
    add.add_argument("--event", action="append", required=True, choices=sorted(WEBHOOK_EVENTS),
                     help="an event type to send (repeat for more)")  # fmt: skip
    actions.add_parser("list", help="every endpoint, with its deliveries by status")
    remove = actions.add_parser("remove", help="remove an endpoint (pending ones cancelled)")
    remove.add_argument("id", help="the endpoint's id (wh_…)")
