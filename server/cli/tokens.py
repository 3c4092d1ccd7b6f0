"""``videodesk token issue|revoke``: the command-line side of the token service.

With REDIS_URL the command talks to Redis itself. In embedded mode the store
lives inside the running server, so the command asks that server's admin API,
authenticating with a short-lived admin token it signs with the same secret.
"""

from __future__ import annotations

import argparse
import sys
import time

import aiohttp

from server.api import body as bodies
from server.api.tokens import link_for, token_request
from server.auth.keyring import Keyring, load_secret
from server.auth.tokens import IssuedToken, TokenRequest, TokenService
from server.core.errors import DeskError
from server.core.redis_keys import Keys
from server.core.settings import Settings
from server.core.store import connect, embedded

CLI_ADMIN_TTL = 60


def _service(settings: Settings, *, real_redis: bool) -> TokenService:
    secret, _source = load_secret(settings)
    keyring = Keyring.from_secrets(secret, settings.previous_secrets)
    redis = connect(settings) if real_redis else embedded()
    return TokenService(redis, Keys(settings.desk), keyring, settings.issuer)


def _request_body(args: argparse.Namespace) -> dict[str, object]:
    typ = args.role if args.role != "patient" else ("desk" if args.desk_link else "invite")
    body: dict[str, object] = {"type": typ, "name": args.name, "label": args.label}
    if args.role == "patient":
        if len(args.queue) > 1:
            raise DeskError("a patient joins exactly one --queue")
        if args.queue:
            body["queue"] = args.queue[0]
        body["reason"] = args.reason
        body["priority"] = args.priority
    elif args.role == "agent":
        body["queues"] = args.queue
        body["languages"] = args.language
    elif args.role == "supervisor":
        body["queues"] = args.queue
    if args.ttl is not None:
        body["ttl"] = args.ttl
    return body


def _print_issued(settings: Settings, issued: IssuedToken, link: str | None) -> None:
    print(issued.token)
    if issued.claims.role != "admin":
        print(link or link_for(settings, issued))
    expires = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(issued.claims.exp))
    print(f"jti {issued.claims.jti}, {issued.claims.typ} token, expires {expires}", file=sys.stderr)


async def issue_from_cli(settings: Settings, args: argparse.Namespace) -> int:
    try:
        body = _request_body(args)
        if args.role == "patient" and "queue" not in body:
            body["queue"] = settings.queues[0].name
        request = token_request(settings, bodies.convert(body, bodies.TokenRequest))
    except DeskError as exc:
        print(f"videodesk: {exc.message}", file=sys.stderr)
        return 2
    if not settings.embedded:
        service = _service(settings, real_redis=True)
        issued = await service.issue(request, by="command line")
        _print_issued(settings, issued, None)
        return 0
    # Embedded mode: record the token in the running desk, or mint offline.
    service = _service(settings, real_redis=False)
    server = (args.server or settings.public_url).rstrip("/")
    reply = await _call_server(service, "POST", f"{server}/api/v1/tokens", body)
    if reply is None:
        issued = service.mint(request)
        print(
            f"videodesk: note: no desk answered at {server}, so this token is not in the "
            "admin's token list (it is valid all the same).",
            file=sys.stderr,
        )
        _print_issued(settings, issued, None)
        return 0
    status, data = reply
    if status != 201:
        print(f"videodesk: the desk refused: {data.get('message', status)}", file=sys.stderr)
        return 1
    print(data["token"])
    if data["role"] != "admin":
        print(data["link"])
    print(f"jti {data['jti']}, {data['type']} token", file=sys.stderr)
    return 0


async def revoke_from_cli(settings: Settings, jti: str, server_url: str | None) -> int:
    if not settings.embedded:
        service = _service(settings, real_redis=True)
        known = await service.revoke(jti, unknown_ok=True, by="command line")
        print(f"revoked {jti}" + ("" if known else " (not in the token list; denied all the same)"))
        return 0
    service = _service(settings, real_redis=False)
    server = (server_url or settings.public_url).rstrip("/")
    reply = await _call_server(service, "DELETE", f"{server}/api/v1/tokens/{jti}", None)
    if reply is None:
        print(
            f"videodesk: no desk answered at {server}. In embedded mode revocation is kept by "
            "the running desk: start it (or pass --server URL) and try again.",
            file=sys.stderr,
        )
        return 1
    status, data = reply
    if status != 200:
        print(f"videodesk: the desk refused: {data.get('message', status)}", file=sys.stderr)
        return 1
    print(f"revoked {jti}")
    return 0


async def _call_server(
    service: TokenService, method: str, url: str, body: dict[str, object] | None
) -> tuple[int, dict[str, object]] | None:
    admin = service.mint(TokenRequest(typ="admin", name="command line", ttl=CLI_ADMIN_TTL))
    headers = {"Authorization": f"Bearer {admin.token}"}
    timeout = aiohttp.ClientTimeout(total=5)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(method, url, json=body, headers=headers) as response,
        ):
            data = await response.json(content_type=None)
            return response.status, data if isinstance(data, dict) else {}
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
