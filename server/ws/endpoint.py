"""``GET /ws``: the one WebSocket each page keeps open.

Order of business: the Origin must be on the allow-list (aiohttp does not check
it); an address may have only a few sockets waiting to authenticate; the socket
authenticates with its session cookie at the handshake, or by an ``auth``
message within 5 seconds whatever else the client sends (failed attempts spend
the address's sign-in budget, shared with the REST API on every process); it is
counted against its session's and token's socket limits on every process
(``server/ws/sockets.py``); every message is then rate limited, validated
against the schema and handled by its family's module. A bad message gets an
``error`` reply and the loop goes on; only abuse (repeated flooding), a revoked
token or an expired one (``server/ws/expiry.py``) closes the socket, with 1008.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import WSCloseCode, WSMsgType, web
from redis.exceptions import RedisError

from server.auth.bearer import client_address
from server.auth.sessions import COOKIES, Session, cookie_name, session_for
from server.auth.tokens import Role
from server.core.errors import DeskError, Forbidden, TooManyRequests, Unauthorized, Unavailable
from server.core.origins import origin_allowed
from server.ws import (
    agent,
    call,
    emergency,
    expiry,
    guest,
    lobby,
    panels,
    patient,
    selfhelp,
    staff,
    supervisor,
)
from server.ws.connection import STRIKES_BEFORE_CLOSE, Connection, send_message
from server.ws.desk import DESK, Desk
from server.ws.outbound import welcome
from signaling import server_messages as sm
from signaling.messages import (
    MAX_MESSAGE_BYTES,
    SUPERVISORS,
    AssistantAsk,
    Auth,
    ClientMessage,
    ProtocolError,
    StaffMessage,
    error_message,
    parse,
)

log = logging.getLogger(__name__)

AUTH_TIMEOUT = 5.0
HEARTBEAT = 20.0  # ping every 20 s; a peer silent for 10 s more is closed


async def websocket(request: web.Request) -> web.StreamResponse:
    desk = request.app[DESK]
    if not origin_allowed(request.headers.get("Origin"), desk.settings.allowed_origins):
        raise Forbidden("This page's origin may not open the desk's socket.", code="bad_origin")
    if desk.lifecycle.draining:
        raise Unavailable("This server is restarting; please reconnect.", code="draining")
    address = client_address(request)
    if not desk.hub.start_unauthenticated(address):
        raise TooManyRequests(
            "Too many connections are opening from this address.", retry_after=int(AUTH_TIMEOUT)
        )
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=MAX_MESSAGE_BYTES, compress=False)
    try:
        await ws.prepare(request)
        session = await _admit(desk, request, ws, address)
    finally:
        desk.hub.end_unauthenticated(address)
    if session is None:
        return ws
    conn = Connection(
        ws=ws,
        session=session,
        address=address,
        local_address=direct_local_address(request),
        expires_at=float(session.exp),
    )
    try:
        conn.count, why = await desk.sockets.admit(session, address)
    except RedisError as exc:
        log.warning("socket refused: Redis unavailable (%s)", type(exc).__name__)
        await _refuse(ws, "unavailable", "Please try again in a few seconds.",
                      WSCloseCode.TRY_AGAIN_LATER)  # fmt: skip
        return ws
    if conn.count is None:
        await _refuse(ws, "too_many_connections", why, WSCloseCode.POLICY_VIOLATION)
        return ws
    await _serve(desk, conn)
    return ws


async def _admit(
    desk: Desk, request: web.Request, ws: web.WebSocketResponse, address: str
) -> Session | None:
    """The socket's session, or None after refusing it (the reason was sent)."""
    try:
        session = await _authenticate(desk, request, ws, address)
    except _ClosedBeforeAuth:
        log.info("socket closed before authenticating")
        return None
    except TooManyRequests as exc:
        await _refuse(ws, exc.code, exc.message, WSCloseCode.POLICY_VIOLATION)
        return None
    except (DeskError, ProtocolError) as exc:
        try:
            await desk.login_failures.record(address, where="ws", reason=exc.code)
        except TooManyRequests as limited:
            exc = limited
        except RedisError:
            pass
        await _refuse(ws, exc.code, exc.message, WSCloseCode.POLICY_VIOLATION)
        return None
    except RedisError as exc:
        log.warning("socket refused: Redis unavailable (%s)", type(exc).__name__)
        await _refuse(ws, "unavailable", "Please try again in a few seconds.",
                      WSCloseCode.TRY_AGAIN_LATER)  # fmt: skip
        return None
    return session


