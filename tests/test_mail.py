"""Invitation e-mails, sent to real SMTP servers (aiosmtpd) on loopback.

The servers run for the whole module, each in aiosmtpd's own thread and loop: one
with STARTTLS and a password (the usual submission port), one with TLS from the start
(smtps), one with neither, and one whose certificate names another host. Their
certificates come from a CA made here, which the desk trusts through
``VIDEODESK_SMTP_CA_FILE``.
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import logging
import re
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pytest_aiohttp import AiohttpServer
from redis.asyncio import Redis

from server.app import create_app
from server.auth.tokens import TokenRequest
from server.core.redis_keys import Keys
from server.core.settings import Settings, SettingsError
from server.mail.message import Invitation, body_of, checked_address, compose, first_name
from server.mail.outbox import Outbox, smtp_transport
from server.mail.smtp import MailServer, tls_context
from signaling.client import AgentBot, ClientError, PatientBot
from tests.conftest import make_env
from tests.support.canary import PATIENT_REASON
from tests.support.desks import LiveDesk, start_desk
from tests.support.events import recorded_events
from tests.support.redis_server import free_port

USER = "desk@example.org"
PASSWORD = "p@ss:wo/rd%"
ENCODED = "desk%40example.org:p%40ss%3Awo%2Frd%25"  # the two above, percent-encoded
RECIPIENT = "ana.patient@example.org"
SETTLE_WITHIN = 20.0  # seconds for a send to be sent or failed


# -- the SMTP servers -------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    encrypted: bool

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain",))
        assert body is not None
        content: str = body.get_content()
        return content.replace("\r\n", "\n")  # as sent: CRLF line ends


@dataclass
class Inbox:
    """What the servers received, and every sign-in they were asked for."""

    messages: list[Received] = field(default_factory=list)
    sign_ins: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.sign_ins.clear()

    # aiosmtpd's handler hooks (run on the servers' thread)
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.endswith("@refused.example.org"):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        received = Received(
            mail_from=str(envelope.mail_from),
            rcpt_tos=list(envelope.rcpt_tos),
            data=bytes(envelope.original_content or b""),
            # STARTTLS sets session.ssl; with smtps the transport is TLS from the start.
            encrypted=session.ssl is not None
            or server.transport is not None
            and server.transport.get_extra_info("ssl_object") is not None,
        )
        with self.lock:
            self.messages.append(received)
        return "250 Message accepted"

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        """The authenticator: one user with one password."""
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        with self.lock:
            self.sign_ins.append((login, password))
        # handled=False: aiosmtpd answers a refusal with its 535.
        return AuthResult(success=(login, password) == (USER, PASSWORD), handled=False)


@dataclass
class MailServers:
    inbox: Inbox
    ca_file: Path
    starttls: int  # STARTTLS required, then a password
    smtps: int  # TLS from the first byte
    plain: int  # no TLS at all (so no AUTH either)
    wrong_name: int  # STARTTLS with a certificate for mail.example.org only


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_certificates(folder: Path) -> tuple[Path, dict[str, tuple[Path, Path]]]:
    """A CA, and two server certificates it signed: one for 127.0.0.1 and localhost,
    one for mail.example.org. The CA file and each (certificate, key) pair."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("videodesk test CA"))
        .issuer_name(_name("videodesk test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    names: dict[str, list[x509.GeneralName]] = {
        "loopback": [
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.DNSName("localhost"),
        ],
        "other": [x509.DNSName("mail.example.org")],
    }
    pairs = {}
    for label, alt_names in names.items():
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(f"videodesk test mail server ({label})"))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        cert_file, key_file = folder / f"{label}.pem", folder / f"{label}.key"
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        pairs[label] = (cert_file, key_file)
    return ca_file, pairs


def _server_tls(pair: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*pair)
    return context


