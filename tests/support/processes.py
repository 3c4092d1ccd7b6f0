"""Real ``videodesk serve`` processes for process-level tests.

Each process logs to ``.test-logs/<name>.log`` (the log files the privacy check
greps after the suite), is started on a free loopback port and is always
stopped: SIGTERM first, SIGKILL if it does not go.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from tests.support.redis_server import free_port

LOG_DIR = Path(__file__).resolve().parents[2] / ".test-logs"


def videodesk_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "server", *args]


class ServerProcess:
    """One ``videodesk serve`` process."""

    def __init__(self, name: str, env: Mapping[str, str], *, port: int | None = None) -> None:
        self.name = name
        self.port = port or free_port()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONUNBUFFERED": "1",
            **env,
            "VIDEODESK_HOST": "127.0.0.1",
            "VIDEODESK_PORT": str(self.port),
        }
        LOG_DIR.mkdir(exist_ok=True)
        # stderr carries the logs (grepped for tokens and personal data after the
        # suite); stdout carries what `serve` prints for the person who started it
        # (embedded mode prints links with tokens there, by design).
        self.log_path = LOG_DIR / f"{name}-{self.port}.log"
        self.stdout_path = Path(tempfile.gettempdir()) / f"videodesk-{name}-{self.port}.stdout"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        with self.log_path.open("ab") as log, self.stdout_path.open("ab") as out:
            self.process = subprocess.Popen(
                videodesk_command("serve"), env=self.env, stdout=out, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.output()}")
            if self.get("/healthz")[0] == 200:
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"{self.name} did not answer /healthz:\n{self.output()}")

    def get(self, path: str, token: str | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, b""

    def output(self) -> str:
        """What the process printed (stdout), then its logs (stderr)."""
        return "".join(
            path.read_text(errors="replace")
            for path in (self.stdout_path, self.log_path)
            if path.exists()
        )

    def wait_for_output(self, text: str, timeout: float = 10.0) -> str:
        """Everything printed so far, once ``text`` is in it.

        ``serve`` answers /healthz as soon as it listens and prints its links a
        moment later (issuing the embedded tokens takes a few store round trips).
        """
        deadline = time.monotonic() + timeout
        while True:
            output = self.output()
            if text in output:
                return output
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} never printed {text!r}:\n{output}")
            time.sleep(0.05)

    def terminate(self, timeout: float = 20.0) -> int | None:
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        finally:
            self.process = None

    def kill(self) -> None:
        """SIGKILL: the process dies at once, holding whatever it held."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait()
        self.process = None

    def signal_term(self) -> None:
        """SIGTERM without waiting: the process starts draining."""
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 30.0) -> int | None:
        if self.process is None:
            return None
        code = self.process.wait(timeout=timeout)
        self.process = None
        return code

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.terminate()
