"""A real Redis Sentinel topology on loopback: a primary, a replica and three sentinels
(``redis-server --sentinel``, the same binary), in temporary folders, no persistence."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import redis

from tests.support.redis_server import RedisServer, free_port

SERVICE = "videodesk"


class SentinelTopology:
    def __init__(self, sentinels: int = 3) -> None:
        self.primary = RedisServer()
        self.replica: RedisServer | None = None
        self.sentinel_ports = [free_port() for _ in range(sentinels)]
        self.directory = Path(tempfile.mkdtemp(prefix="videodesk-sentinel-"))
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def start(self) -> None:
        self.primary.start()
        self.replica = RedisServer(extra=("--replicaof", "127.0.0.1", str(self.primary.port)))
        self.replica.start()
        self.wait_in_sync()
        for port in self.sentinel_ports:
            config = self.directory / f"sentinel-{port}.conf"
            config.write_text(
                "\n".join(
                    [
                        f"port {port}",
                        "bind 127.0.0.1",
                        f"dir {self.directory}",
                        f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} 2",
                        f"sentinel down-after-milliseconds {SERVICE} 1000",
                        f"sentinel failover-timeout {SERVICE} 10000",
                        f"sentinel parallel-syncs {SERVICE} 1",
                        "",
                    ]
                )
            )
            self.processes.append(
                subprocess.Popen(
                    [self.primary.binary, str(config), "--sentinel"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        # Every sentinel answers and has found the replica (from the primary's INFO).
        self._wait(
            lambda: all(len(self.ask(p, "replicas", SERVICE)) == 1 for p in self.sentinel_ports),
            "sentinels knowing the replica",
            timeout=20,
        )

    def ask(self, port: int, *command: str) -> Any:
        """A SENTINEL command to one sentinel."""
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, decode_responses=True)
        try:
            return cast(Any, client).execute_command("SENTINEL", *command)
        finally:
            client.close()

    def primary_port(self, sentinel: int | None = None) -> int:
        port = self.sentinel_ports[0] if sentinel is None else sentinel
        return int(self.ask(port, "get-master-addr-by-name", SERVICE)[1])

    def wait_in_sync(self) -> None:
        assert self.replica is not None
        client: Any = redis.Redis(port=self.replica.port, decode_responses=True)
        self._wait(
            lambda: client.info("replication").get("master_link_status") == "up",
            "the replica in sync",
        )
        client.close()

    def failover(self, timeout: float = 30.0) -> int:
        """SENTINEL FAILOVER; returns the new primary's port once every sentinel names it."""
        old = self.primary_port()
        # A replica that came back a moment ago is not promoted until the sentinels see it
        # healthy again (NOGOODSLAVE otherwise).
        self._wait(
            lambda: all(self._replica_healthy(p) for p in self.sentinel_ports),
            "the sentinels seeing a healthy replica",
            timeout=timeout,
        )
        self.ask(self.sentinel_ports[0], "failover", SERVICE)
        self._wait(
            lambda: all(self.primary_port(p) != old for p in self.sentinel_ports),
            "every sentinel naming the new primary",
            timeout=timeout,
        )
        return self.primary_port()

    def _replica_healthy(self, sentinel: int) -> bool:
        for entry in self.ask(sentinel, "replicas", SERVICE):
            fields = (
                entry
                if isinstance(entry, dict)
                else dict(zip(entry[::2], entry[1::2], strict=True))
            )
            flags = str(fields.get("flags", ""))
            if (
                flags == "slave"
                and str(fields.get("master-link-status", "")) == "ok"
                and int(fields.get("master-link-down-time", 1)) == 0
            ):
                return True
        return False

    @staticmethod
    def _wait(condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if condition():
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.1)

    def close(self) -> None:
        for process in self.processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.replica is not None:
            self.replica.close()
        self.primary.close()
