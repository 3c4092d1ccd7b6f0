"""A minimal WebSocket client on a raw asyncio transport, for load generation.

It does just enough of RFC 6455 to talk to aiohttp's server: the upgrade handshake, text
frames out (masked with an all-zero key, so the payload is written as is: the server
unmasks it the same way, and nothing here needs an unpredictable key), and unfragmented
frames in (text, ping answered with pong, close). Compared with aiohttp's client this
leaves out the per-message coroutine, the frame reader's queue and the mask XOR, so one
load process drives a few thousand sockets at thousands of messages a second.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable
from urllib.parse import urlsplit

OnText = Callable[[bytes], None]

_ZERO_MASK = b"\x00\x00\x00\x00"
_TEXT, _CLOSE, _PING, _PONG = 0x1, 0x8, 0x9, 0xA


class HandshakeFailed(Exception):
    """The server answered the upgrade with something other than 101."""


def frame(opcode: int, payload: bytes) -> bytes:
    """One client frame (FIN set, masked with the zero key)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    return header + _ZERO_MASK + payload


class RawSocket(asyncio.Protocol):
    """One client WebSocket; each text frame received is handed to ``on_text``."""

    def __init__(self, on_text: OnText) -> None:
        self.on_text = on_text
        self.transport: asyncio.WriteTransport | None = None
        self._buffer = bytearray()
        self._upgraded = False
        self._handshake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()

    # -- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport (uvloop's too)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._upgraded:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self._buffer[:end]).split(b"\r\n", 1)[0]
            del self._buffer[: end + 4]
            if b" 101 " not in status + b" ":
                if not self._handshake.done():
                    self._handshake.set_exception(HandshakeFailed(status.decode("latin-1")))
                return
            self._upgraded = True
            self._handshake.set_result(None)
        self._frames()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._handshake.done():
            self._handshake.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    # -- frames ----------------------------------------------------------------------------
    def _frames(self) -> None:
        buffer = self._buffer
        at = 0
        while len(buffer) - at >= 2:
            opcode = buffer[at] & 0x0F
            size = buffer[at + 1] & 0x7F
            start = at + 2
            if size == 126:
                if len(buffer) - at < 4:
                    break
                size = (buffer[at + 2] << 8) | buffer[at + 3]
                start = at + 4
            elif size == 127:
                if len(buffer) - at < 10:
                    break
                size = struct.unpack_from("!Q", buffer, at + 2)[0]
                start = at + 10
            if len(buffer) < start + size:
                break
            payload = bytes(buffer[start : start + size])
            at = start + size
            if opcode == _TEXT:
                self.on_text(payload)
            elif opcode == _PING:
                self._write(frame(_PONG, payload))
            elif opcode == _CLOSE:
                self.abort()
        if at:
            del buffer[:at]

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def send_text(self, payload: bytes) -> None:
        """Queue one text frame (no await: the transport buffers it)."""
        self._write(frame(_TEXT, payload))

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def connect(url: str, on_text: OnText, *, source: str = "127.0.0.1",
                  origin: str | None = None, timeout: float = 10.0) -> RawSocket:  # fmt: skip
    """Open a WebSocket to ``ws://host:port/path`` from the loopback address ``source``."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    origin = origin or f"http://{parts.netloc}"
    loop = asyncio.get_running_loop()
    _, sock = await asyncio.wait_for(
        loop.create_connection(lambda: RawSocket(on_text), host, port, local_addr=(source, 0)),
        timeout,
    )
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: {origin}\r\n\r\n"
    )
    sock._write(request.encode())
    try:
        await asyncio.wait_for(asyncio.shield(sock._handshake), timeout)
    except BaseException:
        sock.abort()
        raise
    return sock
