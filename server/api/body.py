"""The REST API's JSON bodies: one typed schema each, decoded once at the edge.

Every JSON request body is one of the :class:`Body` structs below. Each lists its fields
with their kinds and limits (``msgspec`` constraints, the same field kinds as the
WebSocket messages of :mod:`signaling.messages`) and says what it is (its docstring).
:func:`read` turns a request's body into one of these typed objects — handlers read
attributes, never dictionaries — or raises :class:`~server.core.errors.BadRequest`:

* ``too_large`` — more than 16 KiB;
* ``bad_request`` — not JSON, not an object, a field unknown, missing, or of the wrong
  kind, length, range or form (text follows :mod:`signaling.text`, single-line); the
  message names the field and says why in plain words;
* a body may give one of its fields its own code (:attr:`Body.CODES`: the recipient of
  an e-mail is ``invalid_address``, as when its form is wrong).

A body that breaks several rules is refused for the first refused field in the order the
struct declares them (unknown fields first); what the handler checks after decoding
(a queue the desk has, a link it issued) comes after every field's kind and limits.

Text arrives stripped of surrounding white space (the limits count what was sent). An
empty body is the empty object. Optional fields that only matter when present
(``queue``, ``token``, ``link``) are ``UNSET`` when left out.

The OpenAPI document (:mod:`server.api.openapi`) takes its request schemas from these
structs (``msgspec.json.schema_components``), and the schemas of the answers it
documents from the :class:`Answer` structs at the end: the schema is written once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, TypeVar, cast, get_args, get_origin

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from server.auth.tokens import MAX_TOKEN_TTL
from server.core.errors import BadRequest
from server.selfhelp.language import LANGUAGES
from signaling.messages import Checked, FirstName, QueueName, ShortText, Token, plain_words
from signaling.text import text_problem

__all__ = ["UNSET", "UnsetType"]  # re-exported for handlers (``field is UNSET``)

MAX_BODY = 16 * 1024

# Field kinds of the REST bodies (the others come from signaling.messages).
Label = Annotated[str, Meta(max_length=80)]
ShortName = Annotated[str, Meta(min_length=1, max_length=32)]  # a queue or a language
ShortNames = Annotated[tuple[ShortName, ...], Meta(max_length=32)]
Priority = Annotated[str, Meta(max_length=10, description="normal (also when empty) or urgent")]
Ttl = Annotated[int, Meta(ge=60, le=MAX_TOKEN_TTL, description="seconds (default: by type)")]
ValidFrom = Annotated[
    int, Meta(ge=0, le=2**40, description="not valid before (Unix time, seconds)")
]
Address = Annotated[str, Meta(max_length=254, description="one address, nothing else")]
Link = Annotated[str, Meta(max_length=5000, description="the link as the desk gave it")]


class Body(Checked, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A JSON request body: no unknown fields; every text field obeys the text rule of
    :mod:`signaling.text` (as on the socket) and is stripped of surrounding white space."""

    CODES: ClassVar[Mapping[str, str]] = {}  # a field's own refusal code (else bad_request)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, str) and value != value.strip():
                msgspec.structs.force_setattr(self, name, value.strip())


# -- request bodies ------------------------------------------------------------------


class SessionRequest(Body, frozen=True, kw_only=True):
    """The token of a patient or agent link, exchanged for a session cookie (left out:
    no token, a 401)."""

    token: Token = ""


TokenType = Literal["admin", "agent", "invite", "desk", "supervisor"]


class TokenRequest(Body, frozen=True, kw_only=True):
    """What to issue: an agent token, a patient invite (single use), a desk link or an
    admin token. Patient links name exactly one queue (``queue``, or ``queues`` with one
    name); agent tokens are for every queue when they name none; admin tokens name none.
    Queues and languages must be the desk's."""

    type: TokenType
    queues: ShortNames = ()
    queue: QueueName | UnsetType = UNSET  # one queue, instead of queues
    languages: ShortNames = ()
    name: FirstName = ""
    label: Label = ""
    reason: ShortText = ""
    priority: Priority = "normal"
    ttl: Ttl | None = None
    valid_from: ValidFrom | None = None


class MailRequest(Body, frozen=True, kw_only=True):
    """One of token and link: an agent link or a patient link (invitation or desk link)
    this desk issued. The desk writes the message itself."""

    CODES = {"to": "invalid_address"}
    to: Address
    token: Token | UnsetType = UNSET
    link: Link | UnsetType = UNSET


class SearchRequest(Body, frozen=True, kw_only=True):
    """A search of the self-help articles (in the body: a query may be personal)."""

    q: ShortText = ""


WebhookEvent = Literal[
    "visit.started", "visit.answered", "visit.ended", "survey.submitted",
    "callback.requested", "callback.due", "token.revoked",
]  # fmt: skip
WebhookUrl = Annotated[str, Meta(min_length=10, max_length=2000,
                                 description="an http:// or https:// URL")]  # fmt: skip


