"""The ``videodesk`` command line: serve the desk, issue and revoke tokens.

Logging is configured here and only here. Every sub-command reads its settings
from the environment (see the README's configuration table); a bad value stops
with a one-line message naming the variable and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from server.core.logs import configure_logging
from server.core.settings import Settings, SettingsError

log = logging.getLogger("server.cli.main")

EXAMPLES = """\
examples:
  videodesk serve                                   start the desk on http://127.0.0.1:8080
  videodesk token issue --role admin                a token for the admin console and API
  videodesk token issue --role agent --name Sam --queue pharmacy
  videodesk token issue --role patient --name Ana --queue appointments --reason "prescription"
  videodesk token revoke <jti>
  videodesk report sessions --from 2026-11-01 --to 2026-11-30 > november.csv
  videodesk db upgrade                              apply the records database's migrations
  videodesk webhook add https://crm.example.org/hooks --event visit.ended
  videodesk bot agent --url http://127.0.0.1:8080 --token <agent token> --loopback
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        result: int = args.run(args)
        return result
    except SettingsError as exc:
        print(f"videodesk: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="videodesk",
        description="videodesk: a video consultation support desk for healthcare contact centres.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="start the desk (HTTP pages, REST API, WebSocket)",
        description=(
            "Start the desk and print the links of the admin, agent and patient pages. "
            "Without REDIS_URL it uses an embedded in-process store: single-process and "
            "non-durable. Settings come from VIDEODESK_* variables (see README)."
        ),
    )
    serve.add_argument("--host", help="address to listen on (VIDEODESK_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (VIDEODESK_PORT, default 8080)")
    serve.set_defaults(run=_run_serve)

    token = commands.add_parser(
        "token",
        help="issue or revoke session tokens (JWT)",
        description="Issue or revoke the tokens that let admins, agents and patients in.",
    )
    token_commands = token.add_subparsers(title="token commands", metavar="ACTION")
    issue = token_commands.add_parser(
        "issue",
        help="print a new token (and the page link for agents and patients)",
        description=(
            "Print a new token on the first line of stdout and, for agents and patients, "
            "the page link (the token rides in the URL fragment) on the second. "
            "Patient tokens are single-use invites unless --desk-link is given."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    issue.add_argument("--role", required=True, choices=("admin", "agent", "patient", "supervisor"))
    issue.add_argument("--name", default="", help="agent's name, or patient's first name")
    issue.add_argument(
        "--queue",
        action="append",
        default=[],
        help="queue served (agents: repeat for several, default all) or joined (patients)",
    )
    issue.add_argument(
        "--language", action="append", default=[], help="language spoken (agents; repeatable)"
    )
    issue.add_argument("--reason", default="", help="patient's reason for the call (invites)")
    issue.add_argument("--priority", choices=("normal", "urgent"), default="normal")
    issue.add_argument("--ttl", type=_duration, help="lifetime, e.g. 900, 30m, 12h, 7d")
    issue.add_argument("--label", default="", help="a label shown in the admin's token list")
    issue.add_argument(
        "--desk-link",
        action="store_true",
        help="patients: a reusable desk link to one queue instead of a single-use invite",
    )
    issue.add_argument(
        "--server",
        help="embedded mode only: URL of the running desk to record the token in "
        "(default VIDEODESK_PUBLIC_URL)",
    )
    issue.set_defaults(run=_run_issue)

    revoke = token_commands.add_parser(
        "revoke",
        help="revoke a token by its id (jti); its live sockets close",
        description=(
            "Revoke a token by its id (the jti printed when it was issued and shown in the "
            "admin's token list). With REDIS_URL this writes to Redis directly; in embedded "
            "mode it asks the running desk."
        ),
    )
    revoke.add_argument("jti", help="the token id")
    revoke.add_argument("--server", help="embedded mode only: URL of the running desk")
    revoke.set_defaults(run=_run_revoke)
    token.set_defaults(run=lambda _args: _print_help(token))
    _add_bot(commands)
    _add_report(commands)
    _add_db(commands)
    _add_webhook(commands)
    _add_records(commands)
    return parser


def _add_report(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="sessions or events for a date range, as CSV or JSON",
        description=(
            "Print a report from the records database (VIDEODESK_DATABASE_URL, or the "
            "embedded file in the data folder): 'sessions' (one row per patient visit: queue, "
            "wait, call, handle time, outcome, rating, how it ended) or 'events' (every state "
            "change). Dates are UTC; YYYY-MM-DD covers the whole day."
        ),
    )
    report.add_argument("kind", choices=("sessions", "events"))
    report.add_argument("--from", dest="start", help="first day, e.g. 2026-11-01")
    report.add_argument("--to", dest="end", help="last day (inclusive), e.g. 2026-11-30")
    report.add_argument("--format", choices=("csv", "json"), default="csv")
    report.set_defaults(run=_run_report)


def _add_db(commands: Any) -> None:
    db = commands.add_parser(
        "db",
        help="the records database: upgrade its schema, or show where it stands",
        description=(
            "The records database is VIDEODESK_DATABASE_URL (postgresql://…) or, without it, "
            "the embedded SQLite file in the data folder (upgraded by 'serve' itself). "
            "'upgrade' applies the pending migrations; 'status' compares the database's "
            "schema with this videodesk's (exit status 1 unless they agree)."
        ),
    )
    db.add_argument("action", choices=("upgrade", "status"))
    db.set_defaults(run=_run_db)


def _add_webhook(commands: Any) -> None:
    from server.cli.webhooks import add_parser

    add_parser(commands)
    webhook = commands.choices["webhook"]
    webhook.set_defaults(run=_run_webhook, help_parser=webhook)


def _add_records(commands: Any) -> None:
    records = commands.add_parser(
        "records",
        help="the records database: erase one person's personal data",
        description=(
            "'erase --visit ID' blanks the name, reason and phone number recorded for that "
            "visit's patient (VIDEODESK_RECORD_PERSONAL_DATA), and in Redis their record and "
            "their calls' chat; the visit and every count stay. Audited."
        ),
    )
    actions = records.add_subparsers(title="actions", metavar="ACTION", dest="action")
    erase = actions.add_parser("erase", help="erase one visit's patient's personal data")
    erase.add_argument(
        "--visit", required=True, help="the visit's id, or the patient id the sessions report shows"
    )
    records.set_defaults(run=_run_records, help_parser=records)


def _add_bot(commands: Any) -> None:
    bot = commands.add_parser(
        "bot",
        help="run a headless patient or agent with synthetic camera and microphone",
        description=(
            "A headless client that speaks the desk's protocol and sends real (synthetic) "
            "video and audio with aiortc; prints one JSON line per event. Useful to try the "
            "desk without a second person, and for load tests."
        ),
    )
    roles = bot.add_subparsers(title="roles", metavar="ROLE")
    for role in ("patient", "agent"):
        sub = roles.add_parser(role, help=f"a {role} bot")
        sub.add_argument("--url", required=True, help="the desk, e.g. http://127.0.0.1:8080")
        sub.add_argument(
            "--token",
            required=True,
            help=f"{'an' if role == 'agent' else 'a'} {role} token (from token issue)",
        )
        sub.add_argument("--seconds", type=float, default=10.0, help="how long each call lasts")
        sub.add_argument(
            "--loopback",
            action="store_true",
            help="offer only 127.0.0.1 ICE candidates (a desk and browser on this machine)",
        )
        if role == "patient":
            sub.add_argument("--name", default="Test patient")
            sub.add_argument("--reason", default="Trying the desk")
        else:
            sub.add_argument("--calls", type=int, default=1, help="calls to take, then stop")
            sub.add_argument("--outcome", default="resolved", help="wrap-up outcome code")
        sub.set_defaults(run=_run_bot, role=role)
    bot.set_defaults(run=lambda _args: _print_help(bot))


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _duration(raw: str) -> int:
    match = re.fullmatch(r"(\d+)([smhd]?)", raw.strip())
    if not match:
        raise argparse.ArgumentTypeError("expected seconds or a number with s, m, h or d")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def _settings_with(host: str | None, port: int | None) -> Settings:
    env = dict(os.environ)
    if host is not None:
        env["VIDEODESK_HOST"] = host
    if port is not None:
        env["VIDEODESK_PORT"] = str(port)
    return Settings.from_env(env)


def _run_serve(args: argparse.Namespace) -> int:
    from server.cli.serve import serve

    settings = _settings_with(args.host, args.port)
    configure_logging(settings.log_level)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(serve(settings))
    return 0


def _run_command(work: Callable[[Settings], Coroutine[Any, Any, int]]) -> int:
    """A command of its own (not serve): settings from the environment, warnings only."""
    settings = Settings.from_env()
    configure_logging("WARNING")
    return asyncio.run(work(settings))


def _run_issue(args: argparse.Namespace) -> int:
    from server.cli.tokens import issue_from_cli

    return _run_command(lambda settings: issue_from_cli(settings, args))


def _run_bot(args: argparse.Namespace) -> int:
    from signaling.scenarios import main_for

    configure_logging("WARNING")
    options = {
        key: value
        for key, value in vars(args).items()
        if key in ("url", "token", "seconds", "loopback", "name", "reason", "calls", "outcome")
    }
    return main_for(args.role, options)


def _run_report(args: argparse.Namespace) -> int:
    from server.cli.reports import report_from_cli

    return _run_command(lambda settings: report_from_cli(settings, args))


def _run_db(args: argparse.Namespace) -> int:
    from server.cli.database import db_from_cli

    return _run_command(lambda settings: db_from_cli(settings, args.action))


def _run_webhook(args: argparse.Namespace) -> int:
    from server.cli.webhooks import webhook_from_cli

    if args.action is None:
        return _print_help(args.help_parser)
    return _run_command(lambda settings: webhook_from_cli(settings, args))


def _run_records(args: argparse.Namespace) -> int:
    from server.cli.erase import erase_from_cli

    if args.action is None:
        return _print_help(args.help_parser)
    return _run_command(lambda settings: erase_from_cli(settings, args.visit))


def _run_revoke(args: argparse.Namespace) -> int:
    from server.cli.tokens import revoke_from_cli

    return _run_command(lambda settings: revoke_from_cli(settings, args.jti, args.server))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (Linux), else asyncio's default loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
