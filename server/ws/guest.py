"""Guests of a call: where the agent makes a guest link, a guest joins from the lobby,
leaves, or is removed, and where every party is told who is in the call.

A guest link is a single-use token of the ``guest`` role naming one call and the
guest's part in it (interpreter, carer, clinician). It grants nothing else: the guest
role may send only call messages and ``guest.join`` (signaling/messages.py), the
socket's call is only ever the token's own, and the chat a guest is shown starts when
they joined. The call must still be going at every join (``guest_join.lua``), so a link
is dead once the call ends; removing a guest revokes their token, which closes their
sockets on every process.

Who is in the call is pushed whole (``call.parties``) to every party whenever it
changes, and after ``call.started``: a lost push is repaired by the next one.
"""

from __future__ import annotations

import logging
import time

from server.auth.tokens import DEFAULT_TTL, TokenRequest
from server.core.audit import audit
from server.core.errors import Conflict
from server.mail.message import Invitation, checked_address
from server.queue.parties import MAX_GUESTS, Guest
from server.ws import outbound
from server.ws.connection import Connection
from server.ws.desk import Desk
from server.ws.outbound import first_name
from server.ws.peers import HIDDEN_PARTIES
from signaling import messages as m
from signaling import server_messages as sm
from signaling.messages import UNSET, ClientMessage, UnsetType

log = logging.getLogger(__name__)

GUEST_PAGE = "/g"
MAILS_PER_AGENT_PER_HOUR = 30
MAILS_PER_RECIPIENT_PER_HOUR = 5  # as the admin's invitation e-mails (server/api/mail.py)
HOUR = 3600


async def handle(desk: Desk, conn: Connection, message: ClientMessage) -> None:
    match message:
        case m.CallInvite():
            await invite(desk, conn, message.party, message.language, message.email)
        case m.CallRemove():
            await remove(desk, conn, message.handle)
        case m.GuestJoin():
            await join(desk, conn, message.name)
        case _:  # the router sends nothing else here; keep the loop safe anyway
            raise m.ProtocolError("unknown_type", "Unknown message type.")


# -- the agent -----------------------------------------------------------------------------
async def invite(
    desk: Desk,
    conn: Connection,
    party: str,
    language: str | UnsetType,
    email: str | UnsetType = UNSET,
) -> None:
    """call.invite: a link for one more party of the agent's call (and, given an
    address, an e-mail with it)."""
    if not conn.call or not conn.peer:
        raise Conflict("There is no call in progress.", code="no_call")
    if await desk.parties.count(conn.call) >= MAX_GUESTS:
        raise Conflict("This call already has two guests.", code="call_full")
    recipient = "" if isinstance(email, UnsetType) else await _mail_to(desk, conn, email)
    languages = () if isinstance(language, UnsetType) else (language,)
    issued = await desk.tokens.issue(
        TokenRequest(
            typ="guest",
            call=conn.call,
            party=party,
            languages=languages,
            ttl=DEFAULT_TTL["guest"],
            label=f"{party} link",
        ),
        by=conn.participant,
    )
    await audit(desk.engine.redis, desk.keys, "guest_invited", call=conn.call, party=party,
                jti=issued.claims.jti, by=conn.participant)  # fmt: skip
    link = f"{desk.settings.public_url}{GUEST_PAGE}#token={issued.token}"
    if recipient and desk.outbox is not None:
        invitation = Invitation(kind="guest", link=link, first_name="", party=party,
                                expires_at=issued.claims.exp, single_use=True)  # fmt: skip
        await desk.outbox.queue(invitation, recipient, jti=issued.claims.jti, typ="guest")
    await conn.send(
        sm.CallInviteLink(
            party=party,  # type: ignore[arg-type]  # GuestParty: the same three
            language=languages[0] if languages else UNSET,
            link=link,
            expires_at=issued.claims.exp,
            mailed=bool(recipient),
        )
    )


async def _mail_to(desk: Desk, conn: Connection, email: str) -> str:
    """The checked address to send a guest link to, within the agent's and the
    address's hourly limits (as the admin's invitation e-mails)."""
    try:
        recipient = checked_address(email)
    except ValueError as problem:
        raise Conflict(str(problem), code="invalid_address") from None
    if desk.outbox is None:
        raise Conflict("E-mail is not set up on this desk: copy the link instead.",
                       code="mail_not_configured")  # fmt: skip
    await desk.limiter.hit(f"mail:{conn.participant}", MAILS_PER_AGENT_PER_HOUR, window=HOUR)
    bucket = desk.limiter.address_bucket("mailto", recipient.lower())
    await desk.limiter.hit(bucket, MAILS_PER_RECIPIENT_PER_HOUR, window=HOUR)
    return recipient


async def remove(desk: Desk, conn: Connection, handle: str) -> None:
    """call.remove: the agent takes a guest out; their link stops working at once."""
    if not conn.call or not conn.peer:
        raise Conflict("There is no call in progress.", code="no_call")
    guest = await desk.parties.leave(call=conn.call, handle=handle)
    if guest is None:
        raise Conflict("That person is not in this call.", code="not_in_call")
    await desk.notify(guest.guest, outbound.call_ended(conn.call, "removed"))
    await desk.tokens.revoke(guest.jti, by=conn.participant)  # closes their sockets
    await audit(desk.engine.redis, desk.keys, "guest_removed", call=conn.call, party=guest.party,
                jti=guest.jti, by=conn.participant)  # fmt: skip
    await push_parties(desk, conn.call)


