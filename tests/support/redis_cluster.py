"""A real Redis Cluster on loopback: 3 primaries and 3 replicas (``redis-server
--cluster-enabled yes``, joined with ``redis-cli --cluster create``), no persistence
beyond each node's nodes.conf, a 1 s node timeout so a dead primary is replaced quickly.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from redis.asyncio import Redis

from server.core.redis_cluster import desk_slot
from server.core.redis_keys import Keys
from server.core.settings import Settings
from server.core.store import connect
from tests.support.redis_server import RedisServer, free_port

CLUSTER_OPTIONS = (
    "--cluster-enabled", "yes",
    "--cluster-config-file", "nodes.conf",
    "--cluster-node-timeout", "1000",
    # A replica may always take over (the test primaries die young).
    "--cluster-replica-validity-factor", "0",
    # Other slots going down must not take the desk's slot with them.
    "--cluster-require-full-coverage", "no",
    # A replica re-pointed at a new primary syncs at once (the default waits 5 s).
    "--repl-diskless-sync-delay", "0",
)  # fmt: skip


def free_node_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    for _ in range(200):
        port = free_port()
        if port + 10_000 > 65_535:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port + 10_000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


class RedisClusterTopology:
    def __init__(self, primaries: int = 3, replicas_per_primary: int = 1) -> None:
        self.nodes = [
            RedisServer(port=free_node_port(), extra=CLUSTER_OPTIONS)
            for _ in range(primaries * (1 + replicas_per_primary))
        ]
        self.replicas_per_primary = replicas_per_primary

    @property
    def url(self) -> str:
        """Entry points: two nodes, neither chosen for owning anything."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes[-2:])

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        cli = shutil.which("redis-cli")
        if cli is None:
            raise RuntimeError("redis-cli was not found (Debian: apt-get install -y redis-tools)")
        subprocess.run(
            [
                cli, "--cluster", "create",
                *(f"127.0.0.1:{n.port}" for n in self.nodes),
                "--cluster-replicas", str(self.replicas_per_primary),
                "--cluster-yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )  # fmt: skip
        self.wait(self.healthy, "every node seeing the cluster ok, with every replica in sync")

    def client(self, port: int) -> Any:
        return redis.Redis(port=port, socket_timeout=1, decode_responses=True)

    def ask(self, port: int, *command: str) -> Any:
        client = self.client(port)
        try:
            return client.execute_command(*command)
        finally:
            client.close()

    def info(self, port: int) -> dict[str, Any]:
        client = self.client(port)
        try:
            replication: dict[str, Any] = client.info("replication")
            return replication
        finally:
            client.close()

    def running(self) -> list[RedisServer]:
        return [n for n in self.nodes if n.process is not None]

    def healthy(self) -> bool:
        for node in self.running():
            info = self.ask(node.port, "CLUSTER", "INFO")
            if "cluster_state:ok" not in info:
                return False
            replication = self.info(node.port)
            if replication.get("role") == "slave" and replication.get("master_link_status") != "up":
                return False
        return True

    def owner(self, desk: str) -> RedisServer:
        """The node that owns ``desk``'s slot now (as a running node sees it)."""
        slot = desk_slot(Keys(desk).prefix)
        for entry in self.ask(self.running()[0].port, "CLUSTER", "SLOTS"):
            start, end, primary, *_ = entry
            if int(start) <= slot <= int(end):
                return self.node(int(primary[1]))
        raise RuntimeError(f"no node owns slot {slot}")

    def replica_of(self, primary: RedisServer) -> RedisServer:
        for node in self.running():
            info = self.info(node.port)
            if info.get("role") == "slave" and int(info.get("master_port", 0)) == primary.port:
                return node
        raise RuntimeError(f"no replica of {primary.port}")

    def node(self, port: int) -> RedisServer:
        return next(n for n in self.nodes if n.port == port)

    def failover(self, desk: str, timeout: float = 30.0) -> RedisServer:
        """CLUSTER FAILOVER on the replica of the desk's primary; returns the new owner."""
        old = self.owner(desk)
        replica = self.replica_of(old)
        self.ask(replica.port, "CLUSTER", "FAILOVER")
        self.wait(lambda: self.owner(desk) is replica, "the replica owning the slot", timeout)
        return replica

    def kill_owner(self, desk: str) -> RedisServer:
        """kill -9 the desk's primary; returns the killed node (restart it with start())."""
        old = self.owner(desk)
        old.kill()
        return old

    def wait_owner_changed(self, desk: str, old: RedisServer, timeout: float = 30.0) -> None:
        self.wait(lambda: self.owner(desk) is not old, "a replica taking over the slot", timeout)

    def rejoin(self, node: RedisServer) -> None:
        """Start a killed node again (its nodes.conf is kept): it rejoins as a replica."""
        node.start()
        self.wait(self.healthy, "the cluster ok again, every replica in sync", 60)

    @staticmethod
    def wait(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
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
        for node in self.nodes:
            node.close()


def desk_client(url: str, desk: str) -> Redis:
    """The desk's own client of a cluster (server/core/store.py, as `serve` makes it)."""
    settings = Settings.from_env({"REDIS_URL": url, "VIDEODESK_DESK": desk})
    return connect(settings)


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterTopology]:
    """One Redis Cluster for the whole session (tests that fail nodes over start their own)."""
    topology = RedisClusterTopology()
    topology.start()
    try:
        yield topology
    finally:
        topology.close()
