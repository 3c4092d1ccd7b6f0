"""Logging set-up for the entry point (and only there).

Our own log lines carry opaque ids (patient ``p_…``, agent ``a_…``, call, token
jti), never names, reasons, chat, SDP, addresses or tokens. As a second line of
defence, every record is scrubbed of anything shaped like a JWT and of CR/LF in
its arguments (so a name with a newline cannot forge a log line).
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){0,2}")
_default_factory = logging.getLogRecordFactory()


def scrub(text: str) -> str:
    """Replace JWT-shaped strings and line breaks."""
    return _JWT.sub("[token]", text).replace("\r", "\\r").replace("\n", "\\n")


def _scrubbing_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _default_factory(*args, **kwargs)
    if record.args:
        record.args = tuple(scrub(a) if isinstance(a, str) else a for a in _as_tuple(record.args))
    if isinstance(record.msg, str) and "eyJ" in record.msg:
        record.msg = _JWT.sub("[token]", record.msg)
    return record


def _as_tuple(args: Any) -> tuple[Any, ...]:
    return args if isinstance(args, tuple) else (args,)


def configure_logging(level: str) -> None:
    logging.setLogRecordFactory(_scrubbing_factory)
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    quiet_third_party_loggers()


def quiet_third_party_loggers() -> None:
    """Loggers of libraries that would write personal data: SDP and IP addresses
    (aiortc at DEBUG, aioice at INFO) and request lines (aiohttp's access log); and
    markdown-it, which logs every parsing step at DEBUG."""
    for name in ("aiortc", "aioice", "aiohttp.access", "markdown_it"):
        logging.getLogger(name).setLevel(logging.WARNING)
