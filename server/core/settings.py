"""Settings: one frozen dataclass built from the environment.

Every variable is read in :meth:`Settings.from_env`; a bad value raises
:class:`SettingsError` naming the variable, and the command line turns that into
a one-line message and exit status 2. The README's configuration table lists the
same variables.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import unquote, urlsplit

from server.core.hours import OpeningHours, Period, parse_periods, timezone_name
from server.core.redis_cluster import parse_cluster_url

T = TypeVar("T")
IPNetwork = IPv4Network | IPv6Network
LOOPBACK_NETWORKS: tuple[IPNetwork, ...] = (ip_network("127.0.0.0/8"), ip_network("::1/128"))

_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}$")
_ICE_URL_RE = re.compile(r"(stun|stuns|turn|turns):[A-Za-z0-9.\-\[\]:]+(\?transport=(udp|tcp))?")


class SettingsError(ValueError):
    """A setting has a value the desk cannot start with."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One queue patients wait in: its languages and its service-level target."""

    name: str
    languages: tuple[str, ...]
    target_seconds: int


DEFAULT_QUEUES = "appointments:en/es:120,pharmacy:en/es:120,billing:en:300,technical:en/es:180"
DEFAULT_OUTCOMES = "resolved,follow_up,referred,callback_arranged,no_answer,other"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the desk reads from its environment, validated once at start."""

    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    redis_url: str | None = None
    desk: str = "main"
    secret: str | None = None
    previous_secrets: tuple[str, ...] = ()
    secret_file: Path = field(default_factory=lambda: default_secret_file({}))
    issuer: str = "videodesk"
    allowed_origins: tuple[str, ...] = ()
    queues: tuple[QueueConfig, ...] = ()
    offer_timeout: float = 20.0
    grace_period: float = 60.0
    agent_grace_period: float = 15.0
    auto_available_after_wrapup: bool = True
    ice_servers: tuple[str, ...] = ()
    turn_secret: str | None = None
    turn_ttl: int = 3600
    relay_only: bool = False
    # Say on the patient's and the agent's pages when a supervisor monitors or whispers
    # (barge is always shown: the supervisor is then a visible party).
    supervisor_notice: bool = False
    outcome_codes: tuple[str, ...] = ()
    agent_idle_timeout: float = 3600.0
    drain_seconds: float = 2.0
    log_level: str = "INFO"
    content_dir: Path | None = None
    metrics_token: str | None = None
    metrics_allow: tuple[IPNetwork, ...] = LOOPBACK_NETWORKS
    trusted_proxies: tuple[IPNetwork, ...] = ()
    redis_wait_replicas: int = 0
    redis_wait_ms: int = 500
    max_sockets_per_session: int = 4
    max_sockets_per_token: int = 4
    max_sockets_per_address: int = 200
    max_unauthenticated_per_address: int = 10
    echo_addresses: tuple[str, ...] = ()
    emergency_escalation: Literal["flag", "urgent"] = "flag"
    opening_hours: OpeningHours | None = None
    smtp_url: str | None = None
    smtp_from: str = "videodesk@localhost"
    smtp_ca_file: Path | None = None
    database_url: str | None = None
    record_personal_data: bool = False
    retention_days: int | None = None  # visits, events, surveys, call-backs; None: keep all
    audit_retention_days: int | None = None
    webhook_retry_base: float = 5.0
    webhook_timeout: float = 10.0

    @property
    def embedded(self) -> bool:
        """True when no REDIS_URL is set and the in-process store is used."""
        return self.redis_url is None

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def records_file(self) -> Path:
        """The embedded SQLite file of records, in the desk's data folder (no database URL)."""
        return self.secret_file.with_name("records.sqlite3")

    def queue(self, name: str) -> QueueConfig | None:
        for queue in self.queues:
            if queue.name == name:
                return queue
        return None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables (``os.environ`` by default); a
        variable left unset takes the field's default above (``_DEFAULT``), written once."""
        env = os.environ if env is None else env
        reader = _Reader(env)
        host = reader.get("VIDEODESK_HOST", "127.0.0.1", _host)
        port = reader.get("VIDEODESK_PORT", 8080, _port)
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        public_url = reader.get("VIDEODESK_PUBLIC_URL", f"http://{shown_host}:{port}", _url)
        origins = reader.get("VIDEODESK_ALLOWED_ORIGINS", None, _origins) or _default_origins(
            public_url
        )
        secret = reader.get("VIDEODESK_SECRET", None, _secret)
        settings = cls(
            host=host,
            port=port,
            public_url=public_url,
            redis_url=reader.get("REDIS_URL", _DEFAULT.redis_url, _redis_url),
            desk=reader.get("VIDEODESK_DESK", _DEFAULT.desk, _name),
            secret=secret,
            previous_secrets=reader.get(
                "VIDEODESK_PREVIOUS_SECRETS", _DEFAULT.previous_secrets, _secret_list
            ),
            secret_file=reader.get("VIDEODESK_SECRET_FILE", default_secret_file(env), Path),
            issuer=reader.get("VIDEODESK_ISSUER", _DEFAULT.issuer, _issuer),
            allowed_origins=origins,
            queues=reader.get("VIDEODESK_QUEUES", parse_queues(DEFAULT_QUEUES), parse_queues),
            offer_timeout=reader.get(
                "VIDEODESK_OFFER_TIMEOUT", _DEFAULT.offer_timeout, _seconds(3, 600)
            ),
            grace_period=reader.get(
                "VIDEODESK_GRACE_PERIOD", _DEFAULT.grace_period, _seconds(5, 3600)
            ),
            agent_grace_period=reader.get(
                "VIDEODESK_AGENT_GRACE_PERIOD", _DEFAULT.agent_grace_period, _seconds(3, 600)
            ),
            auto_available_after_wrapup=reader.get(
                "VIDEODESK_AUTO_AVAILABLE_AFTER_WRAPUP", _DEFAULT.auto_available_after_wrapup, _bool
            ),
            ice_servers=reader.get("VIDEODESK_ICE_SERVERS", _DEFAULT.ice_servers, _ice_servers),
            turn_secret=reader.get("VIDEODESK_TURN_SECRET", _DEFAULT.turn_secret, _secret),
            turn_ttl=reader.get("VIDEODESK_TURN_TTL", _DEFAULT.turn_ttl, _int_range(60, 86400)),
            relay_only=reader.get("VIDEODESK_RELAY_ONLY", _DEFAULT.relay_only, _bool),
            supervisor_notice=reader.get(
                "VIDEODESK_SUPERVISOR_NOTICE", _DEFAULT.supervisor_notice, _bool
            ),
            outcome_codes=reader.get("VIDEODESK_OUTCOME_CODES", _names(DEFAULT_OUTCOMES), _names),
            agent_idle_timeout=reader.get(
                "VIDEODESK_AGENT_IDLE_TIMEOUT", _DEFAULT.agent_idle_timeout, _seconds(60, 86400)
            ),
            drain_seconds=reader.get(
                "VIDEODESK_DRAIN_SECONDS", _DEFAULT.drain_seconds, _seconds(0, 120)
            ),
            log_level=reader.get("VIDEODESK_LOG_LEVEL", _DEFAULT.log_level, _log_level),
            content_dir=reader.get("VIDEODESK_CONTENT_DIR", _DEFAULT.content_dir, _existing_dir),
            metrics_token=reader.get("VIDEODESK_METRICS_TOKEN", _DEFAULT.metrics_token, _secret),
            metrics_allow=reader.get("VIDEODESK_METRICS_ALLOW", LOOPBACK_NETWORKS, _networks),
            trusted_proxies=reader.get(
                "VIDEODESK_TRUSTED_PROXIES", _DEFAULT.trusted_proxies, _networks
            ),
            redis_wait_replicas=reader.get(
                "VIDEODESK_REDIS_WAIT_REPLICAS", _DEFAULT.redis_wait_replicas, _int_range(0, 5)
            ),
            redis_wait_ms=reader.get(
                "VIDEODESK_REDIS_WAIT_MS", _DEFAULT.redis_wait_ms, _int_range(10, 10_000)
            ),
            max_sockets_per_session=reader.get(
                "VIDEODESK_MAX_SOCKETS_PER_SESSION",
                _DEFAULT.max_sockets_per_session,
                _int_range(1, 100),
            ),
            max_sockets_per_token=reader.get(
                "VIDEODESK_MAX_SOCKETS_PER_TOKEN",
                _DEFAULT.max_sockets_per_token,
                _int_range(1, 100),
            ),
            max_sockets_per_address=reader.get(
                "VIDEODESK_MAX_SOCKETS_PER_ADDRESS",
                _DEFAULT.max_sockets_per_address,
                _int_range(1, 100_000),
            ),
            max_unauthenticated_per_address=reader.get(
                "VIDEODESK_MAX_UNAUTHENTICATED_PER_ADDRESS",
                _DEFAULT.max_unauthenticated_per_address,
                _int_range(1, 10_000),
            ),
            echo_addresses=reader.get(
                "VIDEODESK_ECHO_ADDRESSES", _default_echo_addresses(public_url), _addresses
            ),
            emergency_escalation=reader.get(
                "VIDEODESK_EMERGENCY_ESCALATION", _DEFAULT.emergency_escalation, _escalation
            ),
            opening_hours=_opening_hours(reader),
            smtp_url=reader.get("VIDEODESK_SMTP_URL", _DEFAULT.smtp_url, _smtp_url),
            smtp_from=reader.get("VIDEODESK_SMTP_FROM", _DEFAULT.smtp_from, _mail_address),
            smtp_ca_file=reader.get(
                "VIDEODESK_SMTP_CA_FILE", _DEFAULT.smtp_ca_file, _existing_file
            ),
            database_url=reader.get("VIDEODESK_DATABASE_URL", _DEFAULT.database_url, _database_url),
            record_personal_data=reader.get(
                "VIDEODESK_RECORD_PERSONAL_DATA", _DEFAULT.record_personal_data, _bool
            ),
            retention_days=reader.get(
                "VIDEODESK_RETENTION_DAYS", _DEFAULT.retention_days, _int_range(1, 36_500)
            ),
            audit_retention_days=reader.get(
                "VIDEODESK_AUDIT_RETENTION_DAYS",
                _DEFAULT.audit_retention_days,
                _int_range(1, 36_500),
            ),
            webhook_retry_base=reader.get(
                "VIDEODESK_WEBHOOK_RETRY_BASE", _DEFAULT.webhook_retry_base, _seconds(0.1, 600)
            ),
            webhook_timeout=reader.get(
                "VIDEODESK_WEBHOOK_TIMEOUT", _DEFAULT.webhook_timeout, _seconds(1, 60)
            ),
        )
        if settings.relay_only and not any(s.startswith("turn") for s in settings.ice_servers):
            raise SettingsError(
                "VIDEODESK_RELAY_ONLY", "needs a turn: or turns: server in VIDEODESK_ICE_SERVERS"
            )
        if settings.turn_secret is None and any(s.startswith("turn") for s in settings.ice_servers):
            raise SettingsError(
                "VIDEODESK_TURN_SECRET",
                "is required when VIDEODESK_ICE_SERVERS names a TURN server",
            )
        return settings


