"""Messages the server sends, built in one place (docs/protocol.md lists them)."""

from __future__ import annotations

import json
import time
from typing import Any

from server.queue.models import Offer, Position
from signaling.ice import IceConfig, browser_ice_servers, browser_policy
from signaling.messages import PROTOCOL_VERSION


def now_ms() -> int:
    return int(time.time() * 1000)


def first_name(name: str) -> str:
    """Agents see a first name only."""
    return name.strip().split(" ")[0][:40] if name.strip() else ""


def ice_message(ice: IceConfig) -> dict[str, Any]:
    """RTCConfiguration fields for the browser; TURN credentials are minted per socket."""
    return {"iceServers": browser_ice_servers(ice), "iceTransportPolicy": browser_policy(ice)}


def welcome(
    role: str, session: dict[str, Any], ice: IceConfig, *, desk: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The first message of a socket; a patient's also says whether anyone is answering
    their queue and when the desk is open (``desk``), for the lobby's greeting."""
    message = {
        "type": "welcome",
        "v": PROTOCOL_VERSION,
        "role": role,
        "session": session,
        "ice": ice_message(ice),
    }
    if desk is not None:
        message["desk"] = desk
    return message


def queue_state(position: Position) -> dict[str, Any]:
    """Where a patient stands, with the estimate; pushed whenever it changes."""
    return {"type": "queue.state", **position.as_dict()}


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


def patient_context(record: dict[str, str], kind: str, now: int | None = None) -> dict[str, Any]:
    """What an agent sees of a patient: first name, reason, language, wait, flags."""
    now = now_ms() if now is None else now
    joined = int(record.get("joined_at") or now)
    try:
        needs = json.loads(record.get("needs") or "[]")
    except ValueError:
        needs = []
    context: dict[str, Any] = {
        "name": first_name(record.get("name", "")),
        "reason": record.get("reason", ""),
        "language": record.get("language", ""),
        "needs": needs if isinstance(needs, list) else [],
        "waited_s": max(0, (now - joined) // 1000),
        "flags": _flags(record, kind),
        "handoff_note": record.get("handoff_note", ""),
        "emergency_words": [w for w in record.get("emergency", "").split(",") if w],
    }
    if kind == "callback":
        context["callback"] = {
            "mode": record.get("callback_mode", ""),
            "phone": record.get("callback_phone", ""),
        }
    return context


def offer_message(offer: Offer, record: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "agent.offer",
        "token": offer.token,
        "kind": offer.kind,
        "queue": offer.queue,
        "deadline_ms": offer.deadline_ms,
        "expires_in_ms": max(0, offer.deadline_ms - now_ms()),
        "patient": patient_context(record, offer.kind),
    }


def agent_state(record: dict[str, str], outcome_codes: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "agent.state",
        "state": record.get("state", "offline"),
        "reason": record.get("reason", ""),
        "since_ms": int(record.get("state_since") or 0),
        "name": record.get("name", ""),
        "queues": [q for q in record.get("queues", "").split(",") if q],
        "languages": [q for q in record.get("languages", "").split(",") if q],
        "outcome_codes": list(outcome_codes),
    }


def call_started(
    call_id: str,
    *,
    role: str,
    peer_id: str,
    peer_name: str,
    ice: IceConfig,
    kind: str = "call",
    patient: dict[str, Any] | None = None,
    resumed: bool = False,
) -> dict[str, Any]:
    """Both parties get one. The agent makes the WebRTC offer (impolite peer)."""
    message: dict[str, Any] = {
        "type": "call.started",
        "call": call_id,
        "kind": kind,
        "polite": role == "patient",
        "initiator": role == "agent",
        "peer": {"name": first_name(peer_name)},
        "peer_id": peer_id,  # kept by the hub, never sent to the browser
        "ice": ice_message(ice),
        "resumed": resumed,
    }
    if patient is not None:
        message["patient"] = patient
    return message


def call_ended(call_id: str, reason: str) -> dict[str, Any]:
    return {"type": "call.ended", "call": call_id, "reason": reason}