# -- the guest -----------------------------------------------------------------------------
async def on_connect(desk: Desk, conn: Connection) -> None:
    """A guest's socket opened. Already in the call (a reload, a reconnect, another
    process after a crash): it joins again at once, with a new sequence number, so
    every other party starts a fresh connection with it. Otherwise the page shows its
    lobby and joins with guest.join."""
    call = conn.session.call
    handle = await desk.parties.handle_of(call, conn.participant)
    guest = await desk.parties.guest(call, handle) if handle else None
    if guest is not None:
        await join(desk, conn, guest.name)


async def join(desk: Desk, conn: Connection, name: str) -> None:
    """guest.join: into the call, from the lobby (or again: see on_connect)."""
    session = conn.session
    joined = await desk.parties.join(
        call=session.call,
        guest=conn.participant,
        jti=session.jti,
        party=session.party,
        name=first_name(name),
        language=session.languages[0] if session.languages else "",
        link_ttl=max(60, session.exp - int(time.time())),
    )
    guest = await desk.parties.guest(session.call, joined.handle)
    if guest is None:  # removed in the same instant
        raise Conflict("You are no longer in this call.", code="not_in_call")
    if joined.created:
        await audit(desk.engine.redis, desk.keys, "guest_joined", call=session.call,
                    party=session.party, jti=session.jti)  # fmt: skip
    log.info("guest %s of call %s joined (seq %d)", guest.handle, session.call, guest.seq)
    # call.started first (the socket takes the call), then everyone hears who is in it:
    # the guest's offers, relayed after this, reach pages that already know them.
    await started(desk, session.call, guest, resumed=not joined.created)
    await push_parties(desk, session.call)


async def leave(desk: Desk, conn: Connection) -> None:
    """call.bye from a guest: out of the call (the same browser may join again while the
    call lasts; nobody else can use the link)."""
    call = conn.session.call
    handle = await desk.parties.handle_of(call, conn.participant)
    guest = await desk.parties.leave(call=call, handle=handle) if handle else None
    if guest is None:
        raise Conflict("You are not in this call.", code="not_in_call")
    await desk.notify(conn.participant, outbound.call_ended(call, "left"))
    await audit(desk.engine.redis, desk.keys, "guest_left", call=call, party=guest.party,
                jti=guest.jti)  # fmt: skip
    await push_parties(desk, call)


async def call_over(desk: Desk, call: str, reason: str) -> None:
    """The call ended: its guests (and a supervisor) are told, and it has none any more."""
    for guest in await desk.parties.end(call):
        await desk.notify(guest.guest, outbound.call_ended(call, reason))
        if guest.party == "supervisor":
            await audit(desk.engine.redis, desk.keys, "supervisor_stopped", call=call,
                        reason="call_ended", by=guest.guest)  # fmt: skip


# -- what the parties are told -------------------------------------------------------------
async def started(desk: Desk, call: str, guest: Guest, *, resumed: bool) -> None:
    """call.started for a guest: the agent by name, the chat since the guest joined."""
    record = await desk.engine.call(call)
    agent = await desk.engine.agent(record.get("agent", ""))
    history = [chat for chat in await desk.chat_log.history(call) if chat.at >= guest.joined_at]
    message = outbound.call_started(
        call,
        role="guest",
        peer_id="",
        peer_name=agent.get("name", ""),
        ice=desk.ice,
        kind=record.get("kind", "call"),
        resumed=resumed,
        history=history,
    )
    await desk.notify(guest.guest, message)


async def push_parties(desk: Desk, call: str) -> None:
    """Tell every party of the call who is in it (each with its own handle)."""
    record = await desk.engine.call(call)
    pid, aid = record.get("patient", ""), record.get("agent", "")
    if not pid or not aid or record.get("ended_at"):
        return
    patient = await desk.engine.patient(pid)
    agent = await desk.engine.agent(aid)
    guests, patient_seq, agent_seq = await desk.parties.everyone(call)
    parties = [
        sm.CallParty(handle="patient", party="patient", name=first_name(patient.get("name", "")),
                     seq=patient_seq),
        sm.CallParty(handle="agent", party="agent", name=first_name(agent.get("name", "")),
                     seq=agent_seq),
        *(
            sm.CallParty(
                handle=g.handle,
                party=g.party,  # type: ignore[arg-type]  # interpreter, carer, clinician, supervisor
                name=g.name,
                language=g.language or UNSET,
                seq=g.seq,
                mode=g.mode or UNSET,  # type: ignore[arg-type]  # monitor, whisper or barge
            )
            for g in guests
        ),
    ]  # fmt: skip
    ids = {"patient": pid, "agent": aid, **{g.handle: g.guest for g in guests}}
    for handle, participant in ids.items():
        message = sm.to_dict(
            sm.CallParties(
                call=call, you=handle, parties=parties, notice=desk.settings.supervisor_notice
            )
        )
        message[HIDDEN_PARTIES] = ids
        await desk.notify(participant, message)
