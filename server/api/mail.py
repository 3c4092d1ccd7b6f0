"""Admin REST API for invitation e-mails (``/api/v1/mail``).

``POST /api/v1/mail/invitations`` with ``{"token": …}`` or ``{"link": …}`` and
``{"to": address}`` sends an agent link or a patient link (invitation or desk link)
by e-mail: 202 with the e-mail's id, then ``GET /api/v1/mail/invitations/{id}`` says
queued, sent or failed (with a reason in plain words). ``GET /api/v1/mail`` tells the
admin page whether e-mail is set up.

The desk is no relay for text of anyone's choosing: the token must be one it issued,
still valid, for the agent or patient page; the message is written by
:mod:`server.mail.message` from the desk's own link for that token and at most the
first name of its ``name`` claim. Sends are limited per admin and per recipient
(buckets in Redis, the recipient's by a keyed hash, never the address).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator

from aiohttp import web

from server.api.body import MailConfig, MailRequest, MailStatus, UnsetType, builtins, read
from server.api.tokens import ADMIN_REQUESTS_PER_MINUTE, link_for
from server.auth.bearer import require_role
from server.auth.tokens import TOKENS, Claims, IssuedToken, Role
from server.core import appkeys
from server.core.errors import (
    BadRequest,
    Conflict,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unavailable,
)
from server.core.settings import SettingsError
from server.mail.message import Invitation, checked_address, first_name
from server.mail.outbox import OUTBOX, Outbox, smtp_transport
from server.mail.smtp import MAIL_SERVER, MailServer, helo_name, tls_context
from server.ws.desk import DESK

log = logging.getLogger(__name__)

MAILS_PER_ADMIN_PER_HOUR = 100
MAILS_PER_RECIPIENT_PER_HOUR = 5
HOUR = 3600
_NOT_CONFIGURED = "E-mail is not set up on this desk (VIDEODESK_SMTP_URL)."


async def require_admin_claims(request: web.Request) -> Claims:
    """As :func:`server.api.tokens.require_admin`, keeping the admin's claims."""
    claims = await require_role(request, "admin")
    await request.app[appkeys.RATE_LIMITER].hit(f"admin:{claims.sub}", ADMIN_REQUESTS_PER_MINUTE)
    return claims


async def mail_config(request: web.Request) -> web.Response:
    await require_admin_claims(request)
    return web.json_response(builtins(MailConfig(configured=OUTBOX in request.app)))


async def send_invitation(request: web.Request) -> web.Response:
    admin = await require_admin_claims(request)
    body = await read(request, MailRequest)
    try:
        recipient = checked_address(body.to)
    except ValueError as problem:
        raise BadRequest(str(problem), code="invalid_address") from None
    claims, link = await _mailable(request, body)
    # Only a request that could be sent learns that it cannot be (a bad one is a 400
    # either way, so the answer does not depend on the set-up).
    if OUTBOX not in request.app:
        raise Unavailable(_NOT_CONFIGURED, code="mail_not_configured", retry_after=3600)
    if request.app[appkeys.LIFECYCLE].draining:
        raise Unavailable("This server is restarting. Try again in a moment.")
    await _count_send(request, admin, recipient)
    invitation = Invitation(
        kind="agent" if claims.role == "agent" else "patient",
        link=link,
        first_name=first_name(claims.name),
        expires_at=claims.exp,
        single_use=claims.single_use,
    )
    mail_id = await request.app[OUTBOX].queue(invitation, recipient, jti=claims.jti, typ=claims.typ)
    return web.json_response(builtins(MailStatus(id=mail_id, status="queued")), status=202)


async def invitation_status(request: web.Request) -> web.Response:
    await require_admin_claims(request)
    status = None
    if OUTBOX in request.app:
        status = await request.app[OUTBOX].status(request.match_info["id"])
    if status is None:
        raise NotFound("No invitation e-mail with this id (they are kept for a day).")
    return web.json_response(status)


