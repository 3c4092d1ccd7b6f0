"""Carrying messages to whichever server process holds the recipient's socket.

Each process has a stream inbox in Redis. A sender looks up the recipient's
route (participant id → process id) and appends the message to that process's
inbox, in one script; the process reads its inbox with XREAD BLOCK from the
last id it saw. Compared with pub/sub (measured in bench/signaling.py), a
stream keeps what arrives while the reader is reconnecting to Redis, so a blip
delays messages instead of losing them; ids are de-duplicated because a
retried XADD may land twice. A message for a participant on this process is
delivered directly, without Redis.

A broadcast stream, read by every process, carries desk-wide notices
(revocations, queue changes, staff messages).

This module knows nothing of the server: key names come in a :class:`RelayKeys`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError

from signaling import lua
from signaling.server_messages import encode
from signaling.tasks import stop_task

log = logging.getLogger(__name__)

_decode = msgspec.json.Decoder().decode


# What the relay carries: a message as a dict, or a *frame*: a message already encoded
# once, as the recipient's socket will be sent it (the call messages relayed between the
# two parties: nothing about them depends on which socket receives them).
Message = dict[str, Any] | bytes
Deliver = Callable[[str, Message], Awaitable[bool]]
OnBroadcast = Callable[[dict[str, Any]], Awaitable[None]]

INBOX_MAXLEN = 10_000
BROADCAST_MAXLEN = 10_000
PROCESS_TTL = 15
HEARTBEAT_INTERVAL = 5.0
READ_BLOCK_MS = 5_000
READ_COUNT = 1000
BATCH = 500  # messages per script call at most
SEEN_IDS = 20_000
BACKOFF_CAP = 5.0

# A batch of sends in one step: for each message (ARGV[5..], four values each: recipient,
# message id, message, and "f" for a frame or "d" for a dict), look up the route and
# append to that process's inbox, so a route that changes (the recipient reconnected to
# another process) is read and used atomically, and messages keep their order. One result
# per message: 1 (queued), 0 (no route: not connected anywhere) or -1 (queued, but the
# route's process has not sent a heartbeat lately: it may be gone, or Redis may just have
# restarted and lost the short-lived liveness key, in which case the process will read the
# message as soon as it is back).
_SEND = """#!lua
local inbox_prefix, process_prefix = ARGV[1], ARGV[2]
local maxlen, ttl = ARGV[3], ARGV[4]
local results, alive, touched = {}, {}, {}
for i = 5, #ARGV, 4 do
  local proc = redis.call('HGET', KEYS[1], ARGV[i])
  if not proc then
    results[#results + 1] = 0
  else
    local inbox = inbox_prefix .. proc
    redis.call('XADD', inbox, 'MAXLEN', '~', maxlen, '*', 'to', ARGV[i], 'mid', ARGV[i + 1],
               'msg', ARGV[i + 2], 'as', ARGV[i + 3])
    if not touched[inbox] then
      redis.call('EXPIRE', inbox, ttl)
      touched[inbox] = true
      alive[proc] = redis.call('EXISTS', process_prefix .. proc) == 1
    end
    results[#results + 1] = alive[proc] and 1 or -1
  end
end
return results
"""

# Remove a route only if it still points at this process (the participant may
# already have reconnected elsewhere).
_DETACH = """#!lua
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """A message waiting for the next batch, and whoever waits for its outcome."""

    participant: str
    mid: str
    body: bytes
    frame: bool  # delivered as it is, not decoded
    done: asyncio.Future[bool]


@dataclass(frozen=True, slots=True)
class RelayKeys:
    """Key names the relay uses (all in the desk's hash slot)."""

    routes: str
    inbox_prefix: str
    process_prefix: str
    broadcast: str

    def inbox(self, process_id: str) -> str:
        return self.inbox_prefix + process_id

    def process(self, process_id: str) -> str:
        return self.process_prefix + process_id


class Relay:
    """One process's end of the relay: routes, its inbox reader, the broadcast reader."""

    def __init__(
        self,
        redis: Redis,
        reader: Redis,
        keys: RelayKeys,
        process_id: str,
        deliver: Deliver,
    ) -> None:
        self._redis = redis
        self._reader = reader  # its own connection: XREAD BLOCK holds it
        self._keys = keys
        self.process_id = process_id
        self._deliver = deliver
        self._on_broadcast: OnBroadcast | None = None
        self._send = lua.register(redis, _SEND)
        self._detach = lua.register(redis, _DETACH)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._outgoing: list[_Outgoing] = []
        self._flushing: asyncio.Task[None] | None = None
        self.batches = 0  # script calls that carried sends (each one or many messages)
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = asyncio.Event()
        self.retries = 0

    # -- lifecycle ------------------------------------------------------------
    async def start(self, on_broadcast: OnBroadcast) -> None:
        """Start reading, handing each desk-wide notice to ``on_broadcast`` (given here,
        not at construction, so whatever handles notices may itself use this relay).

        A Redis that cannot take the first heartbeat (down, failing over, too few
        replicas) does not stop the process: the loops keep trying, and /readyz says 503
        meanwhile."""
        self._on_broadcast = on_broadcast
        try:
            await self._beat()
        except RedisError as exc:
            log.warning("relay heartbeat failed at start (%s); retrying", type(exc).__name__)
        self._tasks = [
            asyncio.create_task(self._read_loop(), name="relay-reader"),
            asyncio.create_task(self._heartbeat_loop(), name="relay-heartbeat"),
        ]

    async def stop(self) -> None:
        if self._flushing is not None:  # what is being sent gets its chance to go
            await asyncio.wait({self._flushing}, timeout=2.0)
            await stop_task(self._flushing)
        for task in self._tasks:
            await stop_task(task)
        self._tasks = []
        try:
            await self._redis.delete(self._keys.process(self.process_id))
        except RedisError:
            pass

    # -- routes ---------------------------------------------------------------
    async def attach(self, participant: str) -> None:
        """Route the participant's messages to this process."""
        await self._redis.hset(self._keys.routes, participant, self.process_id)

    async def is_connected(self, participant: str) -> bool:
        """Whether the participant has a socket on some process (a route exists)."""
        return bool(await self._redis.hexists(self._keys.routes, participant))

    async def detach(self, participant: str) -> None:
        await self._detach(keys=[self._keys.routes], args=[participant, self.process_id])

    # -- sending --------------------------------------------------------------
    async def send(self, participant: str, message: Message) -> bool:
        """Deliver to the participant wherever they are connected.

        True when delivered here or queued for a live process; False when they
        are not connected anywhere or their process seems gone (the message is
        queued anyway in the second case). Raises RedisError when Redis cannot
        be reached, so the sender learns of it instead of losing the message.

        A message for another process joins the batch of this turn of the event loop:
        one script call carries them all (:meth:`_flush`), in the order they were sent.
        """
        if await self._deliver(participant, message):
            return True
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if isinstance(message, bytes):
            item = _Outgoing(participant, secrets.token_hex(8), message, True, done)
        else:
            item = _Outgoing(participant, secrets.token_hex(8), encode(message), False, done)
        self._outgoing.append(item)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush(), name="relay-send")
        return await done

    async def _flush(self) -> None:
        """Send what is waiting, a batch at a time (one batch in flight: order is kept)."""
        await asyncio.sleep(0)  # whatever else this turn of the loop sends joins the batch
        while self._outgoing:
            batch, self._outgoing = self._outgoing[:BATCH], self._outgoing[BATCH:]
            args: list[str | bytes | int] = [
                self._keys.inbox_prefix, self._keys.process_prefix, INBOX_MAXLEN, PROCESS_TTL * 4
            ]  # fmt: skip
            for item in batch:
                args += (item.participant, item.mid, item.body, "f" if item.frame else "d")
            try:
                results = await self._send(keys=[self._keys.routes], args=args)
            except RedisError as exc:
                for item in batch:
                    if not item.done.done():
                        item.done.set_exception(exc)
                continue
            except BaseException as exc:  # cancelled (stopping): nobody waits forever
                for item in [*batch, *self._outgoing]:
                    if not item.done.done():
                        item.done.set_exception(RedisError(f"relay stopped ({exc!r})"))
                self._outgoing = []
                raise
            self.batches += 1
            for item, result in zip(batch, results, strict=True):
                if not item.done.done():
                    item.done.set_result(int(result) == 1)

    async def broadcast(self, message: dict[str, Any]) -> None:
        """Send a notice to every process (including this one)."""
        await self._redis.xadd(
            self._keys.broadcast,
            {"msg": encode(message)},
            maxlen=BROADCAST_MAXLEN,
            approximate=True,
        )

    # -- reading --------------------------------------------------------------
    async def _read_loop(self) -> None:
        inbox = self._keys.inbox(self.process_id)
        cursors: dict[str, str] = {inbox: "0-0", self._keys.broadcast: "$"}
        delay = 0.1
        while True:
            try:
                if cursors[self._keys.broadcast] == "$":
                    cursors[self._keys.broadcast] = await self._last_id(self._keys.broadcast)
                # RESP2 reply: [[stream, [(id, fields), ...]], ...]
                replies: list[
                    tuple[str, list[tuple[str, dict[str, str]]]]
                ] = await self._reader.xread(  # type: ignore[assignment]
                    cursors,  # type: ignore[arg-type]
                    count=READ_COUNT,
                    block=READ_BLOCK_MS,
                )
                self.connected.set()
                delay = 0.1
                for stream, entries in replies or []:
                    for entry_id, fields in entries:
                        cursors[stream] = entry_id
                        await self._handle(stream == inbox, fields)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected.clear()
                self.retries += 1
                log.warning(
                    "relay reader lost Redis (%s); retrying in %.1f s", type(exc).__name__, delay
                )
                await asyncio.sleep(delay)
                delay = min(BACKOFF_CAP, delay * 2)

    async def _last_id(self, stream: str) -> str:
        last = await self._reader.xrevrange(stream, count=1)
        return str(last[0][0]) if last else "0-0"

    async def _handle(self, from_inbox: bool, fields: dict[str, str]) -> None:
        try:
            if from_inbox:
                await self._arrived(fields)
            elif self._on_broadcast is not None:
                notice = _decode(fields.get("msg", "{}"))
                if isinstance(notice, dict):
                    await self._on_broadcast(notice)
        except msgspec.DecodeError:
            log.warning("relay: dropped an undecodable entry")
        except Exception:
            # One bad delivery must never stop the reader for everyone else.
            log.exception("relay: delivery failed")

    async def _arrived(self, fields: dict[str, str]) -> None:
        """A message from another process: delivered once (a retried batch may land twice)."""
        mid = fields.get("mid", "")
        if mid in self._seen:
            return
        self._seen[mid] = None
        if len(self._seen) > SEEN_IDS:
            self._seen.popitem(last=False)
        body = fields.get("msg", "{}")
        if fields.get("as") == "f":  # a frame: passed on as it is
            await self._deliver(fields.get("to", ""), body.encode())
            return
        message = _decode(body)
        if isinstance(message, dict):
            await self._deliver(fields.get("to", ""), message)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_INTERVAL)
            try:
                await self._beat()
            except RedisError as exc:
                log.warning("relay heartbeat failed (%s)", type(exc).__name__)

    async def _beat(self) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._keys.process(self.process_id), "1", ex=PROCESS_TTL)
            pipe.expire(self._keys.inbox(self.process_id), PROCESS_TTL * 4)
            await pipe.execute()
