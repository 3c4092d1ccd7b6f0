"""Strict reading of JSON request bodies: types, lengths, no unknown fields."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from server.errors import BadRequest
from signaling.text import text_problem

MAX_BODY = 16 * 1024


async def json_object(request: web.Request, allowed: set[str]) -> dict[str, Any]:
    """The request body as a JSON object whose keys are all in ``allowed``."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise BadRequest("request body is too large", code="too_large")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise BadRequest("request body is too large", code="too_large")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"unknown field: {unknown[0][:40]}")
    return body


def text(body: dict[str, Any], name: str, *, limit: int, default: str = "") -> str:
    value = body.get(name, default)
    if not isinstance(value, str) or len(value) > limit:
        raise BadRequest(f"{name} must be text of at most {limit} characters")
    problem = text_problem(value)
    if problem is not None:
        raise BadRequest(f"{name} {problem}")
    return value.strip()


def integer(body: dict[str, Any], name: str, *, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"{name} must be a whole number between {low} and {high}")
    return value


def names(body: dict[str, Any], name: str, *, limit: int = 32) -> tuple[str, ...]:
    value = body.get(name, [])
    if not isinstance(value, list) or len(value) > limit:
        raise BadRequest(f"{name} must be a list of at most {limit} names")
    if not all(isinstance(item, str) and 0 < len(item) <= 32 for item in value):
        raise BadRequest(f"{name} must be a list of short names")
    return tuple(value)