async def _refuse(ws: web.WebSocketResponse, code: str, message: str, close_code: int) -> None:
    """Say why and close; a client that already went away is not an error."""
    try:
        await send_message(ws, error_message(code, message))
        await ws.close(code=close_code, message=code.encode()[:120])
    except (ConnectionError, RuntimeError):
        log.info("socket went away before its refusal (%s) was sent", code)


class _ClosedBeforeAuth(Exception):
    """The client closed the socket (or it broke) before authenticating."""


async def _authenticate(
    desk: Desk, request: web.Request, ws: web.WebSocketResponse, address: str
) -> Session:
    # ``/ws?as=admin`` (or no cookie at all) authenticates by the first message; a page
    # of another role says which of its role's cookies to use (``?as=patient|agent``).
    wanted = request.query.get("as", "")
    sid = "" if wanted == "admin" else _cookie(request, wanted)
    if sid:
        session = await desk.sessions.load(sid)
    else:
        session = await _first_message(desk, ws, address)
    if await desk.tokens.is_revoked(session.jti):
        raise Unauthorized("This link has been withdrawn.", code="token_revoked")
    if time.time() >= session.exp:
        # Tokens verify with a leeway for clock skew; a socket would close at once.
        raise Unauthorized("Your link has expired. Please ask for a new one.", code="token_expired")
    return session


def _cookie(request: web.Request, wanted: str) -> str:
    roles = [wanted] if wanted in COOKIES else list(COOKIES)
    for role in roles:
        sid = request.cookies.get(cookie_name(role), "")
        if sid:
            return sid
    return ""


async def _first_message(desk: Desk, ws: web.WebSocketResponse, address: str) -> Session:
    # One deadline for the whole wait: aiohttp's receive(timeout=) restarts its timer
    # after each ping frame it answers, so a client sending pings would never time out.
    try:
        async with asyncio.timeout(AUTH_TIMEOUT):
            msg = await ws.receive()
    except TimeoutError:
        raise Unauthorized("Authenticate within 5 seconds.", code="auth_timeout") from None
    if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
        raise _ClosedBeforeAuth
    if msg.type != WSMsgType.TEXT:
        raise Unauthorized("Authenticate with an auth message first.")
    try:
        message = parse(msg.data, "unauthenticated")
    except ProtocolError as exc:
        if exc.code == "forbidden":  # any other type before auth
            raise Unauthorized("Authenticate with an auth message first.") from None
        raise
    if not isinstance(message, Auth):
        raise Unauthorized("Authenticate with an auth message first.")
    await desk.login_failures.check(address)
    role: Role = message.role
    claims = await desk.tokens.verify(message.token, role)
    if role == "patient" and claims.typ == "desk":
        raise Unauthorized("Open the desk link in a browser to join.", code="use_the_page")
    # A patient who authenticates by token gets a patient id of this socket's own, as a
    # browser session does: whoever else holds the invite is another patient, and the
    # single-use invite lets only the first of them join (docs/protocol.md).
    return session_for(claims)


async def _serve(desk: Desk, conn: Connection) -> None:
    desk.hub.add(conn)
    log.info("%s %s connected", conn.role, conn.participant)
    try:
        await desk.relay.attach(conn.participant)
        opening = await patient.desk_status(desk, conn.session) if conn.role == "patient" else None
        await conn.send(welcome(conn.role, conn.session.public(), desk.ice, desk=opening))
        await _on_connect(desk, conn)
        async for msg in conn.ws:
            if msg.type == WSMsgType.TEXT:
                await receive(desk, conn, msg.data)
            elif msg.type == WSMsgType.BINARY:
                await conn.send(error_message("bad_json", "Send text messages only."))
            elif msg.type == WSMsgType.ERROR:
                break
    except RedisError as exc:
        log.warning(
            "%s %s: Redis unavailable (%s)", conn.role, conn.participant, type(exc).__name__
        )
    except Exception:
        log.exception("socket of %s %s failed", conn.role, conn.participant)
    finally:
        await _on_close(desk, conn)


async def _release(desk: Desk, conn: Connection) -> None:
    if conn.count is None:
        return
    try:
        await desk.sockets.release(conn.count)
    except RedisError as exc:  # the count lapses with its lease instead
        log.warning("socket count of %s not released (%s)", conn.participant, type(exc).__name__)


async def _on_connect(desk: Desk, conn: Connection) -> None:
    try:
        if conn.role == "patient":
            await patient.on_connect(desk, conn)
        elif conn.role == "agent":
            await agent.on_connect(desk, conn)
            await panels.push(desk, [conn])  # the queues at once, not at the next round
        elif conn.role == "guest":
            await guest.on_connect(desk, conn)
    except RedisError:
        await conn.send(error_message("unavailable", "Please wait: reconnecting to the desk."))


