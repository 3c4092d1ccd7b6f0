"""A throwaway coturn (Debian's ``turnserver``) on a free loopback port.

Loopback peers are allowed here only: in the test namespace every party is on
127.0.0.1 (the production configuration, deploy/turnserver.conf, denies them).
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.redis_server import free_port

INSTALL_HINT = (
    "turnserver was not found on PATH. Install coturn (Debian/Ubuntu: apt-get install -y "
    "coturn); scripts/test does this as root."
)


class TurnServer:
    def __init__(self) -> None:
        binary = shutil.which("turnserver")
        if binary is None:
            raise RuntimeError(INSTALL_HINT)
        self.binary = binary
        self.port = free_port()
        self.secret = secrets.token_urlsafe(36)
        self.directory = Path(tempfile.mkdtemp(prefix="videodesk-turn-"))
        self.log = self.directory / "turn.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def start(self, timeout: float = 10.0) -> None:
        low = 40000 + secrets.randbelow(20000)
        command = [
            self.binary,
            "-n",  # no configuration file
            "--listening-ip", "127.0.0.1",
            "--listening-port", str(self.port),
            "--relay-ip", "127.0.0.1",
            "--min-port", str(low),
            "--max-port", str(low + 200),
            "--use-auth-secret",
            "--static-auth-secret", self.secret,
            "--realm", "videodesk",
            "--fingerprint",
            "--no-cli", "--no-tls", "--no-dtls", "--no-tcp-relay",
            "--allow-loopback-peers",
            "--pidfile", str(self.directory / "turn.pid"),
            "--log-file", str(self.log),
            "--simple-log",
            "--verbose",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while not self._listening():
            if self.process.poll() is not None:
                raise RuntimeError(f"turnserver exited at start: {self.log_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"turnserver did not listen on {self.port}")
            time.sleep(0.05)

    def _listening(self) -> bool:
        """A STUN binding request on the UDP port gets an answer."""
        request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + secrets.token_bytes(12)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.2)
            try:
                sock.sendto(request, ("127.0.0.1", self.port))
                data, _ = sock.recvfrom(2048)
            except OSError:
                return False
        return data[:2] == b"\x01\x01"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def close(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        shutil.rmtree(self.directory, ignore_errors=True)
