"""A headless videodesk client: a patient or agent bot that speaks the protocol and
sends real media with aiortc.

Tests, benchmarks and ``videodesk bot`` use it. It does what the browser does:
exchanges its token for a session cookie, opens ``/ws`` with the desk's Origin,
follows the protocol of docs/protocol.md, and in a call negotiates WebRTC (the
agent offers, the patient answers), sends synthetic video and audio, counts the
frames it receives and the chat messages, and records its timings.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from signaling.ice import IceConfig, aiortc_configuration, configuration_from_desk
from signaling.media import FrameCounter, SyntheticAudioTrack, SyntheticVideoTrack

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
NEGOTIATION_TIMEOUT = 6.0
ACTIVE = ("waiting", "offered", "in_call", "on_hold", "callback_pending")


class ClientError(Exception):
    """The desk refused something the bot asked (carries the error message's code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass
class Timings:
    """Monotonic timestamps of what happened, for benchmarks."""

    accepted_at: float | None = None
    call_started_at: float | None = None
    connected_at: float | None = None
    first_video_at: float | None = None
    first_audio_at: float | None = None

    def accept_to_first_frame(self) -> float | None:
        if self.accepted_at is None or self.first_video_at is None:
            return None
        return self.first_video_at - self.accepted_at


@dataclass
class CallMedia:
    """One WebRTC peer connection of a call, with its counters."""

    pc: RTCPeerConnection
    video_in: FrameCounter = field(default_factory=FrameCounter)
    audio_in: FrameCounter = field(default_factory=FrameCounter)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.pc.close()


@dataclass
class PartyMedia:
    """One connection of a call's mesh (docs/protocol.md, "Calls with more than two
    parties"): to the party ``handle``, as of its ``seq``."""

    handle: str
    seq: int
    media: CallMedia
    tracks: list[Any] = field(default_factory=list)
    first_video_at: float | None = None

    async def close(self) -> None:
        for track in self.tracks:
            track.stop()
        await self.media.close()


class Bot:
    """The protocol part: session, socket, message log, waiting for messages."""

    role = "patient"
    principal = "agent"  # the party of its own connection (call.started); the rest: mesh

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        use_cookie: bool = True,
        origin: str | None = None,
        media: bool = True,
        ice: IceConfig | None = None,
        alternates: tuple[str, ...] = (),
        auto_reconnect: bool = False,
        forwarded_for: str | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        # X-Forwarded-For on every request, as a load balancer in front of the desk
        # adds it (the desk believes it only from a trusted proxy address).
        self.headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        self.base_url = base_url.rstrip("/")
        # Where to reconnect when the socket drops (another process of the desk).
        self.urls = [self.base_url, *(u.rstrip("/") for u in alternates)]
        self.auto_reconnect = auto_reconnect
        self.reconnect_seconds: list[float] = []
        self.initiator = False
        self._closing = False
        self._reconnecting: asyncio.Task[None] | None = None
        self.origin = origin or f"{parts.scheme}://{parts.netloc}"
        self.token = token
        self.use_cookie = use_cookie
        self.media_enabled = media
        self.ice = ice or IceConfig()
        self.ice_given = ice is not None
        self.desk_ice: dict[str, Any] | None = None  # welcome.ice
        self.received: list[dict[str, Any]] = []
        self.chats: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.timings = Timings()
        self.media: CallMedia | None = None
        self.call_id = ""
        self.close_code: int | None = None
        self.reconnects = 0
        self._ids = itertools.count(1)
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self._tracks: list[Any] = []
        self._earlier_frames = (0, 0)
        # The mesh: a connection to each other party of a call with guests, by handle.
        self.mesh: dict[str, PartyMedia] = {}
        self.handle = ""
        self.seq = -1

    # -- connection -----------------------------------------------------------
    async def connect(self) -> dict[str, Any]:
        """Open the session and the socket; returns the welcome message."""
        if self._http is None:
            jar = aiohttp.CookieJar(unsafe=True)  # keep cookies for 127.0.0.1
            self._http = aiohttp.ClientSession(cookie_jar=jar, headers=self.headers)
            if self.use_cookie:
                async with self._http.post(
                    f"{self.base_url}/api/v1/session", json={"token": self.token}
                ) as response:
                    body = await response.json()
                    if response.status != 201:
                        raise ClientError(body.get("error", "error"), body.get("message", ""))
        ws_url = self.base_url.replace("http", "ws", 1) + f"/ws?as={self.role}"
        self._ws = await self._http.ws_connect(
            ws_url, headers={"Origin": self.origin}, heartbeat=20, max_msg_size=0
        )
        if not self.use_cookie:
            await self._ws.send_json({"type": "auth", "token": self.token, "role": self.role})
        mark = len(self.received)
        ws = self._ws
        self._reader = asyncio.create_task(self._read(ws))
        # This socket's own welcome; a socket the desk closes first (1013 while Redis is
        # down, 1008 for a bad token) is a failed attempt, not a connection.
        welcomed: list[dict[str, Any]] = []

        def settled() -> bool:
            welcomed.extend(m for m in self.received[mark:] if m.get("type") == "welcome")
            return bool(welcomed) or ws.closed

        await self.wait_for(settled, CONNECT_TIMEOUT, what="welcome")
        if not welcomed:
            error = next((m for m in self.received[mark:] if m.get("type") == "error"), {})
            raise ClientError(error.get("code", "closed"), error.get("message", "closed"))
        self.desk_ice = welcomed[0].get("ice")
        return welcomed[0]

    async def reconnect(self) -> dict[str, Any]:
        """Drop the socket and open a new one (the session cookie stays)."""
        await self._drop_socket()
        self.reconnects += 1
        return await self.connect()

    async def close(self) -> None:
        self._closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reconnecting
        await self.end_media()
        await self.end_mesh()
        await self._drop_socket()
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _drop_socket(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._ws = None
        self._reader = None

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            message = msg.json()
            self.received.append(message)
            try:
                await self.on_message(message)
            except Exception:
                log.exception("bot failed handling %s", message.get("type"))
            async with self._changed:
                self._changed.notify_all()
        self.close_code = ws.close_code
        async with self._changed:
            self._changed.notify_all()
        reconnecting = self._reconnecting is not None and not self._reconnecting.done()
        if self.auto_reconnect and not self._closing and ws is self._ws and not reconnecting:
            # One reconnect loop at a time: a socket that fails inside it is its business.
            self._reconnecting = asyncio.create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        """Reconnect with jittered backoff (0, 0.3, 1.2, 2.7 s … capped at 10 s), moving
        on to the next of the desk's URLs after each failure, as the browser does."""
        started = time.monotonic()
        attempt = 0
        index = self.urls.index(self.base_url) if self.base_url in self.urls else 0
        while not self._closing:
            delay = min(10.0, 0.3 * attempt * attempt) * (1 + 0.3 * random.random())
            await asyncio.sleep(delay)
            if attempt > 0:
                index = (index + 1) % len(self.urls)
            self.base_url = self.urls[index]
            attempt += 1
            try:
                self._ws = None
                await self.connect()
            except Exception as exc:  # any failure: try the next URL after a pause
                log.debug("reconnect attempt %d failed: %s", attempt, type(exc).__name__)
                continue
            self.reconnects += 1
            self.reconnect_seconds.append(time.monotonic() - started)
            return

    # -- sending and waiting ------------------------------------------------------
    async def send(self, kind: str, **fields: Any) -> str:
        if self._ws is None or self._ws.closed:
            raise ClientError("not_connected", "the socket is closed")
        msg_id = f"m{next(self._ids)}"
        await self._ws.send_json({"type": kind, "id": msg_id, **fields})
        return msg_id

    async def wait_for(
        self, condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
    ) -> None:
        """Wait until ``condition()`` holds: checked on every message and every 50 ms
        (media counters change without a message)."""

        async def until() -> None:
            while not condition():
                async with self._changed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.05)

        try:
            await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            raise TimeoutError(f"{self.role} bot: no {what} within {timeout} s") from None

    async def next(
        self, message_type: str, timeout: float = 10.0, *, after: int = 0, **match: Any
    ) -> dict[str, Any]:
        """The first ``message_type`` message (matching fields) at index >= ``after``."""
        found: list[dict[str, Any]] = []

        def seen() -> bool:
            for message in self.received[after:]:
                if message.get("type") == message_type and all(
                    message.get(k) == v for k, v in match.items()
                ):
                    found.append(message)
                    return True
            return False

        await self.wait_for(seen, timeout, what=message_type)
        return found[0]

    def last(self, kind: str) -> dict[str, Any] | None:
        for message in reversed(self.received):
            if message.get("type") == kind:
                found: dict[str, Any] = message
                return found
        return None

    async def request(
        self, kind: str, reply: str, timeout: float = 10.0, **fields: Any
    ) -> dict[str, Any]:
        """Send and wait for ``reply`` or an error referring to this message."""
        mark = len(self.received)
        msg_id = await self.send(kind, **fields)
        found: list[dict[str, Any]] = []

        def answered() -> bool:
            for message in self.received[mark:]:
                if message.get("type") == reply or (
                    message.get("type") == "error" and message.get("ref") == msg_id
                ):
                    found.append(message)
                    return True
            return False

        await self.wait_for(answered, timeout, what=reply)
        if found[0].get("type") == "error":
            raise ClientError(found[0]["code"], found[0].get("message", ""))
        return found[0]

    # -- protocol -----------------------------------------------------------------
    async def on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "error":
            self.errors.append(message)
        elif kind == "call.started":
            await self.on_call_started(message)
        elif kind == "call.parties":
            await self.on_parties(message)
        elif kind == "call.peer" and message.get("status") == "connected":
            # The other party reconnected: both sides start a fresh connection.
            if self.media_enabled and self.call_id:
                await self.start_media(initiator=self.initiator)
        elif kind in ("call.sdp", "call.ice"):
            await self.on_signal(message)
        elif kind == "call.chat":
            self.chats.append(message)
        elif kind == "call.ended":
            await self.end_media()
            await self.end_mesh()
            self.call_id = ""

    async def on_call_started(self, message: dict[str, Any]) -> None:
        if message.get("call") != self.call_id:
            self._earlier_frames = (0, 0)
        self.call_id = str(message.get("call", ""))
        self.initiator = bool(message.get("initiator"))
        self.timings.call_started_at = time.monotonic()
        if message.get("resumed"):
            self.chats = list(message.get("history") or [])
        if self.media_enabled and self.principal:
            await self.start_media(initiator=self.initiator)

    async def on_signal(self, message: dict[str, Any]) -> None:
        """call.sdp / call.ice: for a connection of the mesh (``from``), or its own."""
        entry = self.mesh.get(str(message.get("from", "")))
        if message["type"] == "call.sdp" and entry is not None:
            await self.on_party_description(entry.handle, message["description"])
        elif message["type"] == "call.sdp":
            await self.on_description(message["description"])
        else:
            await self.on_candidate(message.get("candidate"), entry.media if entry else None)

    # -- media --------------------------------------------------------------------
    def configuration(self) -> Any:
        """ICE for the call: what the desk sent in ``welcome`` (servers, credentials and
        policy, as a browser gets them), unless this bot was given its own."""
        if self.ice_given or self.desk_ice is None:
            return aiortc_configuration(self.ice)
        return configuration_from_desk(self.desk_ice)

    async def start_media(self, *, initiator: bool) -> None:
        """A fresh peer connection for the call (after a reconnect too)."""
        await self.end_media()
        pc = RTCPeerConnection(self.configuration())
        media = CallMedia(pc=pc)
        self.media = media
        self._tracks = [SyntheticVideoTrack(), SyntheticAudioTrack()]
        for track in self._tracks:
            pc.addTrack(track)

        @pc.on("track")
        def on_track(track: Any) -> None:
            counter = media.video_in if track.kind == "video" else media.audio_in
            media.tasks.append(asyncio.create_task(self._count(track, counter)))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            state = pc.connectionState
            if state == "connected" and self.timings.connected_at is None:
                self.timings.connected_at = time.monotonic()
            if state in ("connected", "failed") and self.connected:
                with contextlib.suppress(ClientError, ConnectionError):
                    await self.send("call.media", state=state)

        if initiator:
            await pc.setLocalDescription(await pc.createOffer())
            await self.send(
                "call.sdp",
                description={"type": "offer", "sdp": pc.localDescription.sdp},
            )
            media.tasks.append(asyncio.create_task(self._watch(media)))

    async def _watch(self, media: CallMedia) -> None:
        """The offering side starts again if no connection comes up in time: an offer
        or answer can be lost while either party reconnects to another process."""
        await asyncio.sleep(NEGOTIATION_TIMEOUT)
        stalled = media.pc.connectionState != "connected" and media.video_in.count == 0
        if self.media is media and stalled and self.call_id:
            log.info("no media connection after %.0f s: offering again", NEGOTIATION_TIMEOUT)
            asyncio.create_task(self.start_media(initiator=True))

    async def _count(self, track: Any, counter: FrameCounter) -> None:
        run = asyncio.create_task(counter.run(track))
        first = await counter.wait_for(1)
        if first:
            now = time.monotonic()
            if track.kind == "video" and self.timings.first_video_at is None:
                self.timings.first_video_at = now
            if track.kind == "audio" and self.timings.first_audio_at is None:
                self.timings.first_audio_at = now
        await run

    async def on_description(self, description: dict[str, str]) -> None:
        media = self.media
        if media is None:
            return
        if description["type"] == "offer" and media.pc.remoteDescription is not None:
            # A new offer after a reconnect: answer it on a fresh connection (aiortc
            # does not renegotiate an established one reliably).
            await self.start_media(initiator=False)
            if self.media is None:
                return
            media = self.media
        pc = media.pc
        if description["type"] == "answer" and pc.signalingState != "have-local-offer":
            return  # an answer to an offer this connection did not make
        await pc.setRemoteDescription(
            RTCSessionDescription(sdp=description["sdp"], type=description["type"])
        )
        if description["type"] == "offer":
            await pc.setLocalDescription(await pc.createAnswer())
            await self.send(
                "call.sdp", description={"type": "answer", "sdp": pc.localDescription.sdp}
            )

    async def on_candidate(
        self, candidate: dict[str, Any] | None, media: CallMedia | None = None
    ) -> None:
        media = media or self.media
        if media is None or media.pc.remoteDescription is None:
            return
        if candidate is None or not candidate.get("candidate"):
            await media.pc.addIceCandidate(None)
            return
        parsed = candidate_from_sdp(candidate["candidate"].removeprefix("candidate:"))
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
        await media.pc.addIceCandidate(parsed)

    async def end_media(self) -> None:
        media, self.media = self.media, None
        if media is not None:
            # Frames of an earlier connection of the same call still count.
            video, audio = self._earlier_frames
            self._earlier_frames = (video + media.video_in.count, audio + media.audio_in.count)
            await media.close()
        for track in self._tracks:
            track.stop()
        self._tracks = []

    # -- the mesh (calls with guests) ------------------------------------------------
    async def on_parties(self, message: dict[str, Any]) -> None:
        """call.parties: connect to newcomers (offering to those who joined earlier),
        drop who left, start again with who joined again (a new seq)."""
        if not self.media_enabled or message.get("call") != self.call_id:
            return
        you = str(message.get("you", ""))
        parties = {str(p["handle"]): int(p["seq"]) for p in message.get("parties", [])}
        seq = parties.get(you, -1)
        if self.seq != -1 and seq != self.seq:
            await self.end_mesh()  # this bot joined again: everyone starts afresh with it
        self.handle, self.seq = you, seq
        others = {h: s for h, s in parties.items() if h not in (you, self.principal)}
        for handle in list(self.mesh):
            if others.get(handle) != self.mesh[handle].seq:
                await self.mesh.pop(handle).close()
        for handle, their_seq in others.items():
            if handle not in self.mesh:
                await self._mesh_connect(handle, their_seq)

    async def _mesh_connect(self, handle: str, seq: int) -> None:
        pc = RTCPeerConnection(self.configuration())
        entry = PartyMedia(handle, seq, CallMedia(pc=pc))
        entry.tracks = [SyntheticVideoTrack(), SyntheticAudioTrack()]
        for track in entry.tracks:
            pc.addTrack(track)
        self.mesh[handle] = entry

        @pc.on("track")
        def on_track(track: Any) -> None:
            counter = entry.media.video_in if track.kind == "video" else entry.media.audio_in
            entry.media.tasks.append(asyncio.create_task(self._count_party(entry, track, counter)))

        if self.seq > seq:  # of two parties, the one who joined later offers
            await pc.setLocalDescription(await pc.createOffer())
            await self.send(
                "call.sdp", description={"type": "offer", "sdp": pc.localDescription.sdp}, to=handle
            )

    async def _count_party(self, entry: PartyMedia, track: Any, counter: FrameCounter) -> None:
        run = asyncio.create_task(counter.run(track))
        if await counter.wait_for(1) and track.kind == "video" and entry.first_video_at is None:
            entry.first_video_at = time.monotonic()
        await run

    async def on_party_description(self, sender: str, description: dict[str, str]) -> None:
        entry = self.mesh[sender]
        pc = entry.media.pc
        if description["type"] == "answer" and pc.signalingState != "have-local-offer":
            return
        await pc.setRemoteDescription(
            RTCSessionDescription(sdp=description["sdp"], type=description["type"])
        )
        if description["type"] == "offer":
            await pc.setLocalDescription(await pc.createAnswer())
            answer = {"type": "answer", "sdp": pc.localDescription.sdp}
            await self.send("call.sdp", description=answer, to=sender)

    async def end_mesh(self) -> None:
        mesh, self.mesh = self.mesh, {}
        for entry in mesh.values():
            await entry.close()
        self.seq = -1

    def party_first_video(self, handle: str) -> float | None:
        """When the first video frame from that party of the mesh arrived (monotonic)."""
        entry = self.mesh.get(handle)
        return None if entry is None else entry.first_video_at

    def frames_received(self) -> tuple[int, int]:
        """(video, audio) frames received in the current call, over all its connections."""
        video, audio = self._earlier_frames
        if self.media is None:
            return video, audio
        return video + self.media.video_in.count, audio + self.media.audio_in.count


class PatientBot(Bot):
    role = "patient"

    async def join(
        self, name: str = "Bot", reason: str = "", language: str = "en"
    ) -> dict[str, Any]:
        """Join the queue; returns the first queue.state that shows the place."""
        mark = len(self.received)
        await self.request(
            "queue.join", "queue.joined", name=name, reason=reason, language=language
        )
        found: list[dict[str, Any]] = []

        def placed() -> bool:
            for message in self.received[mark:]:
                if message.get("type") == "queue.state" and message.get("state") in ACTIVE:
                    found.append(message)
                    return True
            return False

        await self.wait_for(placed, what="a place in the queue")
        return found[0]


class AgentBot(Bot):
    """An agent; with ``auto_accept`` it accepts every offer at once."""

    role = "agent"
    principal = "patient"

    def __init__(self, *args: Any, auto_accept: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.auto_accept = auto_accept

    async def on_message(self, message: dict[str, Any]) -> None:
        await super().on_message(message)
        if message.get("type") == "agent.offer" and self.auto_accept:
            await self.accept(message)

    async def accept(self, offer: dict[str, Any]) -> None:
        self.timings = Timings(accepted_at=time.monotonic())
        await self.send("agent.accept", token=offer["token"])

    async def available(self) -> None:
        await self.send("agent.status", status="available")


class GuestBot(Bot):
    """A guest of a call (an interpreter, a carer, a clinician) with its link's token.

    It has no connection of its own (no principal): with media on, it connects to every
    other party through the mesh, as the browser's guest page does (lib/mesh.js). Off by
    default: the protocol tests need none.
    """

    role = "guest"
    principal = ""

    def __init__(self, *args: Any, media: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, media=media, **kwargs)

    async def join_call(self, name: str = "Lucía") -> dict[str, Any]:
        """guest.join (the lobby's consent given); returns call.started."""
        return await self.request("guest.join", "call.started", name=name, consent=True)

    def parties(self) -> dict[str, Any] | None:
        """The last call.parties: who is in the call."""
        return self.last("call.parties")