@pytest.fixture(scope="module")
def mail_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailServers]:
    # aiosmtpd logs every line it reads (the message, with its link) and each recipient.
    quiet = [logging.getLogger(name) for name in ("mail.log", "mail.debug")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.WARNING)
    ca_file, pairs = make_certificates(tmp_path_factory.mktemp("mail-tls"))
    inbox = Inbox()
    loopback, other = _server_tls(pairs["loopback"]), _server_tls(pairs["other"])
    common: dict[str, Any] = {"hostname": "127.0.0.1", "ready_timeout": 10.0}
    controllers = {
        "starttls": Controller(
            inbox,
            port=free_port(),
            tls_context=loopback,
            require_starttls=True,
            auth_required=True,
            authenticator=inbox,
            **common,
        ),
        "smtps": Controller(inbox, port=free_port(), ssl_context=loopback, **common),
        "plain": Controller(inbox, port=free_port(), authenticator=inbox, **common),
        "wrong_name": Controller(
            inbox, port=free_port(), tls_context=other, require_starttls=True, **common
        ),
    }
    started: list[Controller] = []
    try:
        for controller in controllers.values():
            controller.start()
            started.append(controller)
        yield MailServers(
            inbox=inbox,
            ca_file=ca_file,
            **{name: controller.port for name, controller in controllers.items()},
        )
    finally:
        for controller in started:
            controller.stop()
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)


@pytest.fixture
def inbox(mail_servers: MailServers) -> Inbox:
    mail_servers.inbox.clear()
    return mail_servers.inbox


# -- desks and requests -----------------------------------------------------------------

OpenDesk = Callable[..., Awaitable[LiveDesk]]


@pytest.fixture
async def open_desk(
    aiohttp_server: AiohttpServer, redis_url: str, redis: Redis, tmp_path: Path
) -> OpenDesk:
    """Start a desk on the wiped test Redis with extra environment variables."""

    async def open_(**env: str) -> LiveDesk:
        return await start_desk(aiohttp_server, redis_url, tmp_path, **env)

    return open_


@pytest.fixture
async def starttls_desk(open_desk: OpenDesk, mail_servers: MailServers) -> LiveDesk:
    return await open_desk(
        VIDEODESK_SMTP_URL=f"smtp://{ENCODED}@127.0.0.1:{mail_servers.starttls}",
        VIDEODESK_SMTP_CA_FILE=str(mail_servers.ca_file),
        VIDEODESK_SMTP_FROM="desk@clinic.example.org",
    )


def admin(desk: LiveDesk) -> dict[str, str]:
    return {"Authorization": "Bearer " + desk.token("admin")}


async def issue(http: aiohttp.ClientSession, desk: LiveDesk, **body: Any) -> dict[str, Any]:
    async with http.post(desk.url + "/api/v1/tokens", json=body, headers=admin(desk)) as r:
        assert r.status == 201, await r.text()
        issued: dict[str, Any] = await r.json()
        return issued


async def send(
    http: aiohttp.ClientSession, desk: LiveDesk, expect: int = 202, **body: Any
) -> dict[str, Any]:
    url = desk.url + "/api/v1/mail/invitations"
    async with http.post(url, json=body, headers=admin(desk)) as response:
        answer: dict[str, Any] = await response.json()
        assert response.status == expect, answer
        if expect == 202:
            assert answer["status"] == "queued"
        return answer


async def settled(http: aiohttp.ClientSession, desk: LiveDesk, mail_id: str) -> dict[str, Any]:
    """The e-mail's status once it is no longer queued (bounded)."""
    url = f"{desk.url}/api/v1/mail/invitations/{mail_id}"
    deadline = time.monotonic() + SETTLE_WITHIN
    while True:
        async with http.get(url, headers=admin(desk)) as response:
            assert response.status == 200, await response.text()
            status: dict[str, Any] = await response.json()
        if status["status"] != "queued":
            return status
        assert time.monotonic() < deadline, f"still queued after {SETTLE_WITHIN} s"
        await asyncio.sleep(0.05)


async def send_and_settle(
    http: aiohttp.ClientSession, desk: LiveDesk, **body: Any
) -> dict[str, Any]:
    queued = await send(http, desk, **body)
    return await settled(http, desk, queued["id"])


