"""Bearer-token authentication for the REST API (admins use a header, never a cookie).

What it needs is handed to it (:class:`BearerAuth`, set on the app at start-up), so auth
depends on tokens, the sign-in budget and the proxy list only — not on the desk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from server.auth.tokens import ROLES, Claims, Role, TokenService
from server.core import proxies
from server.core.errors import Forbidden, Unauthorized
from server.core.ratelimit import LoginFailures
from server.core.settings import IPNetwork


@dataclass(frozen=True, slots=True)
class BearerAuth:
    """The tokens to verify against, the failed sign-in budget, and the proxies whose
    forwarding headers are believed (``VIDEODESK_TRUSTED_PROXIES``)."""

    tokens: TokenService
    failures: LoginFailures
    trusted_proxies: Sequence[IPNetwork]


BEARER = web.AppKey("bearer_auth", BearerAuth)


def client_address(request: web.Request) -> str:
    """The client's address, for limits only: it is never logged or used in a key name
    as it is (see :meth:`server.core.ratelimit.RateLimiter.address_bucket`). Behind proxies
    listed in ``VIDEODESK_TRUSTED_PROXIES`` it is the address they forwarded."""
    return proxies.client_address(request, request.app[BEARER].trusted_proxies)


async def require_role(request: web.Request, role: Role) -> Claims:
    """The verified claims of the request's bearer token, which must be for ``role``.

    A token that verifies for another role is a 403 (known, but not allowed
    here); anything else is a 401. Failures are rate limited per address.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    auth = request.app[BEARER]
    tokens, failures = auth.tokens, auth.failures
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an Authorization: Bearer <token> header")
    token = token.strip()
    await failures.check(client_address(request))
    try:
        return await tokens.verify(token, role)
    except Unauthorized as failure:
        await failures.record(client_address(request), where="api", reason=failure.code)
        for other in ROLES:
            if other == role:
                continue
            try:
                claims = tokens.decode(token, other)
            except Unauthorized:
                continue
            if await tokens.is_revoked(claims.jti):
                raise Unauthorized("token has been revoked", code="token_revoked") from None
            raise Forbidden(f"this needs an {role} token") from None
        raise
