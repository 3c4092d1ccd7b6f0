"""Sending invitation e-mails in the background, with a status any process can read.

:meth:`Outbox.queue` writes the status ``queued`` and starts a task; the task hands
the message to the mail server in a worker thread and writes ``sent`` or ``failed``
(with a code and a sentence). The status lives in Redis for a day
(:data:`STATUS_TTL`), so the admin page's polls may reach any process. It holds no
address, no link and no name: the kind of link, times, and the failure's code and
sentence only. The message itself (with the address) exists only in this process's
memory while it is being sent.

At most :data:`CONCURRENT_SENDS` sends run at once per process; on shutdown the
outbox gives running sends :data:`STOP_GRACE` seconds, then cancels them and says
so in their status.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.auth.tokens import new_id
from server.core.audit import audit
from server.core.redis_keys import Keys
from server.mail.message import Invitation, compose
from server.mail.smtp import MailFailure, MailServer, deliver

log = logging.getLogger(__name__)

STATUS_TTL = 24 * 3600
SEND_TIMEOUT = 20.0  # seconds, for each socket operation of a send
CONCURRENT_SENDS = 4
STOP_GRACE = 5.0
_ID_PREFIX = "m_"

Transport = Callable[[EmailMessage], None]


def smtp_transport(
    server: MailServer, *, tls: ssl.SSLContext, helo: str, timeout: float = SEND_TIMEOUT
) -> Transport:
    """A blocking send to ``server`` (see :func:`server.mail.smtp.deliver`)."""

    def send(message: EmailMessage) -> None:
        deliver(server, message, tls=tls, helo=helo, timeout=timeout)

    return send


def is_mail_id(value: str) -> bool:
    return (
        value.startswith(_ID_PREFIX)
        and 8 <= len(value) <= 40
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in value)
    )


class Outbox:
    """The desk's invitation e-mails: queued, sending in the background, with a status."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        transport: Transport,
        *,
        sender: str,
        concurrency: int = CONCURRENT_SENDS,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._transport = transport
        self._sender = sender
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    async def queue(self, invitation: Invitation, recipient: str, *, jti: str, typ: str) -> str:
        """Compose the message and start sending it; the new e-mail's id."""
        message = compose(invitation, sender=self._sender, recipient=recipient)
        mail_id = new_id(_ID_PREFIX)
        # Written before the task starts (and not caught): no status, no send.
        await self._store(
            mail_id, {"status": "queued", "kind": invitation.kind, "queued_at": _now()}
        )
        task = asyncio.create_task(self._send(mail_id, message, jti, typ), name=f"mail {mail_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        log.info("invitation e-mail %s queued for token jti=%s", mail_id, jti)
        return mail_id

    async def status(self, mail_id: str) -> dict[str, Any] | None:
        """The status of an e-mail this desk queued in the last day, or None."""
        if not is_mail_id(mail_id):
            return None
        entry: dict[str, str] = await self._redis.hgetall(self._keys.mail(mail_id))  # type: ignore[assignment]
        if not entry:
            return None
        status: dict[str, Any] = {
            "id": mail_id,
            "status": entry.get("status", "queued"),
            "kind": entry.get("kind", ""),
        }
        for stamp in ("queued_at", "sent_at", "failed_at"):
            if entry.get(stamp, "").isdigit():
                status[stamp] = int(entry[stamp])
        for text in ("error", "reason"):
            if entry.get(text):
                status[text] = entry[text]
        return status

    async def close(self, grace: float = STOP_GRACE) -> None:
        """Give running sends ``grace`` seconds, then cancel the rest (and wait for them)."""
        pending = set(self._tasks)
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def _send(self, mail_id: str, message: EmailMessage, jti: str, typ: str) -> None:
        try:
            async with self._slots:
                await asyncio.to_thread(self._transport, message)
        except MailFailure as failure:
            await self._failed(mail_id, jti, typ, failure)
            return
        except asyncio.CancelledError:
            # The worker thread may still finish: say "may", not "was not".
            await self._failed(
                mail_id,
                jti,
                typ,
                MailFailure(
                    "stopped",
                    "The desk restarted while sending, so the e-mail may not have gone out. "
                    "Check with the recipient before sending it again.",
                ),
            )
            raise
        except Exception as exc:
            # No traceback: an exception's text may hold the address.
            log.error("invitation e-mail %s: unexpected %s", mail_id, type(exc).__name__)
            await self._failed(
                mail_id, jti, typ, MailFailure("error", "The e-mail could not be sent.")
            )
            return
        await self._write(mail_id, {"status": "sent", "sent_at": _now()})
        await audit(self._redis, self._keys, "invitation_mailed", mail=mail_id, jti=jti, typ=typ)
        log.info("invitation e-mail %s sent (token jti=%s)", mail_id, jti)

    async def _failed(self, mail_id: str, jti: str, typ: str, failure: MailFailure) -> None:
        await self._write(
            mail_id,
            {
                "status": "failed",
                "failed_at": _now(),
                "error": failure.code,
                "reason": failure.reason,
            },
        )
        await audit(
            self._redis,
            self._keys,
            "invitation_mail_failed",
            mail=mail_id,
            jti=jti,
            typ=typ,
            error=failure.code,
        )
        log.warning("invitation e-mail %s not sent: %s", mail_id, failure.code)

    async def _store(self, mail_id: str, fields: dict[str, str]) -> None:
        key = self._keys.mail(mail_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
            pipe.expire(key, STATUS_TTL)
            await pipe.execute()

    async def _write(self, mail_id: str, fields: dict[str, str]) -> None:
        try:
            await self._store(mail_id, fields)
        except RedisError as exc:
            # A status the admin cannot see is not worth failing the send for.
            log.warning(
                "invitation e-mail %s: status not written (%s)", mail_id, type(exc).__name__
            )


def _now() -> str:
    return str(int(time.time()))


# The app's key for this service (set at start-up by server/app.py).
OUTBOX = web.AppKey("outbox", Outbox)  # only when VIDEODESK_SMTP_URL is set