def invite(desk: LiveDesk, **fields: Any) -> str:
    return desk.invite(**fields)


# -- the round trip ---------------------------------------------------------------------


async def test_an_invitation_arrives_with_its_link_and_nothing_private(
    starttls_desk: LiveDesk,
    inbox: Inbox,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    desk = starttls_desk
    issued = await issue(
        http,
        desk,
        type="invite",
        name="Ana Canarywing",
        queue="pharmacy",
        reason=PATIENT_REASON,
        priority="urgent",
    )
    status = await send_and_settle(http, desk, token=issued["token"], to=RECIPIENT)
    assert status["status"] == "sent", status
    assert status["kind"] == "patient"
    assert set(status) <= {"id", "status", "kind", "queued_at", "sent_at"}

    [received] = inbox.messages
    assert received.rcpt_tos == [RECIPIENT]
    assert received.mail_from == "desk@clinic.example.org"
    assert received.encrypted  # STARTTLS before anything else
    assert inbox.sign_ins == [(USER, PASSWORD)]  # percent-decoded from the URL
    message = received.message
    assert message["Subject"] == "Your video consultation link"
    assert message["To"] == RECIPIENT
    assert message["From"] == "desk@clinic.example.org"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain"
    text = received.text
    assert text.startswith("Hello Ana,\n")
    assert issued["link"] in text.split()
    assert "do not share this link" in text
    assert "The link works until" in text
    everything = received.data.decode("ascii", "replace") + text
    for private in ("Canarywing", PATIENT_REASON, "repeat prescription", "pharmacy", "urgent"):
        assert private not in everything

    # The link in the e-mail works: its token opens a patient session.
    [link] = [word for word in text.split() if word.startswith(desk.url)]
    token = link.partition("#token=")[2]
    async with http.post(desk.url + "/api/v1/session", json={"token": token}) as response:
        assert response.status == 201, await response.text()
        assert (await response.json())["session"]["role"] == "patient"

    # Audited, without the address.
    events = [
        e for e in await recorded_events(desk.desk.engine) if e["type"] == "invitation_mailed"
    ]
    assert [(e["mail"], e["jti"], e["typ"]) for e in events] == [
        (status["id"], issued["jti"], "invite")
    ]
    assert RECIPIENT not in repr(events)
    # No log line has the address, the token, the link or the name.
    logged = caplog.text
    for secret in (RECIPIENT, issued["token"], "eyJ", "#token=", "Canarywing"):
        assert secret not in logged


async def test_an_agent_link_is_sent_from_its_link_and_only_this_desks_links(
    starttls_desk: LiveDesk, inbox: Inbox, http: aiohttp.ClientSession
) -> None:
    desk = starttls_desk
    issued = await issue(http, desk, type="agent", name="Sam Okafor", queues=["billing"])
    status = await send_and_settle(http, desk, link=issued["link"], to="sam@example.org")
    assert status["status"] == "sent", status
    assert status["kind"] == "agent"
    [received] = inbox.messages
    assert received.message["Subject"] == "Your agent console link"
    assert received.text.startswith("Hello Sam,\n")
    assert "Okafor" not in received.text
    assert issued["link"] in received.text.split()
    assert "/agent#token=" in issued["link"]
    # A link that leads elsewhere, with this desk's token in it, is refused.
    elsewhere = issued["link"].replace("127.0.0.1", "desk.example.evil.com")
    answer = await send(http, desk, 400, link=elsewhere, to="sam@example.org")
    assert answer["error"] == "link_not_valid"
    assert len(inbox.messages) == 1


@pytest.mark.parametrize(
    "address",
    [
        "ana@example.org\r\nBcc: eve@example.org",
        "ana@example.org\nBcc: eve@example.org",
        "ana@example.org\r\n\r\nAnother body",
        "ana@example.org, eve@example.org",
        "ana@example.org;eve@example.org",
        "Ana <ana@example.org>",
        '"ana"@example.org',
        "ana@example.org (Ana)",
        "ana@@example.org",
        "ana@localhost",
        "ana@exa mple.org",
        "ana.@example.org",
        "a" * 250 + "@example.org",
        "ana",
        "",
        5,
        None,
    ],
)
async def test_the_recipient_is_one_address_and_nothing_else(
    starttls_desk: LiveDesk, inbox: Inbox, http: aiohttp.ClientSession, address: object
) -> None:
    token = invite(starttls_desk, name="Ana")
    answer = await send(http, starttls_desk, 400, token=token, to=address)
    assert answer["error"] == "invalid_address"
    assert set(answer) == {"error", "message"}
    assert inbox.messages == []


async def test_a_name_with_line_breaks_adds_no_header(
    starttls_desk: LiveDesk, inbox: Inbox, http: aiohttp.ClientSession
) -> None:
    # A name the REST API would refuse, minted directly: the e-mail still greets "Ana" only.
    token = invite(starttls_desk, name="Ana\r\nBcc: eve@example.org")
    status = await send_and_settle(http, starttls_desk, token=token, to=RECIPIENT)
    assert status["status"] == "sent", status
    [received] = inbox.messages
    assert received.rcpt_tos == [RECIPIENT]
    assert received.message["Bcc"] is None
    assert "eve@example.org" not in received.data.decode("ascii", "replace")
    assert received.text.startswith("Hello Ana,\n")


async def test_only_links_this_desk_issued_and_still_valid_are_sent(
    starttls_desk: LiveDesk, inbox: Inbox, http: aiohttp.ClientSession
) -> None:
    desk = starttls_desk
    revoked = await desk.tokens.issue(TokenRequest(typ="invite", queues=("appointments",)))
    await desk.tokens.revoke(revoked.claims.jti)
    expired = desk.tokens.mint(
        TokenRequest(typ="invite", queues=("appointments",), ttl=60), now=int(time.time()) - 600
    )
    used = await desk.tokens.issue(TokenRequest(typ="invite", queues=("appointments",)))
    assert await desk.tokens.consume_invite(used.claims.jti, used.claims.exp, "p_someone")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"token": desk.token("admin")}, 400, "link_not_valid"),
        ({"token": "not-a-token"}, 400, "link_not_valid"),
        ({"token": ""}, 400, "link_not_valid"),
        ({"link": desk.url + "/p"}, 400, "link_not_valid"),
        ({"token": revoked.token}, 400, "link_revoked"),
        ({"token": expired.token}, 400, "link_expired"),
        ({"token": used.token}, 409, "invite_used"),
        ({}, 400, "bad_request"),
        ({"token": invite(desk), "link": desk.url + "/p"}, 400, "bad_request"),
        ({"token": invite(desk), "subject": "Free money"}, 400, "bad_request"),
        ({"token": invite(desk), "body": "Click here"}, 400, "bad_request"),
    ]
    for body, status, code in cases:
        answer = await send(http, desk, status, to=RECIPIENT, **body)
        assert answer["error"] == code, (body, answer)
    assert inbox.messages == []


