"""The command line: help, the issue → use → revoke round trip, serve with no environment."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.support.processes import ServerProcess, videodesk_command


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {"PATH": os.environ.get("PATH", ""), "HOME": env.get("HOME", "/tmp"), **env}
    return subprocess.run(
        videodesk_command(*args), env=full_env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        ((), ["serve", "token", "examples"]),
        (("serve",), ["--host", "--port", "REDIS_URL", "non-durable"]),
        (("token", "issue"), ["--role", "--queue", "--ttl", "--desk-link", "fragment"]),
        (("token", "revoke"), ["jti"]),
    ],
)
def test_help_is_useful(tmp_path: Path, args: tuple[str, ...], mentions: list[str]) -> None:
    result = run_cli(*args, "--help", env={"HOME": str(tmp_path)})
    assert result.returncode == 0
    for word in mentions:
        assert word in result.stdout


def test_bad_setting_stops_with_the_variable_named(tmp_path: Path) -> None:
    result = run_cli("serve", env={"HOME": str(tmp_path), "VIDEODESK_PORT": "eighty"})
    assert result.returncode == 2
    assert "VIDEODESK_PORT" in result.stderr and "Traceback" not in result.stderr


def test_token_issued_on_the_command_line_works_against_the_running_desk(
    redis_url: str, tmp_path: Path
) -> None:
    env = {
        "HOME": str(tmp_path),
        "REDIS_URL": redis_url,
        "VIDEODESK_SECRET": TEST_SECRET,
        "VIDEODESK_DESK": "clitest",
    }
    with ServerProcess("cli-roundtrip", env) as desk:
        issued = run_cli("token", "issue", "--role", "admin", "--ttl", "10m", env=env)
        assert issued.returncode == 0, issued.stderr
        admin_token = issued.stdout.splitlines()[0]
        status, body = desk.get("/api/v1/tokens", admin_token)
        assert status == 200

        agent = run_cli(
            "token", "issue", "--role", "agent", "--name", "Sam", "--queue", "pharmacy", env=env
        )
        assert agent.returncode == 0, agent.stderr
        token, link = agent.stdout.splitlines()[:2]
        assert link == f"http://127.0.0.1:8080/agent#token={token}"
        listed = json.loads(desk.get("/api/v1/tokens", admin_token)[1])["tokens"]
        jti = next(t["jti"] for t in listed if t["label"] == "Sam")

        revoked = run_cli("token", "revoke", jti, env=env)
        assert revoked.returncode == 0 and jti in revoked.stdout
        listed = json.loads(desk.get("/api/v1/tokens", admin_token)[1])["tokens"]
        assert next(t for t in listed if t["jti"] == jti)["revoked"] is True

        admin_jti = next(t["jti"] for t in listed if t["role"] == "admin")
        assert run_cli("token", "revoke", admin_jti, env=env).returncode == 0
        status, body = desk.get("/api/v1/tokens", admin_token)
        assert status == 401 and json.loads(body)["error"] == "token_revoked"


def test_serve_with_no_environment_at_all(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    desk = ServerProcess("embedded", env)
    with desk:
        assert desk.get("/healthz")[0] == 200
        assert desk.get("/readyz")[0] == 200
        secret_file = tmp_path / ".local/share/videodesk/secret"
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        output = desk.wait_for_output("admin console:")
        assert "single-process and non-durable" in output
        admin_link = next(line for line in output.splitlines() if "admin console:" in line)
        admin_token = admin_link.split("#token=")[1]
        assert "?" not in admin_link

        # The CLI records tokens in the running embedded desk through its API.
        cli_env = {"HOME": str(tmp_path), "VIDEODESK_PORT": str(desk.port)}
        agent = run_cli("token", "issue", "--role", "agent", "--label", "night shift", env=cli_env)
        assert agent.returncode == 0, agent.stderr
        listed = json.loads(desk.get("/api/v1/tokens", admin_token)[1])["tokens"]
        jti = next(t["jti"] for t in listed if t["label"] == "night shift")
        agent_token = agent.stdout.splitlines()[0]
        assert json.loads(desk.get("/api/v1/tokens", agent_token)[1])["error"] == "forbidden"
        assert run_cli("token", "revoke", jti, env=cli_env).returncode == 0
        assert json.loads(desk.get("/api/v1/tokens", agent_token)[1])["error"] == "token_revoked"

    # Tokens survive a restart (the secret file), and so does the revocation.
    with ServerProcess("embedded-again", env, port=desk.port) as again:
        assert again.get("/api/v1/tokens", admin_token)[0] == 200
        status, body = again.get("/api/v1/tokens", agent_token)
        assert status == 401 and json.loads(body)["error"] == "token_revoked"


def test_revoke_in_embedded_mode_without_a_running_desk_says_why(tmp_path: Path) -> None:
    from tests.support.redis_server import free_port

    env = {"HOME": str(tmp_path), "VIDEODESK_PORT": str(free_port())}
    result = run_cli("token", "revoke", "some-jti", env=env)
    assert result.returncode == 1
    assert "no desk answered" in result.stderr


def test_bot_commands_have_a_call_through_a_running_desk(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    with ServerProcess("bots", env) as desk:
        cli_env = {"HOME": str(tmp_path), "VIDEODESK_PORT": str(desk.port)}
        agent_token = run_cli("token", "issue", "--role", "agent", env=cli_env).stdout.split()[0]
        patient_token = run_cli(
            "token", "issue", "--role", "patient", "--queue", "appointments", env=cli_env
        ).stdout.split()[0]
        full_env = {"PATH": os.environ.get("PATH", ""), **cli_env}
        common = ["--url", desk.url, "--seconds", "2", "--loopback"]
        agent = subprocess.Popen(
            videodesk_command("bot", "agent", "--token", agent_token, *common),
            env=full_env, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        patient = subprocess.run(
            videodesk_command("bot", "patient", "--token", patient_token, *common),
            env=full_env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        agent_out, _ = agent.communicate(timeout=60)
    assert patient.returncode == 0, patient.stdout + patient.stderr
    assert agent.returncode == 0, agent_out
    for output in (patient.stdout, agent_out):
        frames = [json.loads(line) for line in output.splitlines() if '"frames"' in line]
        assert frames and frames[0]["video"] > 0 and frames[0]["audio"] > 0
