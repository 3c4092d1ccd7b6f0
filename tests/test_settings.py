"""Settings: defaults, parsing, and errors that name the variable."""

from __future__ import annotations

import pytest

from server.core.settings import QueueConfig, Settings, SettingsError, parse_queues


def test_defaults_with_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.embedded
    assert settings.port == 8080
    assert settings.public_url == "http://127.0.0.1:8080"
    assert "http://localhost:8080" in settings.allowed_origins
    assert settings.queue("appointments") == QueueConfig("appointments", ("en", "es"), 120)
    assert settings.offer_timeout == 20 and settings.grace_period == 60


def test_port_changes_the_public_url_and_origins() -> None:
    settings = Settings.from_env({"VIDEODESK_PORT": "9001", "VIDEODESK_HOST": "0.0.0.0"})
    assert settings.public_url == "http://127.0.0.1:9001"
    assert settings.allowed_origins == ("http://127.0.0.1:9001", "http://localhost:9001")


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("VIDEODESK_PORT", "eighty", "whole number"),
        ("VIDEODESK_PORT", "70000", "between 0 and 65535"),
        ("VIDEODESK_SECRET", "short", "32 bytes"),
        ("VIDEODESK_PREVIOUS_SECRETS", "x" * 40 + ",short", "32 bytes"),
        ("REDIS_URL", "http://localhost:6379", "redis://"),
        ("VIDEODESK_PUBLIC_URL", "desk.example.org", "http:// or https://"),
        ("VIDEODESK_ALLOWED_ORIGINS", "https://desk.example.org/path", "origins like"),
        ("VIDEODESK_QUEUES", "Pharmacy", "lower-case"),
        ("VIDEODESK_QUEUES", "a:english", "language code"),
        ("VIDEODESK_QUEUES", "a,a", "listed twice"),
        ("VIDEODESK_QUEUES", "a:en:5", "between 10 and 3600"),
        ("VIDEODESK_OFFER_TIMEOUT", "1", "between 3 and 600"),
        ("VIDEODESK_GRACE_PERIOD", "soon", "number of seconds"),
        ("VIDEODESK_RELAY_ONLY", "maybe", "true or false"),
        ("VIDEODESK_ICE_SERVERS", "http://stun.example", "stun:host:port"),
        ("VIDEODESK_LOG_LEVEL", "LOUD", "DEBUG, INFO"),
        ("VIDEODESK_DESK", "Main Desk", "lower-case"),
        ("VIDEODESK_CONTENT_DIR", "/no/such/dir", "not a directory"),
    ],
)
def test_bad_value_names_the_variable(variable: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({variable: value})
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: ")
    assert says in str(caught.value)


def test_relay_only_needs_a_turn_server() -> None:
    with pytest.raises(SettingsError, match="VIDEODESK_RELAY_ONLY"):
        Settings.from_env({"VIDEODESK_RELAY_ONLY": "true"})
    with pytest.raises(SettingsError, match="VIDEODESK_TURN_SECRET"):
        Settings.from_env({"VIDEODESK_ICE_SERVERS": "turn:turn.example.org:3478"})
    settings = Settings.from_env(
        {
            "VIDEODESK_RELAY_ONLY": "yes",
            "VIDEODESK_ICE_SERVERS": "stun:stun.example.org:3478,turn:turn.example.org:3478",
            "VIDEODESK_TURN_SECRET": "t" * 40,
        }
    )
    assert settings.relay_only


def test_queue_list_format() -> None:
    assert parse_queues("pharmacy, billing:en/fr:300") == (
        QueueConfig("pharmacy", ("en",), 120),
        QueueConfig("billing", ("en", "fr"), 300),
    )


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
