"""Typed refusals of the queue engine. Each leaves Redis exactly as it was."""

from __future__ import annotations

from server.core.errors import Conflict, DeskError, NotFound


class UnknownQueue(NotFound):
    code = "unknown_queue"


class UnknownPatient(NotFound):
    code = "unknown_patient"


class UnknownAgent(NotFound):
    code = "unknown_agent"


class UnknownCall(NotFound):
    code = "unknown_call"


class StaleOffer(Conflict):
    """The offer was accepted, declined, expired or replaced: this token is old."""

    code = "stale_offer"


class OfferExpired(Conflict):
    code = "offer_expired"


class NotAvailable(Conflict):
    code = "not_available"


class WrongState(Conflict):
    """The action does not fit the patient's or agent's current state."""

    code = "wrong_state"


_BY_CODE: dict[str, tuple[type[DeskError], str]] = {
    "unknown_patient": (UnknownPatient, "There is no such patient."),
    "unknown_agent": (UnknownAgent, "There is no such agent."),
    "unknown_call": (UnknownCall, "There is no such call."),
    "stale_offer": (StaleOffer, "This offer is no longer open."),
    "offer_expired": (OfferExpired, "This offer has expired."),
    "not_available": (NotAvailable, "The agent is not available."),
    "in_call": (WrongState, "Finish the call first."),
    "signed_out": (WrongState, "Sign in again first."),
    "wrap_up_pending": (WrongState, "Finish the wrap-up first."),
    "no_call": (WrongState, "There is no call in progress."),
    "not_in_wrap_up": (WrongState, "There is no wrap-up to finish."),
    "same_agent": (WrongState, "Choose another agent to transfer to."),
    "wrong_state": (WrongState, "That is not possible right now."),
    "not_queued": (WrongState, "The patient is not waiting or in a call."),
    "slot_passed": (WrongState, "That time has already passed; please choose another."),
    "call_over": (WrongState, "This call has ended, so its guest link no longer works."),
    "link_used": (WrongState, "Someone else has already joined with this link."),
    "call_full": (WrongState, "This call already has as many guests as it can take."),
}


def error_for(reply: str) -> Exception:
    """Turn a script's ``VD <code>`` error reply into its typed exception.

    Any other error reply is a bug or an outage, not a refusal, and surfaces as
    a RuntimeError.
    """
    if reply.startswith("VD "):
        code = reply[3:].strip()
        kind, message = _BY_CODE.get(code, (WrongState, "That is not possible right now."))
        return kind(message, code=code)
    return RuntimeError(f"queue script failed: {reply[:200]}")
