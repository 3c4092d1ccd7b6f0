"""The deployment files say what docs/operations.md says (no Docker engine runs here, so
they are checked as documents: the compose file's services, persistence and wiring)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_compose_file_wires_redis_the_app_turn_and_tls() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    services = set(re.findall(r"^  ([a-z]+):$", text, re.M))
    assert {"redis", "app", "proxy", "turn"} <= services
    assert '"--appendonly", "yes"' in text and "healthcheck:" in text
    assert "REDIS_URL: redis://redis:6379/0" in text
    assert "VIDEODESK_SECRET: ${VIDEODESK_SECRET:?" in text
    assert "replicas: 2" in text and "stop_signal: SIGTERM" in text
    assert "static-auth-secret=${VIDEODESK_TURN_SECRET}" in text
    # The records: PostgreSQL, migrated once before the replicas start, and named to them.
    assert {"postgres", "migrate"} <= services
    assert 'command: ["videodesk", "db", "upgrade"]' in text
    assert "condition: service_completed_successfully" in text
    assert text.count("VIDEODESK_DATABASE_URL: postgresql://videodesk:") == 2


def test_turn_server_denies_private_and_loopback_peers() -> None:
    conf = (ROOT / "deploy" / "turnserver.conf").read_text()
    assert "use-auth-secret" in conf and "no-loopback-peers" in conf
    for network in ("10.0.0.0", "127.0.0.0", "172.16.0.0", "192.168.0.0", "169.254.0.0"):
        assert f"denied-peer-ip={network}" in conf


def test_dockerfile_runs_the_desk_as_a_non_root_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER videodesk" in dockerfile
    assert 'CMD ["videodesk", "serve"' in dockerfile
