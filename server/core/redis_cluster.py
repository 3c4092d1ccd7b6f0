"""Redis Cluster: a client of the primary that owns the desk's hash slot.

Every key of a desk carries the hash tag ``{desk}`` (server/core/redis_keys.py), so the whole desk
lives in one slot, on one primary at a time. The client is therefore a plain
``redis.asyncio.Redis`` whose connections find that primary through the cluster
(``CLUSTER SLOTS`` asked of the entry nodes, then of every node they named) instead of a
fixed address: Lua scripts, MULTI, WAIT on the script's own connection and blocking
XREAD all work unchanged, on the same code path as a single Redis.

After a failover (``CLUSTER FAILOVER``, or the primary dying and its replica taking
over) the old primary answers MOVED, or nothing at all; the connection drops itself and
raises ConnectionError, and redis-py's retry opens a new connection, which asks the
cluster again and reaches the new owner. While no node owns the slot (CLUSTERDOWN,
TRYAGAIN, the election after a primary died) the caller sees ConnectionError, which
the desk answers as ``unavailable``.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.crc import key_slot
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ReadOnlyError,
    RedisError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError

log = logging.getLogger(__name__)

# Answers that mean "the slot is elsewhere now, or nowhere yet": ask the cluster again.
# (MovedError is a kind of AskError.)
_REDIRECTS = (AskError, ClusterDownError, TryAgainError, ReadOnlyError)


@dataclass(frozen=True, slots=True)
class ClusterTarget:
    """``redis+cluster://[user:pass@]host:port[,host:port…]``: entry nodes (any nodes of
    the cluster) and the credentials of every node."""

    nodes: tuple[tuple[str, int], ...]
    username: str | None = None
    password: str | None = None


def parse_cluster_url(raw: str) -> ClusterTarget:
    rest = raw.removeprefix("redis+cluster://")
    authority, _, path = rest.partition("/")
    if path.strip("/") not in ("", "0"):
        raise ValueError("Redis Cluster has database 0 only: redis+cluster://host:port[,…]")
    credentials, at, hosts = authority.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = credentials.partition(":")
        username, password = (unquote(user) or None), (unquote(secret) if colon else None)
    nodes = []
    for item in hosts.split(","):
        host, colon, port = item.strip().rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected cluster nodes as host:port, got {item.strip()!r}")
        nodes.append((host.strip("[]"), int(port)))
    return ClusterTarget(tuple(nodes), username, password)


def desk_slot(prefix: str) -> int:
    """The hash slot of every key of a desk (``vd:{main}:`` → the slot of ``main``)."""
    match = re.search(r"\{([^}]+)\}", prefix)
    if match is None:
        raise ValueError(f"the key prefix {prefix!r} has no hash tag")
    return key_slot(match.group(1).encode())


class SlotOwner:
    """Finds the primary that owns one slot, asking the nodes it knows in turn."""

    def __init__(self, target: ClusterTarget, slot: int, timeout: float = 1.0) -> None:
        self.slot = slot
        self._target = target
        self._timeout = timeout
        self._known: list[tuple[str, int]] = list(target.nodes)

    async def address(self) -> tuple[str, int]:
        """The owner's (host, port) as the first node that answers sees it."""
        nodes = self._known[:]
        random.shuffle(nodes)  # spread the questions; a dead entry node costs one timeout
        failures: list[str] = []
        for host, port in nodes:
            try:
                slots = await self._slots(host, port)
            except (RedisError, OSError) as exc:
                failures.append(f"{host}:{port}: {type(exc).__name__}")
                continue
            owner = self._learn(slots, host)
            if owner is not None:
                return owner
            failures.append(f"{host}:{port}: no node owns slot {self.slot}")
        raise RedisConnectionError(
            "no Redis Cluster node named the owner of the desk's slot (" + "; ".join(failures) + ")"
        )

    async def _slots(self, host: str, port: int) -> list[Any]:
        client = Redis(
            host=host,
            port=port,
            username=self._target.username,
            password=self._target.password,
            socket_timeout=self._timeout,
            socket_connect_timeout=self._timeout,
            decode_responses=True,
        )
        try:
            # execute_command("CLUSTER", "SLOTS") skips redis-py's reshaping of the reply.
            reply: list[Any] = await client.execute_command("CLUSTER", "SLOTS")  # type: ignore[no-untyped-call]
            return reply
        finally:
            await client.aclose()

    def _learn(self, slots: list[Any], asked_host: str) -> tuple[str, int] | None:
        """Remember every node named (more entry points for next time); return the
        slot's primary. An empty host means "the node you asked"."""
        owner = None
        for entry in slots:
            start, end, *nodes = entry
            for node in nodes:
                address = (str(node[0]) or asked_host, int(node[1]))
                if address not in self._known:
                    self._known.append(address)
            if int(start) <= self.slot <= int(end) and nodes:
                owner = (str(nodes[0][0]) or asked_host, int(nodes[0][1]))
        return owner


class SlotOwnerConnection(Connection):
    """A connection to whichever primary owns the desk's slot when it connects."""

    def __init__(self, *, slot_owner: SlotOwner, **kwargs: Any) -> None:
        self._slot_owner = slot_owner
        super().__init__(**kwargs)

    async def _connect(self) -> None:
        self.host, self.port = await self._slot_owner.address()
        await super()._connect()  # type: ignore[no-untyped-call]

    async def read_response(
        self,
        disable_decoding: bool = False,
        timeout: float | None = None,
        *,
        disconnect_on_error: bool = True,
        push_request: bool | None = False,
    ) -> Any:
        try:
            return await super().read_response(
                disable_decoding=disable_decoding,
                timeout=timeout,
                disconnect_on_error=disconnect_on_error,
                push_request=push_request,
            )
        except _REDIRECTS as exc:
            # This node no longer owns the slot (or nobody does yet): drop the
            # connection so the retry asks the cluster where the slot is now.
            await self.disconnect()
            log.info(
                "Redis Cluster slot %s moved (%s); reconnecting",
                self._slot_owner.slot,
                type(exc).__name__,
            )
            raise RedisConnectionError(f"the desk's slot moved: {type(exc).__name__}") from exc
