"""The REST API described in OpenAPI 3.1, served at ``/api/v1/openapi.json``.

tests/test_openapi.py validates this document and runs schemathesis against a
live desk with it (no 5xx, responses as documented).
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

import msgspec
from aiohttp import web

from server.api.body import (
    ANSWERS,
    REQUEST_BODIES,
    Body,
    MailRequest,
    SearchRequest,
    SessionRequest,
    TokenRequest,
    WebhookRequest,
)
from server.selfhelp.language import LANGUAGES

JSON = "application/json"


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _ok(description: str, schema: dict[str, Any], media: str = JSON) -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": schema}}}


ERRORS = {
    "400": _error("Bad request: the body or a parameter is not as documented"),
    "401": _error("No token, or a token that is bad, expired or revoked"),
    "403": _error("A valid token of another role"),
    "429": _error("Rate limited; see Retry-After"),
}
ADMIN: list[dict[str, list[str]]] = [{"bearer": []}]
RECORDS_DOWN = _error("The records database is not reachable now (or the server is restarting)")
WEBHOOK_ID = {"name": "id", "in": "path", "required": True,
              "schema": {"type": "string", "maxLength": 40}}  # fmt: skip
REF = "#/components/schemas/"
AS_ROLE = {
    "name": "as",
    "in": "query",
    "required": False,
    "description": "which role's session cookie (patient first when absent)",
    "schema": {"enum": ["patient", "agent"]},
}

HELP_LANGUAGE = {
    "name": "lang",
    "in": "query",
    "required": False,
    "description": "the reader's language (default en): each article in it, else in English",
    "schema": {"enum": list(LANGUAGES)},
}


def schemas() -> dict[str, Any]:
    """The document's schemas, each generated from its struct in :mod:`server.api.body`."""
    _refs, components = msgspec.json.schema_components(
        (*REQUEST_BODIES, *ANSWERS), ref_template=REF + "{name}"
    )
    # As JSON has it (a default of () is the list []), docstrings read as one paragraph
    # of Markdown (``x`` is `x`).
    plain: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(components))
    for schema in plain.values():
        if "description" in schema:
            schema["description"] = " ".join(schema["description"].split()).replace("``", "`")
    return plain


def _body(kind: type[Body]) -> dict[str, Any]:
    """A request body: the JSON of ``kind``."""
    return {"required": True, "content": {JSON: {"schema": {"$ref": REF + kind.__name__}}}}