async def test_only_admins_may_send_or_read(
    starttls_desk: LiveDesk, http: aiohttp.ClientSession
) -> None:
    desk = starttls_desk
    body = {"token": invite(desk), "to": RECIPIENT}
    agent = {"Authorization": "Bearer " + desk.agent_token()}
    patient = {"Authorization": "Bearer " + invite(desk)}
    for method, path in (
        ("GET", "/api/v1/mail"),
        ("POST", "/api/v1/mail/invitations"),
        ("GET", "/api/v1/mail/invitations/m_abcdefghijklmnop"),
    ):
        for headers, status in (({}, 401), (agent, 403), (patient, 403)):
            async with http.request(method, desk.url + path, json=body, headers=headers) as r:
                assert r.status == status, (method, path, headers)
                assert (await r.json())["error"] in ("unauthorized", "forbidden")


async def test_without_a_mail_server_the_desk_says_so(
    open_desk: OpenDesk, http: aiohttp.ClientSession
) -> None:
    desk = await open_desk()
    async with http.get(desk.url + "/api/v1/mail", headers=admin(desk)) as response:
        assert response.status == 200
        assert await response.json() == {"configured": False}
    answer = await send(http, desk, 503, token=invite(desk), to=RECIPIENT)
    assert answer["error"] == "mail_not_configured"
    assert "VIDEODESK_SMTP_URL" in answer["message"]
    url = desk.url + "/api/v1/mail/invitations/m_abcdefghijklmnop"
    async with http.get(url, headers=admin(desk)) as response:
        assert response.status == 404


