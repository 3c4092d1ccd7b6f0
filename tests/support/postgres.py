"""A throwaway real PostgreSQL cluster on a free loopback port, for tests and benchmarks.

Debian's ``postgresql`` binaries (``/usr/lib/postgresql/<version>/bin``): ``initdb`` in a
temporary folder and ``postgres`` running as the ``postgres`` user when we are root
(PostgreSQL refuses to run as root). Trust authentication on loopback, no fsync: nothing
here outlives the test run. A missing binary is an error that says what to install."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.redis_server import free_port

INSTALL_HINT = (
    "PostgreSQL was not found (/usr/lib/postgresql/*/bin/initdb). Install it (Debian/Ubuntu: "
    "apt-get install -y postgresql); ./scripts/test does when it runs as root."
)


def binaries() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[4]) if Path(p).parts[4].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError(INSTALL_HINT)
    return Path(initdb).parent


class PostgresServer:
    """Start, stop and restart one private PostgreSQL cluster."""

    def __init__(self) -> None:
        self.bin = binaries()
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="videodesk-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")
        self.running = False
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync")  # fmt: skip

    def _command(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self.as_postgres else list(args)

    def _run(self, *args: str) -> None:
        result = subprocess.run(self._command(*args), capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {result.stderr.strip()[-500:]}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 60.0) -> None:
        options = " ".join([
            "-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={self.directory}",
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
            "-c max_connections=200", f"-p {self.port}",
        ])  # fmt: skip
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "-t", str(int(timeout)), "start")  # fmt: skip
        self.running = True

    def stop(self) -> None:
        """Stop at once (fast shutdown: connections cut); the data stays."""
        if self.running:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                      "stop")  # fmt: skip
            self.running = False

    def create_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = "t" + uuid.uuid4().hex[:12]
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                  "-U", "postgres", name)  # fmt: skip
        return self.url(name)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One cluster for the session; each test takes a database of its own."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def records_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty records database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()