class WebhookRequest(Body, frozen=True, kw_only=True):
    """An endpoint to call, signed (Standard Webhooks), when any of these events happen."""

    url: WebhookUrl
    events: Annotated[tuple[WebhookEvent, ...], Meta(min_length=1, max_length=16)]


REQUEST_BODIES: tuple[type[Body], ...] = (
    SessionRequest, TokenRequest, MailRequest, SearchRequest, WebhookRequest,
)  # fmt: skip

B = TypeVar("B", bound=Body)
_DECODERS: dict[type[Body], msgspec.json.Decoder[Any]] = {
    kind: msgspec.json.Decoder(kind) for kind in REQUEST_BODIES
}


async def read(request: web.Request, kind: type[B]) -> B:
    """The request's body as a ``kind``, or :class:`BadRequest` saying what is wrong."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise BadRequest("request body is too large", code="too_large")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise BadRequest("request body is too large", code="too_large")
    return decode(raw or b"{}", kind)


def decode(raw: bytes, kind: type[B]) -> B:
    """``raw`` JSON as a ``kind`` (fast), or :class:`BadRequest` saying why not (slow)."""
    decoder = _DECODERS.get(kind) or msgspec.json.Decoder(kind)
    try:
        return cast(B, decoder.decode(raw))
    except (msgspec.ValidationError, msgspec.DecodeError):
        return _explain(raw, kind)


# -- why a body is refused (the slow path) ---------------------------------------------


def convert(data: Mapping[str, Any], kind: type[B]) -> B:
    """A body given as Python objects (the command line's), checked the same way."""
    try:
        return msgspec.convert(data, kind)
    except (msgspec.ValidationError, UnicodeEncodeError):
        return _explained(data, kind)


def _explain(raw: bytes, kind: type[B]) -> B:
    """Raise the BadRequest for a body the fast decoder refused — or return it, when only
    the fast decoder minded (JSON it does not read: a byte order mark, UTF-16, a lone
    surrogate escape in a list; the standard library reads them, as it always has)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return _explained(data, kind)


def _explained(data: Mapping[str, Any], kind: type[B]) -> B:
    """The first refused field of ``data`` (unknown ones first, then in the struct's
    order) as a BadRequest, or ``data`` as a ``kind`` when no field is refused."""
    unknown = sorted(set(data) - set(kind.__struct_fields__))
    if unknown:
        raise BadRequest(f"unknown field: {unknown[0][:40]}")
    for field in msgspec.structs.fields(kind):
        if field.name in data:
            problem = _problem(kind, field.name, field.type, data[field.name])
        else:
            problem = "is missing" if field.required else None
        if problem is not None:
            code = kind.CODES.get(field.name, BadRequest.code)
            space = "" if problem.startswith("[") else " "
            raise BadRequest(f"{field.name}{space}{problem}", code=code)
    try:
        return msgspec.convert(data, kind)
    except (msgspec.ValidationError, UnicodeEncodeError):  # pragma: no cover - each field passed
        raise BadRequest("request body is not as documented") from None


_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def _problem(kind: type[Body], name: str, of: Any, value: Any) -> str | None:
    """Why one field's value is refused (a phrase after its name), or None."""
    try:
        msgspec.convert(value, of)
    except msgspec.ValidationError as exc:
        parts = _AT.match(str(exc))
        what, path = (parts["what"], parts["path"] or "") if parts else (str(exc), "")
        return f"{path} {_plain(what, of)}" if path else _plain(what, of)
    except UnicodeEncodeError:  # a lone surrogate met a choice
        return "is not valid Unicode text"
    if isinstance(value, str):
        return text_problem(value, lines=name in kind.LINES)
    return None


def _plain(what: str, of: Any) -> str:
    if what.startswith("Invalid enum value") and get_origin(of) is Literal:
        return "must be one of " + ", ".join(str(choice) for choice in get_args(of))
    if match := re.match(r"^Expected `str` of length >= (\d+)$", what):
        return "must not be empty" if match[1] == "1" else f"shorter than {match[1]} characters"
    if match := re.match(r"^Expected `str` of length <= (\d+)$", what):
        return f"must be text of at most {match[1]} characters"
    if re.match(r"^Expected `int \| null`", what):
        return "must be a whole number"
    return plain_words(what)


# -- answers (documented; the handlers build them from what the services return) -------


class Answer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A JSON answer of the API (its schema is documented; more fields may come)."""


Unix = Annotated[int, Meta(description="Unix time, seconds")]


class Error(Answer, frozen=True, kw_only=True):
    """Every error: a stable code and a sentence for the person who sees it."""

    error: str
    message: str


TokenStatus = Annotated[
    Literal["active", "used", "expired", "revoked"],
    Meta(
        description="in the list: revoked, else used (an invite joined), else expired, else active"
    ),
]
UsedAt = Annotated[int | None, Meta(description="when an invite was used")]
IssuedToken = Annotated[str, Meta(description="only in the answer to POST")]
PageLink = Annotated[str, Meta(description="the page link, token in the fragment")]
FailureCode = Annotated[str, Meta(description="a stable code, when failed")]
FailureReason = Annotated[str, Meta(description="why it failed, in plain words")]


class TokenInfo(Answer, frozen=True, kw_only=True):
    """An issued token (in the list: without the token itself)."""

    jti: str
    role: Literal["admin", "agent", "patient", "guest", "supervisor"]
    type: TokenType | Literal["guest"]  # guest links are made in a call, not here
    subject: str
    label: str
    queues: list[str]
    issued_at: Unix
    expires_at: Unix
    revoked: bool | UnsetType = UNSET
    status: TokenStatus | UnsetType = UNSET
    used_at: UsedAt | UnsetType = UNSET
    revoked_at: int | None | UnsetType = UNSET
    token: IssuedToken | UnsetType = UNSET
    link: PageLink | UnsetType = UNSET


class TokenList(Answer, frozen=True, kw_only=True):
    """Every unexpired token issued."""

    tokens: list[TokenInfo]


class SessionInfo(Answer, frozen=True, kw_only=True):
    """A page's session, as the page may see it."""

    role: Literal["patient", "agent"] | UnsetType = UNSET
    name: str | UnsetType = UNSET
    queue: str | UnsetType = UNSET
    queues: list[str] | UnsetType = UNSET
    languages: list[str] | UnsetType = UNSET
    reason: str | UnsetType = UNSET
    expires_at: Unix | UnsetType = UNSET


class Session(Answer, frozen=True, kw_only=True):
    """The session of the cookie."""

    session: SessionInfo


class MailStatus(Answer, frozen=True, kw_only=True):
    """An invitation e-mail: queued, then sent or failed."""

    id: str
    status: Literal["queued", "sent", "failed"]
    kind: Literal["patient", "agent", "guest"] | UnsetType = UNSET
    queued_at: Unix | UnsetType = UNSET
    sent_at: Unix | UnsetType = UNSET
    failed_at: Unix | UnsetType = UNSET
    error: FailureCode | UnsetType = UNSET
    reason: FailureReason | UnsetType = UNSET


HelpLanguage = Literal[LANGUAGES]  # type: ignore[valid-type]


class Article(Answer, frozen=True, kw_only=True):
    """A self-help article (``html`` when read, ``score`` when found)."""

    slug: str
    title: str
    summary: str
    lang: Annotated[HelpLanguage, Meta(description="the language it is shown in")]
    html: str | UnsetType = UNSET
    score: float | UnsetType = UNSET


class ArticleList(Answer, frozen=True, kw_only=True):
    """Self-help articles."""

    articles: list[Article]


class Revoked(Answer, frozen=True, kw_only=True):
    """A revoked token (``known``: the desk had issued it)."""

    jti: str
    revoked: bool
    known: bool


class MailConfig(Answer, frozen=True, kw_only=True):
    """Whether this desk can send links by e-mail."""

    configured: bool


def builtins(answer: Answer) -> dict[str, Any]:
    """An answer as JSON has it (fields left out stay out), for ``web.json_response``."""
    result: dict[str, Any] = msgspec.to_builtins(answer)
    return result


class WebhookInfo(Answer, frozen=True, kw_only=True):
    """A registered webhook endpoint, with its deliveries counted by status."""

    id: str
    url: str
    events: list[str]
    created_at: Annotated[int, Meta(description="Unix time, milliseconds")]
    created_by: str
    deliveries: dict[str, int] | UnsetType = UNSET
    secret: Annotated[str, Meta(description="the signing secret: only in the answer to "
                                            "POST")] | UnsetType = UNSET  # fmt: skip


class WebhookList(Answer, frozen=True, kw_only=True):
    """Every webhook endpoint."""

    webhooks: list[WebhookInfo]


class DeliveryAttempt(Answer, frozen=True, kw_only=True):
    """One try: the HTTP status (none when no answer came), and what went wrong."""

    at: int
    status: int | None
    error: str
    duration_ms: int


class Delivery(Answer, frozen=True, kw_only=True):
    """One event sent (or to be sent) to an endpoint; ``id`` is its webhook-id header."""

    id: str
    type: str
    event_id: str
    status: Literal["pending", "delivered", "failed", "cancelled"]
    attempts: int
    created_at: int
    next_attempt_at: int
    last_status: int | None
    last_error: str
    attempts_made: list[DeliveryAttempt]


class DeliveryList(Answer, frozen=True, kw_only=True):
    """An endpoint's latest deliveries (at most 100), newest first."""

    deliveries: list[Delivery]


ANSWERS: tuple[type[Answer], ...] = (
    Error,
    WebhookInfo,
    WebhookList,
    Delivery,
    DeliveryList,
    TokenInfo,
    TokenList,
    Revoked,
    MailConfig,
    Session,
    MailStatus,
    Article,
    ArticleList,
)