def default_secret_file(env: Mapping[str, str]) -> Path:
    """Where the embedded default keeps its generated signing secret."""
    data_home = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "videodesk" / "secret"


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def get(self, variable: str, default: T, parse: Callable[[str], T]) -> T:
        raw = self._env.get(variable)
        if raw is None or raw.strip() == "":
            return default
        try:
            return parse(raw.strip())
        except (ValueError, TypeError) as exc:
            raise SettingsError(variable, str(exc) or "invalid value") from None


def _host(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9.:\-\[\]]+", raw):
        raise ValueError(f"not a host name or address: {raw!r}")
    return raw


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


_port = _int_range(0, 65535)


def _seconds(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"expected a number of seconds, got {raw!r}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g} seconds, got {value:g}")
        return value

    return parse


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an http:// or https:// URL, got {raw!r}")
    return raw.rstrip("/")


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _origins(raw: str) -> tuple[str, ...]:
    origins = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        parts = urlsplit(item)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ValueError(f"expected origins like https://desk.example.org, got {item!r}")
        origins.append(_origin_of(item))
    return tuple(origins)


def _default_origins(public_url: str) -> tuple[str, ...]:
    origin = _origin_of(public_url)
    parts = urlsplit(origin)
    # A desk reached on the loopback address is also reachable as localhost.
    if parts.hostname in ("127.0.0.1", "localhost"):
        port = f":{parts.port}" if parts.port else ""
        return (f"{parts.scheme}://127.0.0.1{port}", f"{parts.scheme}://localhost{port}")
    return (origin,)