async def test_a_status_nobody_queued_is_not_found(
    starttls_desk: LiveDesk, http: aiohttp.ClientSession
) -> None:
    async with http.get(starttls_desk.url + "/api/v1/mail", headers=admin(starttls_desk)) as r:
        assert await r.json() == {"configured": True}
    for mail_id in ("m_abcdefghijklmnop", "x", "m_" + "a" * 60, "m_a.b"):
        url = f"{starttls_desk.url}/api/v1/mail/invitations/{mail_id}"
        async with http.get(url, headers=admin(starttls_desk)) as response:
            assert response.status == 404
            assert (await response.json())["error"] == "not_found"


async def test_sends_to_one_address_are_limited(
    open_desk: OpenDesk, mail_servers: MailServers, inbox: Inbox, http: aiohttp.ClientSession
) -> None:
    desk = await open_desk(VIDEODESK_SMTP_URL=f"smtp://127.0.0.1:{mail_servers.plain}?starttls=off")
    for _ in range(5):
        await send(http, desk, token=invite(desk), to=RECIPIENT)
    url = desk.url + "/api/v1/mail/invitations"
    body = {"token": invite(desk), "to": RECIPIENT.upper()}  # the same mailbox
    async with http.post(url, json=body, headers=admin(desk)) as response:
        assert response.status == 429
        assert int(response.headers["Retry-After"]) > 0
        assert "address" in (await response.json())["message"]
    await send(http, desk, token=invite(desk), to="someone.else@example.org")


# -- transport security -----------------------------------------------------------------


async def test_a_password_is_never_sent_without_starttls(
    open_desk: OpenDesk, mail_servers: MailServers, inbox: Inbox, http: aiohttp.ClientSession
) -> None:
    desk = await open_desk(VIDEODESK_SMTP_URL=f"smtp://{ENCODED}@127.0.0.1:{mail_servers.plain}")
    status = await send_and_settle(http, desk, token=invite(desk), to=RECIPIENT)
    assert status["status"] == "failed"
    assert status["error"] == "no_starttls"
    assert "STARTTLS" in status["reason"] and "password" in status["reason"]
    assert PASSWORD not in status["reason"] and USER not in status["reason"]
    assert inbox.sign_ins == []
    assert inbox.messages == []


async def test_a_relay_without_starttls_takes_mail_only_when_the_url_says_so(
    open_desk: OpenDesk, mail_servers: MailServers, inbox: Inbox, http: aiohttp.ClientSession
) -> None:
    plain = f"smtp://127.0.0.1:{mail_servers.plain}"
    refused = await open_desk(VIDEODESK_SMTP_URL=plain)
    status = await send_and_settle(http, refused, token=invite(refused), to=RECIPIENT)
    assert (status["status"], status["error"]) == ("failed", "no_starttls")
    assert "starttls=off" in status["reason"]
    assert inbox.messages == []
    allowed = await open_desk(VIDEODESK_SMTP_URL=plain + "?starttls=off")
    status = await send_and_settle(http, allowed, token=invite(allowed), to=RECIPIENT)
    assert status["status"] == "sent", status
    [received] = inbox.messages
    assert not received.encrypted