async def _mailable(request: web.Request, body: MailRequest) -> tuple[Claims, str]:
    """The verified claims of the link to send, and the desk's own link for them."""
    settings = request.app[appkeys.SETTINGS]
    given: str | None = None
    if isinstance(body.link, UnsetType) and not isinstance(body.token, UnsetType):
        token = body.token
    elif isinstance(body.token, UnsetType) and not isinstance(body.link, UnsetType):
        given = body.link
        token = given.partition("#token=")[2]
    else:
        raise BadRequest("Give the link to send as token or as link (one of them).")
    claims = await _verified(request, token)
    link = link_for(settings, IssuedToken(token=token, claims=claims, label=""))
    if given is not None and given != link:
        raise BadRequest("This link does not lead to this desk.", code="link_not_valid")
    if claims.single_use and await request.app[TOKENS].invite_used(claims.jti):
        raise Conflict("This invitation has already been used.", code="invite_used")
    return claims, link


async def _verified(request: web.Request, token: str) -> Claims:
    """The claims of a patient or agent token this desk issued and has not revoked.

    A bad link is the request's problem, a 400: a 401 would say the admin's own token
    failed (and sign the admin page out).
    """
    tokens = request.app[TOKENS]
    failures: list[Unauthorized] = []
    roles: tuple[Role, ...] = ("patient", "agent")
    for role in roles:
        try:
            return await tokens.verify(token, role)
        except Unauthorized as failure:
            failures.append(failure)
    codes = {failure.code for failure in failures}
    if "token_expired" in codes:
        raise BadRequest("This link has expired.", code="link_expired")
    if "token_revoked" in codes:
        raise BadRequest("This link has been withdrawn.", code="link_revoked")
    raise BadRequest(
        "Only agent links and patient links issued by this desk can be sent by e-mail.",
        code="link_not_valid",
    )


async def _count_send(request: web.Request, admin: Claims, recipient: str) -> None:
    limiter = request.app[appkeys.RATE_LIMITER]
    try:
        await limiter.hit(f"mail:{admin.sub}", MAILS_PER_ADMIN_PER_HOUR, window=HOUR)
    except TooManyRequests as exc:
        raise TooManyRequests(
            f"You have sent {MAILS_PER_ADMIN_PER_HOUR} e-mails in the last hour. "
            "Copy the link instead, or wait a while.",
            retry_after=exc.retry_after,
        ) from None
    bucket = limiter.address_bucket("mailto", recipient.lower())
    try:
        await limiter.hit(bucket, MAILS_PER_RECIPIENT_PER_HOUR, window=HOUR)
    except TooManyRequests as exc:
        raise TooManyRequests(
            "This address has had several e-mails from the desk in the last hour. "
            "Copy the link instead, or wait a while.",
            retry_after=exc.retry_after,
        ) from None


async def outbox_ctx(app: web.Application) -> AsyncIterator[None]:
    """The outbox, when a mail server is set: its TLS trust is read here (a file)."""
    settings = app[appkeys.SETTINGS]
    if MAIL_SERVER not in app:
        yield
        return
    server = app[MAIL_SERVER]
    try:
        tls = tls_context(settings.smtp_ca_file)
    except ssl.SSLError:
        raise SettingsError("VIDEODESK_SMTP_CA_FILE", "holds no PEM certificate") from None
    transport = smtp_transport(server, tls=tls, helo=helo_name(settings.public_url))
    outbox = Outbox(app[appkeys.REDIS], app[appkeys.KEYS], transport, sender=settings.smtp_from)
    app[OUTBOX] = outbox
    app[DESK].outbox = outbox  # guest links from the agent's call view, too
    log.info("invitation e-mails go to the mail server on port %s (%s)", server.port, server.mode)
    yield
    await outbox.close()


def setup(app: web.Application) -> None:
    """Register the routes and the outbox; a bad ``VIDEODESK_SMTP_URL`` stops here."""
    settings = app[appkeys.SETTINGS]
    if settings.smtp_url is not None:
        try:
            app[MAIL_SERVER] = MailServer.from_url(settings.smtp_url)
        except ValueError as problem:
            raise SettingsError("VIDEODESK_SMTP_URL", str(problem)) from None
    app.cleanup_ctx.append(outbox_ctx)
    app.router.add_get("/api/v1/mail", mail_config)
    app.router.add_post("/api/v1/mail/invitations", send_invitation)
    app.router.add_get("/api/v1/mail/invitations/{id}", invitation_status)