def _database_url(raw: str) -> str:
    scheme = urlsplit(raw).scheme
    if scheme not in ("postgresql", "postgres", "postgresql+asyncpg", "sqlite", "sqlite+aiosqlite"):
        raise ValueError("expected a postgresql:// URL (or sqlite:///path for a single process)")
    return raw


def _redis_url(raw: str) -> str:
    scheme = urlsplit(raw).scheme
    if scheme == "redis+sentinel":
        parse_sentinel_url(raw)  # raises with what is wrong
        return raw
    if scheme == "redis+cluster":
        parse_cluster_url(raw)  # raises with what is wrong
        return raw
    if scheme not in ("redis", "rediss", "unix"):
        raise ValueError(
            "expected a redis://, rediss://, unix://, redis+sentinel:// or redis+cluster:// URL"
        )
    return raw


@dataclass(frozen=True, slots=True)
class SentinelTarget:
    """``redis+sentinel://[user:pass@]host:port[,host:port…]/SERVICE[/db]``: the sentinels
    to ask, the primary's service name, the database, and the primary's credentials."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None


def parse_sentinel_url(raw: str) -> SentinelTarget:
    rest = raw.removeprefix("redis+sentinel://")
    authority, _, path = rest.partition("/")
    credentials, at, hosts = authority.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = credentials.partition(":")
        username, password = (unquote(user) or None), (unquote(secret) if colon else None)
    sentinels = []
    for item in hosts.split(","):
        host, colon, port = item.strip().rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected sentinels as host:port, got {item.strip()!r}")
        sentinels.append((host.strip("[]"), int(port)))
    parts = [part for part in path.split("/") if part]
    if not parts or len(parts) > 2 or not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", parts[0]):
        raise ValueError("expected redis+sentinel://host:port[,host:port]/SERVICE[/db]")
    if len(parts) == 2 and not parts[1].isdigit():
        raise ValueError(f"the database must be a number, got {parts[1]!r}")
    db = int(parts[1]) if len(parts) == 2 else 0
    return SentinelTarget(tuple(sentinels), parts[0], db, username, password)


def _name(raw: str) -> str:
    if not _NAME_RE.fullmatch(raw):
        raise ValueError(f"expected lower-case letters, digits, - or _ (max 32), got {raw!r}")
    return raw


def _names(raw: str) -> tuple[str, ...]:
    names = tuple(_name(item.strip()) for item in raw.split(",") if item.strip())
    if not names:
        raise ValueError("expected at least one name")
    return names


def _issuer(raw: str) -> str:
    if len(raw) > 200:
        raise ValueError("longer than 200 characters")
    return raw


def _secret(raw: str) -> str:
    # RFC 8725 §3.5 (docs/security.md, "Tokens"): HMAC keys of at least 256 bits.
    if len(raw.encode()) < 32:
        raise ValueError("must be at least 32 bytes (256 bits); try `openssl rand -base64 48`")
    return raw


def _secret_list(raw: str) -> tuple[str, ...]:
    return tuple(_secret(item.strip()) for item in raw.split(",") if item.strip())


def _ice_servers(raw: str) -> tuple[str, ...]:
    servers = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        if not re.fullmatch(
            r"(stun|stuns|turn|turns):[A-Za-z0-9.\-\[\]:]+(\?transport=(udp|tcp))?", item
        ):
            raise ValueError(f"expected stun:host:port or turn:host:port URLs, got {item!r}")
        servers.append(item)
    return tuple(servers)


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
    return level


def _existing_dir(raw: str) -> Path:
    path = Path(raw)
    if not path.is_dir():
        raise ValueError(f"{raw} is not a directory")
    return path


def parse_queues(raw: str) -> tuple[QueueConfig, ...]:
    """Parse ``name:lang/lang:target_seconds,...`` (languages and target optional)."""
    queues: list[QueueConfig] = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        parts = item.split(":")
        if len(parts) > 3:
            raise ValueError(f"queue {item!r}: expected name:languages:target_seconds")
        name = _name(parts[0])
        languages = tuple(parts[1].split("/")) if len(parts) > 1 and parts[1] else ("en",)
        for language in languages:
            if not _LANG_RE.fullmatch(language):
                raise ValueError(f"queue {name!r}: {language!r} is not a language code like en")
        target = _int_range(10, 3600)(parts[2]) if len(parts) > 2 and parts[2] else 120
        if any(q.name == name for q in queues):
            raise ValueError(f"queue {name!r} is listed twice")
        queues.append(QueueConfig(name=name, languages=languages, target_seconds=target))
    if not queues:
        raise ValueError("expected at least one queue")
    return tuple(queues)


def _networks(raw: str) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDR blocks (``10.0.0.0/8,::1/128``) or single addresses."""
    networks = []
    for item in raw.split(","):
        item = item.strip()
        if item:
            try:
                networks.append(ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"expected CIDR blocks like 10.0.0.0/8, got {item!r}") from None
    return tuple(networks)