async def test_smtps_is_tls_from_the_first_byte(
    open_desk: OpenDesk, mail_servers: MailServers, inbox: Inbox, http: aiohttp.ClientSession
) -> None:
    desk = await open_desk(
        VIDEODESK_SMTP_URL=f"smtps://127.0.0.1:{mail_servers.smtps}",
        VIDEODESK_SMTP_CA_FILE=str(mail_servers.ca_file),
    )
    status = await send_and_settle(http, desk, token=invite(desk, name="Ana"), to=RECIPIENT)
    assert status["status"] == "sent", status
    [received] = inbox.messages
    assert received.encrypted
    assert received.text.startswith("Hello Ana,\n")


@pytest.mark.parametrize(
    ("scheme", "server", "trusted"),
    [
        ("smtp", "starttls", False),  # the system's CAs do not know the test CA
        ("smtps", "smtps", False),
        ("smtp", "wrong_name", True),  # a trusted certificate for another host
    ],
)
async def test_certificates_are_verified(
    open_desk: OpenDesk,
    mail_servers: MailServers,
    inbox: Inbox,
    http: aiohttp.ClientSession,
    scheme: str,
    server: str,
    trusted: bool,
) -> None:
    port = getattr(mail_servers, server)
    env = {"VIDEODESK_SMTP_URL": f"{scheme}://{ENCODED}@127.0.0.1:{port}"}
    if trusted:
        env["VIDEODESK_SMTP_CA_FILE"] = str(mail_servers.ca_file)
    desk = await open_desk(**env)
    status = await send_and_settle(http, desk, token=invite(desk), to=RECIPIENT)
    assert (status["status"], status["error"]) == ("failed", "certificate"), status
    assert "certificate" in status["reason"]
    assert inbox.sign_ins == []
    assert inbox.messages == []


# -- failures, in plain words -----------------------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "to", "error", "words"),
    [
        ("desk%40example.org:wrong", RECIPIENT, "auth_refused", "user name and password"),
        (ENCODED, "nobody@refused.example.org", "recipient_refused", "refused this address"),
    ],
)
async def test_a_refusing_server_is_explained(
    open_desk: OpenDesk,
    mail_servers: MailServers,
    inbox: Inbox,
    http: aiohttp.ClientSession,
    credentials: str,
    to: str,
    error: str,
    words: str,
) -> None:
    desk = await open_desk(
        VIDEODESK_SMTP_URL=f"smtp://{credentials}@127.0.0.1:{mail_servers.starttls}",
        VIDEODESK_SMTP_CA_FILE=str(mail_servers.ca_file),
    )
    status = await send_and_settle(http, desk, token=invite(desk), to=to)
    assert (status["status"], status["error"]) == ("failed", error), status
    assert words in status["reason"]
    assert to not in status["reason"] and "wrong" not in status["reason"]
    assert inbox.messages == []
    events = [
        e for e in await recorded_events(desk.desk.engine) if e["type"] == "invitation_mail_failed"
    ]
    assert [e["error"] for e in events] == [error]


async def test_an_unreachable_server_is_explained(
    open_desk: OpenDesk, http: aiohttp.ClientSession
) -> None:
    desk = await open_desk(VIDEODESK_SMTP_URL=f"smtps://127.0.0.1:{free_port()}")
    status = await send_and_settle(http, desk, token=invite(desk), to=RECIPIENT)
    assert (status["status"], status["error"]) == ("failed", "unreachable"), status
    assert status["reason"] == "The mail server could not be reached."


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never says a word (closed afterwards)."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in writers:
            writer.close()  # the worker thread's read ends at once
        server.close()
        await server.wait_closed()


def patient_invitation() -> Invitation:
    return Invitation(
        kind="patient", link="http://127.0.0.1/p#token=x", first_name="", expires_at=0
    )


