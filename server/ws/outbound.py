"""Messages the server sends, built in one place (docs/protocol.md lists them)."""

from __future__ import annotations

import json
import time
from typing import Any

import msgspec

from server.queue.models import Offer, Position
from server.ws.peers import HIDDEN
from signaling import server_messages as sm
from signaling.ice import IceConfig, browser_ice_servers, browser_policy
from signaling.messages import PROTOCOL_VERSION


def now_ms() -> int:
    return int(time.time() * 1000)


def first_name(name: str) -> str:
    """Agents see a first name only."""
    return name.strip().split(" ")[0][:40] if name.strip() else ""


def ice_message(ice: IceConfig) -> sm.IceConfig:
    """RTCConfiguration fields for the browser; TURN credentials are minted per socket."""
    return msgspec.convert(
        {"iceServers": browser_ice_servers(ice), "iceTransportPolicy": browser_policy(ice)},
        sm.IceConfig,
    )


def welcome(
    role: str, session: dict[str, Any], ice: IceConfig, *, desk: dict[str, Any] | None = None
) -> sm.Welcome:
    """The first message of a socket; a patient's also says whether anyone is answering
    their queue and when the desk is open (``desk``), for the lobby's greeting."""
    return sm.Welcome(
        v=PROTOCOL_VERSION,
        role=role,  # type: ignore[arg-type]  # a session's role is one of the three
        session=msgspec.convert(session, sm.SessionInfo),
        ice=ice_message(ice),
        desk=sm.UNSET if desk is None else msgspec.convert(desk, sm.DeskStatus),
    )


def queue_state(position: Position) -> dict[str, Any]:
    """Where a patient stands, with the estimate; pushed whenever it changes."""
    estimate = position.estimate
    callback = position.state == "callback_pending"
    return sm.to_dict(
        sm.QueueState(
            state=position.state,
            queue=position.queue,
            position=position.position,
            waiting=position.waiting,
            agents_staffed=position.staffed,
            estimate=sm.Estimate(
                known=estimate.known,
                low_minutes=estimate.low_minutes,
                high_minutes=estimate.high_minutes,
                reason=estimate.reason,
                why=estimate.why,
            ),
            callback=(
                sm.CallbackChoice(mode=position.callback_mode, slot=position.callback_slot or None)
                if callback
                else None
            ),
            returning=position.returning,
            waited_s=position.waited_s,
        )
    )


def _flags(record: dict[str, str], kind: str) -> list[str]:
    flags = []
    if record.get("emergency"):
        flags.append("emergency")
    if record.get("priority") == "urgent" or record.get("band") == "0":
        flags.append("urgent")
    if record.get("returning") == "1":
        flags.append("returning")
    if kind == "callback":
        flags.append("callback")
    if kind == "transfer" or record.get("transfers", "0") != "0":
        flags.append("transferred")
    return flags


def patient_context(record: dict[str, str], kind: str, now: int | None = None) -> sm.PatientContext:
    """What an agent sees of a patient: first name, reason, language, wait, flags."""
    now = now_ms() if now is None else now
    joined = int(record.get("joined_at") or now)
    try:
        needs = json.loads(record.get("needs") or "[]")
    except ValueError:
        needs = []
    return sm.PatientContext(
        name=first_name(record.get("name", "")),
        reason=record.get("reason", ""),
        language=record.get("language", ""),
        needs=needs if isinstance(needs, list) else [],
        waited_s=max(0, (now - joined) // 1000),
        flags=_flags(record, kind),
        handoff_note=record.get("handoff_note", ""),
        emergency_words=[w for w in record.get("emergency", "").split(",") if w],
        callback=(
            sm.CallbackContact(
                mode=record.get("callback_mode", ""), phone=record.get("callback_phone", "")
            )
            if kind == "callback"
            else sm.UNSET
        ),
    )


def offer_message(offer: Offer, record: dict[str, str]) -> dict[str, Any]:
    return sm.to_dict(
        sm.AgentOffer(
            token=offer.token,
            kind=offer.kind,
            queue=offer.queue,
            deadline_ms=offer.deadline_ms,
            expires_in_ms=max(0, offer.deadline_ms - now_ms()),
            patient=patient_context(record, offer.kind),
        )
    )


def agent_state(record: dict[str, str], outcome_codes: tuple[str, ...]) -> dict[str, Any]:
    return sm.to_dict(
        sm.AgentState(
            state=record.get("state", "offline"),
            reason=record.get("reason", ""),
            since_ms=int(record.get("state_since") or 0),
            name=record.get("name", ""),
            queues=[q for q in record.get("queues", "").split(",") if q],
            languages=[q for q in record.get("languages", "").split(",") if q],
            outcome_codes=list(outcome_codes),
        )
    )


def call_started(
    call_id: str,
    *,
    role: str,
    peer_id: str,
    peer_name: str,
    ice: IceConfig,
    kind: str = "call",
    patient: sm.PatientContext | None = None,
    resumed: bool = False,
    history: list[sm.CallChat] | None = None,
    on_hold: bool | None = None,
) -> dict[str, Any]:
    """Both parties get one. The agent makes the WebRTC offer (impolite peer). The peer's
    id travels in the hidden ``peer_id`` field: kept by the hub, never sent to the browser
    (server/ws/peers.py)."""
    message = sm.to_dict(
        sm.CallStarted(
            call=call_id,
            kind=kind,  # type: ignore[arg-type]  # the call's kind, as the engine keeps it
            polite=role == "patient",
            initiator=role == "agent",
            peer=sm.Named(name=first_name(peer_name)),
            ice=ice_message(ice),
            resumed=resumed,
            patient=sm.UNSET if patient is None else patient,
            history=history or [],
            on_hold=sm.UNSET if on_hold is None else on_hold,
        )
    )
    message[HIDDEN] = peer_id
    return message


def call_ended(call_id: str, reason: str) -> dict[str, Any]:
    return sm.to_dict(sm.CallEnded(call=call_id, reason=reason))