def _addresses(raw: str) -> tuple[str, ...]:
    """Comma-separated IP addresses (no names, no ranges)."""
    addresses = []
    for item in raw.split(","):
        item = item.strip()
        if item:
            try:
                addresses.append(str(ip_address(item)))
            except ValueError:
                raise ValueError(f"expected IP addresses like 203.0.113.7, got {item!r}") from None
    return tuple(addresses)


def _default_echo_addresses(public_url: str) -> tuple[str, ...]:
    """The address the lobby's test peer may advertise: the public URL's host when it is
    an IP address (a trial desk on loopback, a desk on a LAN), otherwise none."""
    host = urlsplit(public_url).hostname or ""
    if host == "localhost":
        return ("127.0.0.1",)
    try:
        return (str(ip_address(host)),)
    except ValueError:
        return ()


def _escalation(raw: str) -> Literal["flag", "urgent"]:
    if raw == "flag":
        return "flag"
    if raw == "urgent":
        return "urgent"
    raise ValueError("expected flag or urgent")


def _opening_hours(reader: _Reader) -> OpeningHours | None:
    none: tuple[Period, ...] = ()
    periods = reader.get("VIDEODESK_OPENING_HOURS", none, parse_periods)
    zone = reader.get("VIDEODESK_TIMEZONE", "UTC", timezone_name)
    return OpeningHours(periods=periods, timezone=zone) if periods else None


def _smtp_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("expected smtp://[user:password@]host[:port] or smtps://…")
    return raw


def _mail_address(raw: str) -> str:
    if not re.fullmatch(r"[^@\s<>\\\"]+@[A-Za-z0-9.\-]+", raw):
        raise ValueError(f"expected an address like desk@example.org, got {raw!r}")
    return raw


def _existing_file(raw: str) -> Path:
    path = Path(raw)
    if not path.is_file():
        raise ValueError(f"{raw} is not a file")
    return path


# Every default of Settings, for from_env (which reads only what the environment sets).
_DEFAULT = Settings()
