"""The invitation e-mail: a plain text the desk writes itself, around a link it issued.

Nothing in it comes from the request but the recipient's address, which is checked
to be exactly one address (:func:`checked_address`): no display name, no list, no
line break, so no header can be added through it. The text carries the link, when
it stops working and at most the first name from the token's ``name`` claim: never
the reason for the call, the queue, the priority or a surname.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import Literal

MAX_ADDRESS = 254  # RFC 5321 §4.5.3.1.3 (a path of 256 octets less the brackets)
MAX_FIRST_NAME = 40

# The dot-atom form of RFC 5322 §3.4.1 (no quoted local parts, no comments) and a
# host name of at least two labels: what people type, and nothing a header could
# be smuggled in with.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TOP_LABEL = re.compile(r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# A first name: letters (any script) with inner hyphens or apostrophes ("Jean-Luc", "O'Neil").
_FIRST_NAME = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")

SUBJECTS = {
    "patient": "Your video consultation link",
    "agent": "Your agent console link",
    "guest": "Your link to join a video consultation",
}
# How a guest's part reads in the guest e-mail ("to join a video consultation as …").
GUEST_PARTS = {"interpreter": "the interpreter", "carer": "a carer or relative",
               "clinician": "a clinician"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Invitation:
    """What one e-mail says. Built from a token the desk verified, never from free text."""

    kind: Literal["patient", "agent", "guest"]
    link: str
    first_name: str
    expires_at: int
    single_use: bool = False
    party: str = ""  # a guest's part in the call: interpreter, carer, clinician


def checked_address(raw: object) -> str:
    """One e-mail address as typed, or :class:`ValueError` with a sentence for the admin."""
    if not isinstance(raw, str):
        raise ValueError("Enter the e-mail address as text.")
    address = raw.strip()
    if not address:
        raise ValueError("Enter an e-mail address.")
    if len(address) > MAX_ADDRESS:
        raise ValueError(f"An e-mail address has at most {MAX_ADDRESS} characters.")
    local, at, domain = address.rpartition("@")
    if not at or not _LOCAL.fullmatch(local) or len(local) > 64 or not _is_host(domain):
        raise ValueError("Enter one e-mail address, like name@example.org.")
    return address


def _is_host(domain: str) -> bool:
    labels = domain.split(".")
    return (
        len(labels) >= 2
        and all(_LABEL.fullmatch(label) for label in labels[:-1])
        and _TOP_LABEL.fullmatch(labels[-1]) is not None
    )


def first_name(name: str) -> str:
    """The first word of a name when it looks like a first name, else nothing: the
    greeting never carries a surname, a title or anything that is not a name."""
    words = name.split()
    if not words:
        return ""
    first = words[0]
    if len(first) > MAX_FIRST_NAME or not _FIRST_NAME.fullmatch(first):
        return ""
    return first


def _until(seconds: int) -> str:
    moment = datetime.fromtimestamp(seconds, UTC)
    return f"{moment.day} {moment:%B %Y}, {moment:%H:%M} UTC"


def body_of(invitation: Invitation) -> str:
    """The message's text (English)."""
    greeting = f"Hello {invitation.first_name}," if invitation.first_name else "Hello,"
    if invitation.kind == "guest":
        about = [
            "You have been asked to join a video consultation as "
            f"{GUEST_PARTS.get(invitation.party, 'a guest')}. Open the link on the phone,",
            "tablet or computer you will use: you can check your camera and microphone,",
            "then join the call. The link works once, and only while the call lasts.",
        ]
        warning = [
            "Please do not share this link or forward this e-mail: the call is private.",
        ]
    elif invitation.kind == "agent":
        about = [
            "Here is your link to the agent console of the video desk. Open it in the",
            "browser you take video calls in.",
        ]
        warning = [
            "Please do not share this link or forward this e-mail: anyone who has the",
            "link can sign in to the console as you.",
        ]
    else:
        about = [
            "Here is your link for a video consultation. Open it on the phone, tablet or",
            "computer you will use for the call: you can check your camera and microphone,",
            "then wait for someone from the desk to join you.",
        ]
        if invitation.single_use:
            about.append("The link is for one visit.")
        warning = [
            "Please do not share this link or forward this e-mail: the link is for you",
            "alone.",
        ]
    lines = [
        greeting,
        "",
        *about,
        "",
        invitation.link,
        "",
        f"The link works until {_until(invitation.expires_at)}.",
        "",
        *warning,
        "",
        "This message was sent automatically; replies are not read.",
    ]
    return "\n".join(lines) + "\n"


def compose(invitation: Invitation, *, sender: str, recipient: str) -> EmailMessage:
    """The whole message, headers included, for one recipient checked by
    :func:`checked_address`."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = SUBJECTS[invitation.kind]
    message["Date"] = format_datetime(datetime.now(UTC))
    # A domain of our own: make_msgid() without one asks the resolver for this host's name.
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    # RFC 3834: no out-of-office answers to the desk.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body_of(invitation))
    return message
