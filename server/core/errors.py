"""The desk's exceptions. Each carries a stable code, an HTTP status and a plain message.

At the edge they become ``{"error": code, "message": text}`` with the status
(HTTP) or an ``error`` message with the same code (WebSocket). Messages are
written for the person who sees them and never contain personal data.
"""

from __future__ import annotations


class DeskError(Exception):
    """Base of every error the desk reports to a client."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequest(DeskError):
    code = "bad_request"
    status = 400


class Unauthorized(DeskError):
    """No credentials, or credentials that do not verify (bad, expired, revoked token)."""

    code = "unauthorized"
    status = 401


class Forbidden(DeskError):
    """Valid credentials that do not allow this action (wrong role or scope)."""

    code = "forbidden"
    status = 403


class NotFound(DeskError):
    code = "not_found"
    status = 404


class Conflict(DeskError):
    """The action does not fit the current state (stale offer, invite already used, ...)."""

    code = "conflict"
    status = 409


class UnsupportedMediaType(DeskError):
    code = "unsupported_media_type"
    status = 415


class TooManyRequests(DeskError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DeskError):
    """A dependency (Redis) does not answer, or the process is draining: try again shortly."""

    code = "unavailable"
    status = 503

    def __init__(self, message: str, *, code: str | None = None, retry_after: int = 5) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