async def wait_settled(outbox: Outbox, mail_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + SETTLE_WITHIN
    while True:
        status = await outbox.status(mail_id)
        assert status is not None
        if status["status"] != "queued":
            return status
        assert time.monotonic() < deadline, f"still queued after {SETTLE_WITHIN} s"
        await asyncio.sleep(0.05)


async def test_a_server_that_never_answers_times_out(redis: Redis, silent_server: int) -> None:
    server = MailServer.from_url(f"smtp://127.0.0.1:{silent_server}")
    transport = smtp_transport(server, tls=tls_context(None), helo="desk.test", timeout=0.5)
    outbox = Outbox(redis, Keys("test"), transport, sender="desk@example.org")
    mail_id = await outbox.queue(patient_invitation(), RECIPIENT, jti="j1", typ="invite")
    status = await wait_settled(outbox, mail_id)
    assert (status["status"], status["error"]) == ("failed", "timeout"), status
    assert status["reason"] == "The mail server did not answer in time."


async def test_a_send_cut_short_by_shutdown_says_it_may_not_have_gone(
    redis: Redis, silent_server: int
) -> None:
    server = MailServer.from_url(f"smtp://127.0.0.1:{silent_server}")
    transport = smtp_transport(server, tls=tls_context(None), helo="desk.test", timeout=30)
    outbox = Outbox(redis, Keys("test"), transport, sender="desk@example.org")
    mail_id = await outbox.queue(patient_invitation(), RECIPIENT, jti="j1", typ="invite")
    await outbox.close(grace=0.2)
    status = await outbox.status(mail_id)
    assert status is not None
    assert (status["status"], status["error"]) == ("failed", "stopped"), status
    assert "may not have gone out" in status["reason"]


async def test_the_desk_waits_for_its_sends_when_it_stops(
    open_desk: OpenDesk,
    mail_servers: MailServers,
    inbox: Inbox,
    http: aiohttp.ClientSession,
    redis: Redis,
) -> None:
    desk = await open_desk(VIDEODESK_SMTP_URL=f"smtp://127.0.0.1:{mail_servers.plain}?starttls=off")
    queued = await send(http, desk, token=invite(desk), to=RECIPIENT)
    await asyncio.wait_for(desk.server.close(), SETTLE_WITHIN)
    assert [m.rcpt_tos for m in inbox.messages] == [[RECIPIENT]]
    assert await redis.hget(Keys("test").mail(queued["id"]), "status") == "sent"


# -- the URL's rules and the message's text (pure) --------------------------------------


def test_the_url_rules() -> None:
    submission = MailServer.from_url(f"smtp://{ENCODED}@mail.example.org")
    assert (submission.host, submission.port) == ("mail.example.org", 587)
    assert (submission.implicit_tls, submission.starttls) == (False, True)
    assert (submission.username, submission.password) == (USER, PASSWORD)
    assert PASSWORD not in repr(submission)
    tls = MailServer.from_url("smtps://mail.example.org")
    assert (tls.port, tls.implicit_tls, tls.username) == (465, True, None)
    relay = MailServer.from_url("smtp://127.0.0.1:25?starttls=off")
    assert (relay.port, relay.starttls) == (25, False)
    assert MailServer.from_url("SMTP://[::1]:2525/").host == "::1"


@pytest.mark.parametrize(
    "url",
    [
        f"smtp://{ENCODED}@mail.example.org?starttls=off",  # a password in clear
        "smtps://mail.example.org?starttls=off",
        "smtp://mail.example.org?tls=off",
        "smtp://mail.example.org?starttls=maybe",
        "smtp://mail.example.org?starttls",
        "smtp://user@mail.example.org",
        "smtp://user:@mail.example.org",
        "smtp://:secret-word@mail.example.org",
        "smtp://mail.example.org/inbox",
        "smtp://mail.example.org:99999",
        "http://mail.example.org",
        "smtp://",
    ],
)
def test_urls_the_desk_refuses_and_never_repeats(url: str) -> None:
    with pytest.raises(ValueError) as refused:
        MailServer.from_url(url)
    assert "secret-word" not in str(refused.value) and PASSWORD not in str(refused.value)


def test_a_bad_url_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    url = f"smtp://{ENCODED}@mail.example.org?starttls=off"
    settings = Settings.from_env(make_env(None, tmp_path, VIDEODESK_SMTP_URL=url))
    with pytest.raises(SettingsError) as refused:
        create_app(settings)
    assert refused.value.variable == "VIDEODESK_SMTP_URL"
    assert "in clear" in str(refused.value)
    with pytest.raises(SettingsError) as missing:
        Settings.from_env(make_env(None, tmp_path, VIDEODESK_SMTP_CA_FILE=str(tmp_path / "no")))
    assert missing.value.variable == "VIDEODESK_SMTP_CA_FILE"


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("Ana Canarywing", "Ana"),
        ("Jean-Luc Picard", "Jean-Luc"),
        ("O'Neil", "O'Neil"),
        ("José María", "José"),
        ("  Ana  ", "Ana"),
        ("", ""),
        ("Dr. Smith", ""),
        ("http://evil.example.com", ""),
        ("<b>Ana</b>", ""),
        ("Ana2", ""),
        ("A" * 41, ""),
    ],
)
def test_the_greeting_has_a_first_name_or_none(name: str, first: str) -> None:
    assert first_name(name) == first