async def _on_close(desk: Desk, conn: Connection) -> None:
    await lobby.stop(desk, conn)
    if conn.role in SUPERVISORS and conn.call:  # this page was supervising a call
        try:
            await supervisor.on_disconnect(desk, conn)
        except RedisError as exc:
            log.warning("supervisor of %s not taken out (%s)", conn.call, type(exc).__name__)
    last = desk.hub.remove(conn)
    log.info("%s %s disconnected (close code %s)", conn.role, conn.participant, conn.ws.close_code)
    try:
        if last:
            await _detach(desk, conn)
    finally:
        await _release(desk, conn)


async def _detach(desk: Desk, conn: Connection) -> None:
    """The participant's last socket here closed: drop their route, tell whoever cares."""
    try:
        await desk.relay.detach(conn.participant)
        if desk.hub.has(conn.participant):
            # A new socket of theirs opened here while the route was being dropped (a
            # quick reconnect): it may have set the route just before the drop, so set it
            # again, and it is not a disconnect after all.
            await desk.relay.attach(conn.participant)
            return
        if conn.role == "patient":
            await patient.on_disconnect(desk, conn)
        elif conn.role == "agent":
            await agent.on_disconnect(desk, conn)
    except RedisError as exc:
        log.warning("cleanup of %s: Redis unavailable (%s)", conn.participant, type(exc).__name__)


async def receive(desk: Desk, conn: Connection, raw: str) -> None:
    """Handle one text message; whatever happens, the loop goes on."""
    if not conn.limiter.take():
        conn.strikes += 1
        if conn.strikes >= STRIKES_BEFORE_CLOSE:
            await conn.send(error_message("rate_limited", "Too many messages."))
            await conn.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"rate limited")
        else:
            await conn.send(error_message("rate_limited", "Slow down: message dropped."))
        return
    try:
        message = parse(raw, conn.role)
    except ProtocolError as exc:
        await conn.send(error_message(exc.code, exc.message, exc.ref))
        return
    conn.last_activity = time.monotonic()
    try:
        if expiry.expired(conn) and await expiry.enforce(desk, conn):
            return
        await route(desk, conn, message)
    except DeskError as exc:
        await conn.send(error_message(exc.code, exc.message, message.ref))
    except ProtocolError as exc:
        await conn.send(error_message(exc.code, exc.message, message.ref))
    except RedisError as exc:
        log.warning(
            "%s from %s: Redis unavailable (%s)", message.type, conn.participant, type(exc).__name__
        )
        await conn.send(
            error_message(
                "unavailable",
                "The desk can't do that just now. Please try again in a few seconds.",
                message.ref,
            )
        )
    except Exception:
        log.exception("%s from %s failed", message.type, conn.participant)
        await conn.send(error_message("internal", "Something went wrong on our side.", message.ref))


FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def direct_local_address(request: web.Request) -> str | None:
    """The desk address the page's socket reached, unless a proxy forwarded it (then the
    address is the desk's side of the proxy, which the page knows nothing of)."""
    if any(header in request.headers for header in FORWARDING_HEADERS):
        return None
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return str(sockname[0]) if isinstance(sockname, tuple) and sockname else None


async def route(desk: Desk, conn: Connection, message: ClientMessage) -> None:
    """Each message family is handled in one module."""
    family = message.type.split(".", 1)[0]
    if message.type == "ping":
        await conn.send(sm.Pong(ref=message.ref))
    elif message.type == "auth":
        raise ProtocolError("already_authenticated", "This socket is already authenticated.")
    elif family in ("queue", "survey"):
        await patient.handle(desk, conn, message)
    elif family == "agent":
        await agent.handle(desk, conn, message)
    elif family == "call":
        await call.handle(desk, conn, message)
    elif family == "guest":
        await guest.handle(desk, conn, message)
    elif family == "supervisor":
        await supervisor.handle(desk, conn, message)
    elif family == "lobby":
        await lobby.handle(desk, conn, message)
    elif isinstance(message, StaffMessage):
        await staff.handle(desk, conn, message)
    elif family in ("help", "assistant"):
        await selfhelp.handle(desk, conn, message)
        if isinstance(message, AssistantAsk):  # after the reply: the patient sees it first
            await emergency.heard(desk, conn.participant, message.text, source="assistant")
    else:  # the schema admits no other family; keep the loop safe anyway
        raise ProtocolError("unknown_type", "Unknown message type.")


async def close_all(desk: Desk) -> None:
    """Draining: every socket closes with 1001 so clients reconnect to another process."""
    await desk.hub.close_all(WSCloseCode.GOING_AWAY, b"server restarting")
    await asyncio.sleep(0)
