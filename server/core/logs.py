"""Logging set-up for the entry point (and only there).

Our own log lines carry opaque ids (patient ``p_…``, agent ``a_…``, call, token
jti), never names, reasons, chat, SDP, addresses or tokens. Libraries are not so
careful: aiohttp's "Error handling request from <address>" carries the client's
address and, in its traceback, the first bytes of an oversized header (a bearer
token, say). So, as a second line of defence, :class:`LogFormatter` scrubs the
whole of every line it writes — the message with its arguments, the exception
text and the stack — of anything shaped like a JWT and of IPv4 and IPv6
addresses. Line breaks in a message are escaped (a name with CRLF cannot forge a
log line); a traceback keeps its lines, each indented so that none can pass for
a record of its own.
"""

from __future__ import annotations

import logging
import re
import sys
from ipaddress import ip_address

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
TOKEN_MARK = "[token]"
ADDRESS_MARK = "[address]"

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){0,2}")
# Candidates only; each is checked with ipaddress, so times (21:19:05) and versions
# (3.14.5) stay. IPv6 first: it may end in an IPv4 address (::ffff:10.0.0.1).
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.[0-9.]+)?(?:%\w+)?")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_CONTINUATION = "  "


def _address_or_text(match: re.Match[str]) -> str:
    text = match.group(0)
    try:
        ip_address(text.partition("%")[0])
    except ValueError:
        return text
    return ADDRESS_MARK


def redact(text: str) -> str:
    """Replace JWT-shaped strings and IP addresses (line breaks are left as they are)."""
    if "eyJ" in text:
        text = _JWT.sub(TOKEN_MARK, text)
    if ":" in text:
        text = _IPV6.sub(_address_or_text, text)
    if "." in text:
        text = _IPV4.sub(_address_or_text, text)
    return text


def scrub(text: str) -> str:
    """One log line: :func:`redact`, and CR/LF escaped."""
    return redact(text).replace("\r", "\\r").replace("\n", "\\n")


def scrub_block(text: str) -> str:
    """A traceback or stack: :func:`redact`, CR escaped, and every line after the first
    indented, so that nothing inside (an exception message with a line break in it)
    starts a line the way a record does."""
    lines = redact(text).replace("\r", "\\r").split("\n")
    return "\n".join([lines[0], *(_CONTINUATION + line for line in lines[1:])])


class LogFormatter(logging.Formatter):
    """A formatter that scrubs everything it writes (see the module's docstring).

    It scrubs the finished text rather than the record, so it also covers records
    it did not create and exception text another formatter cached on the record.
    """

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = scrub(self.formatMessage(record))
        if record.exc_info:
            # Not cached on the record: the traceback is formatted (and scrubbed) here.
            text += "\n" + scrub_block(self.formatException(record.exc_info))
        elif record.exc_text:
            text += "\n" + scrub_block(record.exc_text)
        if record.stack_info:
            text += "\n" + scrub_block(self.formatStack(record.stack_info))
        return text


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogFormatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    quiet_third_party_loggers()


def quiet_third_party_loggers() -> None:
    """Loggers of libraries that would write personal data: SDP and IP addresses
    (aiortc at DEBUG, aioice at INFO) and request lines (aiohttp's access log); and
    markdown-it, which logs every parsing step at DEBUG; aiosqlite and SQLAlchemy's
    engine, which log every statement with its parameters at DEBUG."""
    for name in ("aiortc", "aioice", "aiohttp.access", "markdown_it", "aiosqlite",
                 "sqlalchemy.engine"):  # fmt: skip
        logging.getLogger(name).setLevel(logging.WARNING)