def document() -> dict[str, Any]:
    """The OpenAPI document (built fresh; it is small)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "videodesk REST API",
            "version": metadata.version("videodesk"),  # pyproject.toml's
            "description": (
                "Admin and page API of videodesk. Admin endpoints take an admin token as "
                "`Authorization: Bearer <token>`. Every error is JSON "
                '`{"error": <code>, "message": <text>}`. The WebSocket protocol is in '
                "docs/protocol.md."
            ),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas(),
        },
        "paths": _paths(),
    }


def _paths() -> dict[str, Any]:
    status = {"type": "object", "properties": {"status": {"type": "string"}}}
    return {
        "/healthz": {"get": {"summary": "The process is running", "responses": {
            "200": _ok("Running", status)}}},
        "/readyz": {"get": {"summary": "The process can serve (Redis takes writes, not draining)",
                            "responses": {"200": _ok("Ready", status),
                                          "503": _error("Not ready: redis_unavailable, "
                                                        "redis_read_only or draining")}}},
        "/api/v1/session": {
            "post": {
                "summary": "Exchange a patient or agent token for a session cookie",
                "requestBody": _body(SessionRequest),
                "description": "Refused (403) from an Origin not on the allow-list; the body "
                               "must be application/json (415 otherwise): login CSRF.",
                "responses": {"201": _ok("Session created (Set-Cookie vd_patient or vd_agent)",
                                         {"$ref": REF + "Session"}), **ERRORS,
                              "409": _error("A single-use invite another browser has used"),
                              "415": _error("The body is not application/json")},
            },
            "get": {"summary": "The current session", "parameters": [AS_ROLE], "responses": {
                "200": _ok("The session", {"$ref": REF + "Session"}), **ERRORS}},
            "delete": {"summary": "End the session", "parameters": [AS_ROLE], "responses": {
                "200": _ok("Ended", {"type": "object"}), **ERRORS}},
        },
        "/api/v1/tokens": {
            "post": {
                "summary": "Issue an agent token, a patient invite, a desk link or an admin token",
                "security": ADMIN,
                "requestBody": _body(TokenRequest),
                "responses": {"201": _ok("Issued", {"$ref": REF + "TokenInfo"}), **ERRORS},
            },
            "get": {
                "summary": "Every unexpired token issued (without the tokens themselves)",
                "security": ADMIN,
                "responses": {"200": _ok("Tokens", {"$ref": REF + "TokenList"}), **ERRORS},
            },
        },
        "/api/v1/tokens/{jti}": {
            "delete": {
                "summary": "Revoke a token; its live sockets close at once",
                "security": ADMIN,
                "parameters": [{"name": "jti", "in": "path", "required": True,
                                "schema": {"type": "string", "maxLength": 64}}],
                "responses": {"200": _ok("Revoked", {"$ref": REF + "Revoked"}), **ERRORS,
                    "404": _error("The desk never issued a token with this id")},
            }
        },
        "/api/v1/mail": {"get": {
            "summary": "Whether this desk can send links by e-mail (VIDEODESK_SMTP_URL)",
            "security": ADMIN,
            "responses": {"200": _ok("Mail set-up", {"$ref": REF + "MailConfig"}), **ERRORS}}},
        "/api/v1/mail/invitations": {"post": {
            "summary": "Send an agent or patient link by e-mail, in the background",
            "security": ADMIN,
            "requestBody": _body(MailRequest),
            "responses": {"202": _ok("Queued; poll its status", {"$ref": REF + "MailStatus"}),
                          **ERRORS,
                          "409": _error("An invitation that has already been used"),
                          "503": _error("A request that could be sent, but e-mail is not "
                                        "set up (mail_not_configured), or the server is "
                                        "restarting")}}},
        "/api/v1/mail/invitations/{id}": {"get": {
            "summary": "Whether an invitation e-mail was sent (kept for a day)",
            "security": ADMIN,
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "string", "maxLength": 40}}],
            "responses": {"200": _ok("Its status", {"$ref": REF + "MailStatus"}), **ERRORS,
                          "404": _error("No such e-mail, or older than a day")}}},
        "/api/v1/dashboard": {"get": {"summary": "Live view per queue and per agent",
                                      "security": ADMIN, "responses": {
            "200": _ok("The dashboard", {"type": "object", "required": ["queues", "agents"]}),
            **ERRORS}}},
        "/api/v1/dashboard/history": {"get": {
            "summary": "Waiting counts per minute and the distribution of waits",
            "security": ADMIN,
            "parameters": [{"name": "hours", "in": "query", "required": False,
                            "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 48}}],
            "responses": {"200": _ok("History", {"type": "object",
                                                 "required": ["waiting", "waits"]}), **ERRORS,
                          "503": RECORDS_DOWN}}},
        "/api/v1/reports/{kind}": {"get": {
            "summary": "Sessions (one row per visit) or events for a date range",
            "security": ADMIN,
            "parameters": [
                {"name": "kind", "in": "path", "required": True,
                 "schema": {"enum": ["sessions", "events"]}},
                {"name": "from", "in": "query", "required": False,
                 "schema": {"type": "string", "format": "date"}},
                {"name": "to", "in": "query", "required": False,
                 "schema": {"type": "string", "format": "date"}},
                {"name": "format", "in": "query", "required": False,
                 "schema": {"enum": ["json", "csv"]}},
            ],
            "responses": {
                "200": {"description": "The report", "content": {
                    JSON: {"schema": {"type": "object"}},
                    "text/csv": {"schema": {"type": "string"}}}},
                **ERRORS,
                "503": RECORDS_DOWN,
            }}},
        "/api/v1/webhooks": {
            "get": {"summary": "Webhook endpoints, with their deliveries by status",
                    "security": ADMIN,
                    "responses": {"200": _ok("Endpoints", {"$ref": REF + "WebhookList"}),
                                  **ERRORS, "503": RECORDS_DOWN}},
            "post": {"summary": "Register an endpoint; the answer carries its signing secret, "
                                "shown this once",
                     "security": ADMIN,
                     "requestBody": _body(WebhookRequest),
                     "responses": {"201": _ok("Registered", {"$ref": REF + "WebhookInfo"}),
                                   **ERRORS, "503": RECORDS_DOWN}},
        },
        "/api/v1/records/visits/{id}/personal-data": {"delete": {
            "summary": "Erase the personal data of one visit's patient, everywhere (audited); "
                       "the visit and every count stay",
            "security": ADMIN,
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "string", "maxLength": 40}}],
            "responses": {"200": _ok("Erased", {"type": "object", "required": ["erased"]}),
                          **ERRORS, "404": _error("No such visit in the records"),
                          "503": RECORDS_DOWN}}},
        "/api/v1/webhooks/{id}": {"delete": {
            "summary": "Remove an endpoint (what it had pending is cancelled)",
            "security": ADMIN,
            "parameters": [WEBHOOK_ID],
            "responses": {"200": _ok("Removed", {"type": "object", "required": ["removed"]}),
                          **ERRORS, "404": _error("No such webhook"), "503": RECORDS_DOWN}}},
        "/api/v1/webhooks/{id}/deliveries": {"get": {
            "summary": "An endpoint's latest deliveries, each with its attempts",
            "security": ADMIN,
            "parameters": [WEBHOOK_ID],
            "responses": {"200": _ok("Deliveries", {"$ref": REF + "DeliveryList"}),
                          **ERRORS, "404": _error("No such webhook"), "503": RECORDS_DOWN}}},
        "/api/v1/help/articles": {"get": {
            "summary": "Self-help articles", "parameters": [HELP_LANGUAGE], "responses": {
                "200": _ok("Articles", {"$ref": REF + "ArticleList"}),
                "400": ERRORS["400"]}}},
        "/api/v1/help/articles/{slug}": {"get": {
            "summary": "One article, rendered to safe HTML",
            "parameters": [{"name": "slug", "in": "path", "required": True,
                            "schema": {"type": "string", "maxLength": 80}}, HELP_LANGUAGE],
            "responses": {"200": _ok("The article", {"$ref": REF + "Article"}),
                          "400": ERRORS["400"], "404": _error("No such article")}}},
        "/api/v1/help/search": {"post": {
            "summary": "Search the articles (BM25); the query is in the body, never the URL",
            "parameters": [HELP_LANGUAGE],
            "requestBody": _body(SearchRequest),
            "responses": {"200": _ok("Matching articles", {"$ref": REF + "ArticleList"}),
                "400": ERRORS["400"], "429": ERRORS["429"]}}},
        "/metrics": {"get": {"summary": "Prometheus metrics (text exposition format)",
                             "responses": {"200": {"description": "Metrics", "content": {
                                 "text/plain": {"schema": {"type": "string"}}}}}}},
    }  # fmt: skip


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document())


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/openapi.json", openapi)
