"""``/api/v1/session``: a page exchanges its link's token for a session cookie.

The token comes in the POST body (the page read it from the URL fragment), never
in a URL. Patients and agents get a cookie; admins keep using their bearer token
(no cookie, so no CSRF for the admin API).
"""

from __future__ import annotations

import time

from aiohttp import web

from server.api.body import SessionRequest, read
from server.auth.bearer import client_address
from server.auth.sessions import COOKIES, SESSIONS, Session, cookie_name, session_for
from server.auth.tokens import TOKENS, Claims, Role
from server.core import appkeys
from server.core.errors import BadRequest, Conflict, Forbidden, Unauthorized, UnsupportedMediaType
from server.core.origins import origin_allowed

EXCHANGES_PER_MINUTE = 30
PAGE_ROLES: tuple[Role, ...] = ("patient", "agent", "guest")  # the roles with a cookie


async def create_session(request: web.Request) -> web.Response:
    app = request.app
    _refuse_cross_site(request)
    address = client_address(request)
    limiter = app[appkeys.RATE_LIMITER]
    await limiter.hit(limiter.address_bucket("session", address), EXCHANGES_PER_MINUTE)
    failures = app[appkeys.LOGIN_FAILURES]
    await failures.check(address)
    body = await read(request, SessionRequest)
    try:
        claims = await _claims(request, body.token)
    except Unauthorized as failure:
        await failures.record(address, where="session", reason=failure.code)
        raise
    session = await _resumed(request, claims)
    if session is None:
        if claims.single_use and await app[TOKENS].invite_used(claims.jti):
            # Said at once, before the page greets anyone or asks for the camera: the
            # invite has been used by whoever joined with it (another browser).
            raise Conflict(
                "This invitation link has already been used. Please ask for a new one.",
                code="invite_used",
            )
        session = session_for(claims)
        await app[SESSIONS].save(session)
    response = web.json_response({"session": session.public()}, status=201)
    _set_cookie(request, response, session)
    return response


async def _resumed(request: web.Request, claims: Claims) -> Session | None:
    """The browser's own session from this token, when it has one (the link opened again
    in a new tab of the same browser finds the patient's place)."""
    sid = request.cookies.get(cookie_name(claims.role), "")
    if not sid:
        return None
    try:
        session = await request.app[SESSIONS].load(sid)
    except Unauthorized:
        return None
    return session if session.jti == claims.jti else None


def _refuse_cross_site(request: web.Request) -> None:
    """Login CSRF: another site must not be able to sign a browser in with its own token.

    A browser always sends Origin with a POST, so one that is present must be on the
    WebSocket's allow-list (``null`` and look-alikes are not); and only a JSON body is
    read, which a cross-site form or a no-CORS fetch cannot send.
    """
    origin = request.headers.get("Origin")
    if origin is not None and not origin_allowed(
        origin, request.app[appkeys.SETTINGS].allowed_origins
    ):
        raise Forbidden("This page's origin may not sign in to the desk.", code="bad_origin")
    if request.content_type != "application/json":
        raise UnsupportedMediaType("Send the token as a JSON body (application/json).")


async def _claims(request: web.Request, token: str) -> Claims:
    """The token's claims for the first page role whose audience it is (a revoked one
    says so); an admin token is told to stay a bearer token."""
    tokens = request.app[TOKENS]
    first_error: Unauthorized | None = None
    for role in PAGE_ROLES:
        try:
            tokens.decode(token, role)
        except Unauthorized as error:
            first_error = first_error or error
            continue
        return await tokens.verify(token, role)
    try:
        tokens.decode(token, "admin")
    except Unauthorized:
        raise first_error or Unauthorized("token is not valid here") from None
    raise Forbidden("Admins use their token as a bearer token.")


def _set_cookie(request: web.Request, response: web.Response, session: Session) -> None:
    settings = request.app[appkeys.SETTINGS]
    response.set_cookie(
        cookie_name(session.role),
        session.sid,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="Strict",
        path="/",
        max_age=max(1, session.exp - int(time.time())),
    )


async def current_session(request: web.Request) -> web.Response:
    session = await _load(request)
    return web.json_response({"session": session.public()})


async def end_session(request: web.Request) -> web.Response:
    session = await _load(request)
    await request.app[SESSIONS].delete(session)
    response = web.json_response({"ended": True})
    response.del_cookie(cookie_name(session.role), path="/")
    return response


def session_cookie(request: web.Request) -> str:
    """The session cookie of the role the page asks for (``?as=patient|agent|guest``), or the
    patient's then the agent's when it does not say."""
    wanted = request.query.get("as")
    if wanted is not None and wanted not in COOKIES:
        raise BadRequest("as must be patient, agent or guest")
    roles = [wanted] if wanted else list(COOKIES)
    for role in roles:
        sid = request.cookies.get(cookie_name(role), "")
        if sid:
            return sid
    return ""


async def _load(request: web.Request) -> Session:
    sid = session_cookie(request)
    session = await request.app[SESSIONS].load(sid)
    if await request.app[TOKENS].is_revoked(session.jti):
        raise Unauthorized("This link has been withdrawn.", code="token_revoked")
    return session


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/session", create_session)
    app.router.add_get("/api/v1/session", current_session)
    app.router.add_delete("/api/v1/session", end_session)
