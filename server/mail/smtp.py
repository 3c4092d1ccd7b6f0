"""The mail server the desk hands its invitations to: the URL's rules, TLS, one send.

``VIDEODESK_SMTP_URL`` is ``smtps://[user:password@]host[:port]`` (TLS from the first
byte, port 465 by default) or ``smtp://[user:password@]host[:port]`` (STARTTLS, port 587
by default). User name and password are percent-decoded (``%40`` for ``@``, ``%3A`` for
``:``). The rules, so that a password and a patient's link never cross a network in
clear:

* ``smtp://`` upgrades with STARTTLS before anything else is said; a server that does
  not offer it gets no password and no message (the send fails, saying so);
* ``smtp://host?starttls=off`` opts out, for a relay that takes mail without signing
  in (a local Postfix), and only without a user name and password: a URL with both
  and ``starttls=off`` stops start-up;
* certificates are verified, host name included, against the system's trust store or,
  when ``VIDEODESK_SMTP_CA_FILE`` is set, against that file alone (a private CA).

:func:`deliver` blocks (stdlib :mod:`smtplib`) and runs in a worker thread; every
socket operation is bounded by its timeout. Its failures are a :class:`MailFailure`
with a code and a sentence for the admin that names no address and no secret.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from aiohttp import web

DEFAULT_PORTS = {"smtps": 465, "smtp": 587}


class MailFailure(Exception):
    """A send that did not happen: a stable ``code`` and a plain ``reason`` (no secrets)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MailServer:
    """Where and how to hand over mail, read from ``VIDEODESK_SMTP_URL``."""

    host: str
    port: int
    implicit_tls: bool
    starttls: bool = True
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> MailServer:
        """Parse and check the URL. A :class:`ValueError`'s text never repeats the URL
        (it may hold a password)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("expected smtp://[user:password@]host[:port] or smtps://…")
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError:
            raise ValueError("the port is not a number from 1 to 65535") from None
        if parts.path not in ("", "/") or parts.fragment:
            raise ValueError("expected no path after the host and port")
        starttls = _starttls_option(parts.query)
        username = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        if (username is None) != (password is None) or username == "" or password == "":
            raise ValueError("give both a user name and a password, or neither")
        if scheme == "smtps" and not starttls:
            raise ValueError("starttls=off is for smtp:// only (smtps:// is TLS from the start)")
        if not starttls and username is not None:
            raise ValueError("starttls=off would send the password in clear: remove one of them")
        return cls(
            host=parts.hostname,
            port=port,
            implicit_tls=scheme == "smtps",
            starttls=starttls,
            username=username,
            password=password,
        )

    @property
    def mode(self) -> str:
        """How mail is protected on the way to this server, in words for a log line."""
        if self.implicit_tls:
            return "TLS"
        return "STARTTLS" if self.starttls else "no encryption (starttls=off)"


def _starttls_option(query: str) -> bool:
    starttls = True
    try:
        options = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ValueError("the only option is ?starttls=off") from None
    for name, value in options:
        if name != "starttls" or value not in ("on", "off"):
            raise ValueError("the only option is ?starttls=off")
        starttls = value == "on"
    return starttls


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verifying TLS (certificate and host name): the system's CAs, or ``ca_file`` alone.

    Raises :class:`ssl.SSLError` when ``ca_file`` holds no certificate.
    """
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def helo_name(public_url: str) -> str:
    """What the desk calls itself in EHLO: its public host name, or an address literal
    (RFC 5321 §4.1.3). Never ``socket.getfqdn()``, which may wait on DNS."""
    host = urlsplit(public_url).hostname or "localhost"
    try:
        address = ip_address(host)
    except ValueError:
        return host
    return f"[IPv6:{address}]" if address.version == 6 else f"[{address}]"


def deliver(
    server: MailServer,
    message: EmailMessage,
    *,
    tls: ssl.SSLContext,
    helo: str,
    timeout: float,
) -> None:
    """Hand one message to the mail server (blocking). Raises :class:`MailFailure`."""
    try:
        _send(server, message, tls=tls, helo=helo, timeout=timeout)
    except MailFailure:
        raise
    except Exception as exc:  # every failure becomes a sentence; see failure_of
        raise failure_of(exc) from None


def _send(
    server: MailServer, message: EmailMessage, *, tls: ssl.SSLContext, helo: str, timeout: float
) -> None:
    client: smtplib.SMTP
    if server.implicit_tls:
        client = smtplib.SMTP_SSL(
            server.host, server.port, local_hostname=helo, timeout=timeout, context=tls
        )
    else:
        client = smtplib.SMTP(server.host, server.port, local_hostname=helo, timeout=timeout)
    with client:
        if server.starttls and not server.implicit_tls:
            client.ehlo()
            if not client.has_extn("starttls"):
                if server.username is not None:
                    raise MailFailure(
                        "no_starttls",
                        "The mail server does not offer STARTTLS, so the desk did not send "
                        "its password in clear and sent nothing.",
                    )
                raise MailFailure(
                    "no_starttls",
                    "The mail server does not offer STARTTLS, so the link was not sent in "
                    "clear. (A relay without encryption needs ?starttls=off in "
                    "VIDEODESK_SMTP_URL.)",
                )
            client.starttls(context=tls)
            client.ehlo()
        if server.username is not None and server.password is not None:
            client.login(server.username, server.password)
        client.send_message(message)


# In order: smtplib's errors are OSErrors too, and the more specific come first.
_FAILURES: tuple[tuple[type[BaseException], str, str], ...] = (
    (
        smtplib.SMTPAuthenticationError,
        "auth_refused",
        "The mail server did not accept the desk's user name and password.",
    ),
    (
        smtplib.SMTPNotSupportedError,
        "auth_unsupported",
        "The mail server does not let the desk sign in (no AUTH).",
    ),
    (smtplib.SMTPRecipientsRefused, "recipient_refused", "The mail server refused this address."),
    (
        smtplib.SMTPSenderRefused,
        "sender_refused",
        "The mail server refused the desk's sender address (VIDEODESK_SMTP_FROM).",
    ),
    (smtplib.SMTPServerDisconnected, "disconnected", "The mail server closed the connection."),
    (smtplib.SMTPException, "smtp_error", "The mail server did not take the message."),
    (
        ssl.SSLCertVerificationError,
        "certificate",
        "The mail server's certificate could not be verified (is VIDEODESK_SMTP_CA_FILE needed?).",
    ),
    (ssl.SSLError, "tls", "The encrypted connection to the mail server failed."),
    (TimeoutError, "timeout", "The mail server did not answer in time."),
    (OSError, "unreachable", "The mail server could not be reached."),
)


def failure_of(exc: BaseException) -> MailFailure:
    """A plain sentence for what went wrong. smtplib's own texts are not used: a refused
    recipient's error carries the address, and a server's reply may echo anything."""
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(
        exc.__context__, TimeoutError
    ):
        # smtplib turns a read that timed out into "Connection unexpectedly closed".
        exc = exc.__context__
    if isinstance(exc, smtplib.SMTPResponseException) and not isinstance(
        exc, smtplib.SMTPAuthenticationError | smtplib.SMTPSenderRefused
    ):
        return MailFailure(
            "refused", f"The mail server refused the message (SMTP code {exc.smtp_code})."
        )
    for kind, code, reason in _FAILURES:
        if isinstance(exc, kind):
            return MailFailure(code, reason)
    return MailFailure("error", "The e-mail could not be sent.")


# The app's key for this service (set at start-up by server/app.py).
MAIL_SERVER = web.AppKey("mail_server", MailServer)