def test_addresses_are_kept_as_typed() -> None:
    assert checked_address("  Ana.Patient+video@Example.org ") == "Ana.Patient+video@Example.org"
    with pytest.raises(ValueError):
        checked_address("ana@example.org\u2028Bcc: eve@example.org")


def test_the_message_says_what_the_link_is_for_and_when_it_ends() -> None:
    expires = int(datetime.datetime(2031, 3, 14, 15, 9, tzinfo=datetime.UTC).timestamp())
    link = "https://desk.example.org/p#token=" + "x" * 300
    patient = body_of(
        Invitation(kind="patient", link=link, first_name="", expires_at=expires, single_use=True)
    )
    assert patient.startswith("Hello,\n")
    assert f"\n{link}\n" in patient
    assert "until 14 March 2031, 15:09 UTC" in patient
    assert "for one visit" in patient and "do not share" in patient
    agent = body_of(Invitation(kind="agent", link=link, first_name="Sam", expires_at=expires))
    assert agent.startswith("Hello Sam,\n") and "agent console" in agent
    message = compose(
        Invitation(kind="agent", link=link, first_name="Sam", expires_at=expires),
        sender="desk@clinic.example.org",
        recipient=RECIPIENT,
    )
    raw = message.as_bytes()
    assert b"\r\nMessage-ID: <" in raw and b"@clinic.example.org>" in raw
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert re.fullmatch(r"[^\r\n]+", str(parsed["Subject"]))
    assert link in parsed.get_content().split()


async def test_an_agent_sends_a_guest_link_by_e_mail(starttls_desk: LiveDesk, inbox: Inbox) -> None:
    """From the call view: the link goes to the interpreter in the desk's own words,
    and nothing of the patient goes with it."""
    desk = starttls_desk
    patient = PatientBot(desk.url, desk.invite(name="Ana"), media=False)
    agent = AgentBot(desk.url, desk.agent_token(), media=False)
    try:
        await patient.connect()
        await patient.join(name="Ana", reason=PATIENT_REASON)
        await agent.connect()
        await agent.available()
        await agent.accept(await agent.next("agent.offer"))
        await patient.next("call.started")
        with pytest.raises(ClientError) as bad:
            await agent.request("call.invite", "never", party="interpreter", email="not an address")
        assert bad.value.code == "invalid_address"
        link = await agent.request(
            "call.invite", "call.invite_link", party="interpreter", email="lucia@example.org"
        )
        assert link["mailed"] is True
        deadline = asyncio.get_running_loop().time() + SETTLE_WITHIN
        while not inbox.messages:
            assert asyncio.get_running_loop().time() < deadline, "no e-mail arrived"
            await asyncio.sleep(0.05)
        [received] = inbox.messages
        assert received.rcpt_tos == ["lucia@example.org"]
        assert received.message["Subject"] == "Your link to join a video consultation"
        assert link["link"] in received.text.split()
        assert "as the interpreter" in received.text
        assert "Ana" not in received.text and PATIENT_REASON not in received.text
    finally:
        await patient.close()
        await agent.close()
