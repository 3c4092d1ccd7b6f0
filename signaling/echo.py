"""The lobby's connection test: a server-side aiortc peer that echoes media back.

The browser (or a bot) sends its camera and microphone; :class:`EchoPeer` sends both
straight back and answers text messages on a data channel labelled ``"rtt"`` with the
same text, so the client can measure the round trip. The peer always ends: it closes
itself when it is not connected within ``connect_timeout``, after ``max_lifetime``, when
the connection fails, and when answering fails.

aiortc decodes and re-encodes echoed video, so each peer costs CPU (about 15% of a core
for 640x480 VP8); the caller limits how many run at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcicetransport import RTCIceCandidate
from aiortc.sdp import candidate_from_sdp
from av.frame import Frame
from av.packet import Packet

from signaling.candidates import CandidateScope
from signaling.host_addresses import gather_also_on
from signaling.ice import IceConfig, aiortc_configuration
from signaling.media import FrameCounter
from signaling.sdp import CandidateBudget, SdpRejected, check_description

__all__ = ["RTT_CHANNEL_LABEL", "EchoPeer"]

logger = logging.getLogger(__name__)

RTT_CHANNEL_LABEL = "rtt"


class _EchoTrack(MediaStreamTrack):
    """Sends what a relay proxy yields, counting frames on the way."""

    def __init__(self, source: MediaStreamTrack, on_frame: Callable[[str], None]) -> None:
        super().__init__()
        self.kind = source.kind
        self._source = source
        self._on_frame = on_frame

    async def recv(self) -> Frame | Packet[Any]:
        frame = await self._source.recv()
        self._on_frame(self.kind)
        return frame

    def stop(self) -> None:
        super().stop()
        self._source.stop()


class EchoPeer:
    """One connection test: answer an offer, echo media, answer pings, then close.

    ``ice`` gives the STUN/TURN servers (none is fine: host candidates only); the peer
    closes itself when not connected ``connect_timeout`` seconds after it was created, and
    ``max_lifetime`` seconds after it was created in any case. ``session_id`` is an opaque
    id for log lines. ``scope`` limits the client's candidates the peer sends checks to
    and the addresses it advertises (:mod:`signaling.candidates`).

    Create it inside a running event loop: the watchdog starts at once, so the peer closes
    itself even if :meth:`answer` is never called. Await ``closed`` to learn when it has
    ended.
    """

    def __init__(
        self,
        ice: IceConfig,
        *,
        connect_timeout: float = 10.0,
        max_lifetime: float = 60.0,
        session_id: str = "-",
        scope: CandidateScope | None = None,
    ) -> None:
        if connect_timeout <= 0 or max_lifetime <= 0:
            raise ValueError("timeouts must be positive")
        self.closed = asyncio.Event()
        """Set once the peer connection is closed."""
        self.connect_timeout = connect_timeout
        self.max_lifetime = max_lifetime
        self.session_id = session_id
        self.scope = scope
        """Which candidates may be used and advertised (None: any, for tests of the peer)."""
        self.frames_echoed = 0
        """Video frames sent back."""
        self.audio_frames_echoed = 0
        """Audio frames sent back."""
        self.pings_answered = 0
        """Messages echoed on the ``rtt`` data channel."""
        self.close_reason: str | None = None
        """Why the peer closed: "closed", "connect_timeout", "max_lifetime", "failed",
        "answer_failed"."""

        self._connected = asyncio.Event()
        self._budget = CandidateBudget()
        self._answer_started = False
        self._remote_applied = False
        # Candidates trickled before the offer was applied: the browser sends them as
        # soon as it has them, possibly before answer() got to setRemoteDescription.
        self._early_candidates: list[RTCIceCandidate | None] = []
        self._relay = MediaRelay()
        self._tracks: list[MediaStreamTrack] = []
        self._drains: list[MediaStreamTrack] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._close_task: asyncio.Task[None] | None = None

        # Never the default configuration: it would send STUN to Google (ARCHITECTURE).
        self._pc = RTCPeerConnection(aiortc_configuration(ice))
        self._pc.on("connectionstatechange", self._on_connection_state)
        self._pc.on("track", self._on_track)
        self._pc.on("datachannel", self._on_datachannel)
        self._watchdog = asyncio.get_running_loop().create_task(self._watch())

    @property
    def connection_state(self) -> str:
        """aiortc's ``connectionState``: new, connecting, connected, failed or closed."""
        state: str = self._pc.connectionState
        return state

    async def answer(self, offer_sdp: str) -> str:
        """Apply the client's offer and return the answer SDP, candidates included.

        Raises ``ValueError`` (and closes the peer) when the offer is rejected by
        :func:`signaling.sdp.check_description` or aiortc cannot answer it,
        ``TimeoutError`` (and closes) when answering takes longer than ``connect_timeout``,
        and ``RuntimeError`` when called twice or after the peer closed.
        """
        if self._close_task is not None:
            raise RuntimeError("the echo peer is closed")
        if self._answer_started:
            raise RuntimeError("the echo peer answers one offer only")
        self._answer_started = True
        try:
            check_description("offer", offer_sdp)
        except SdpRejected as exc:
            await self._close("answer_failed")
            raise ValueError(f"the offer was rejected: {exc.message} ({exc.code})") from exc
        try:
            async with asyncio.timeout(self.connect_timeout):
                return await self._negotiate(offer_sdp)
        except TimeoutError:
            await self._close("answer_failed")
            raise TimeoutError("answering the offer took too long") from None
        except Exception as exc:
            # aiortc raises ValueError, InternalError, OperationError... for offers it
            # cannot take (no common codec, missing ICE credentials, closed meanwhile).
            logger.info("echo %s: answer failed (%s)", self.session_id, type(exc).__name__)
            await self._close("answer_failed")
            raise ValueError("the offer could not be answered") from exc

    async def _negotiate(self, offer_sdp: str) -> str:
        if self.scope is not None:
            offer_sdp = self.scope.filter_remote_sdp(offer_sdp)
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        self._remote_applied = True
        early, self._early_candidates = self._early_candidates, []
        for candidate in early:
            await self._pc.addIceCandidate(candidate)
        # aiortc gathers all its candidates inside setLocalDescription: the answer
        # carries them and nothing is trickled back. A loopback address the page
        # reached the desk on is gathered too (aioice leaves loopback out).
        advertised = () if self.scope is None else self.scope.host_addresses
        with gather_also_on(advertised):
            await self._pc.setLocalDescription(await self._pc.createAnswer())
        sdp: str = self._pc.localDescription.sdp
        return sdp if self.scope is None else self.scope.filter_local_sdp(sdp)

    async def add_candidate(
        self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        """Add a candidate trickled by the client; ``""`` marks the end of candidates.

        Raises ``ValueError`` for a candidate that is malformed, over the per-call budget,
        or names no media section.
        """
        if self._close_task is not None:
            return
        try:
            self._budget.check_candidate(candidate, sdp_mid, sdp_mline_index)
        except SdpRejected as exc:
            raise ValueError(f"the candidate was rejected: {exc.message}") from exc
        parsed: RTCIceCandidate | None = None
        if candidate:
            if sdp_mid is None and sdp_mline_index is None:
                raise ValueError("the candidate names no media section")
            try:
                parsed = candidate_from_sdp(candidate.removeprefix("candidate:"))
            except Exception:
                # aiortc's candidate parser asserts and int()s untrusted text.
                raise ValueError("the candidate could not be parsed") from None
            parsed.sdpMid = sdp_mid
            parsed.sdpMLineIndex = sdp_mline_index
            problem = None if self.scope is None else self.scope.remote_problem(candidate)
            if problem is not None:
                # Not an error of the client's: the test simply does not use it.
                logger.debug("echo %s: candidate not used (%s)", self.session_id, problem)
                return
        if not self._remote_applied:
            self._early_candidates.append(parsed)
            return
        try:
            await self._pc.addIceCandidate(parsed)
        except Exception as exc:
            raise ValueError("the candidate could not be added") from exc

    async def close(self) -> None:
        """Close the peer connection; safe to call more than once and concurrently."""
        await self._close("closed")

    async def _close(self, reason: str) -> None:
        # Shielded: a caller cancelled mid-close must not leave a half-closed peer.
        await asyncio.shield(self._begin_close(reason))

    def _begin_close(self, reason: str) -> asyncio.Task[None]:
        """Start closing (once; the first reason wins) and return the closing task.

        Callbacks and the watchdog call this without waiting for the task.
        """
        if self._close_task is None:
            self.close_reason = reason
            self._close_task = asyncio.get_running_loop().create_task(self._shutdown())
        return self._close_task

    async def _shutdown(self) -> None:
        logger.info("echo %s: closing (%s)", self.session_id, self.close_reason)
        self._watchdog.cancel()
        try:
            await self._pc.close()
        except Exception as exc:
            logger.warning("echo %s: close raised %s", self.session_id, type(exc).__name__)
        finally:
            for track in self._tracks:
                track.stop()
            # Cancelled, not awaited to the end: a stopped relay proxy does not wake its
            # reader. Waiting for them keeps "closed" meaning nothing of this peer runs.
            for task in list(self._tasks):
                task.cancel()
            await asyncio.wait([self._watchdog, *self._tasks])
            self.closed.set()
        logger.info(
            "echo %s: closed; %d video and %d audio frames echoed, %d pings answered",
            self.session_id,
            self.frames_echoed,
            self.audio_frames_echoed,
            self.pings_answered,
        )

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_lifetime
        try:
            async with asyncio.timeout(min(self.connect_timeout, self.max_lifetime)):
                await self._connected.wait()
        except TimeoutError:
            logger.info("echo %s: not connected in time", self.session_id)
            self._begin_close("connect_timeout")
            return
        logger.info("echo %s: connected", self.session_id)
        await asyncio.sleep(max(0.0, deadline - loop.time()))
        self._begin_close("max_lifetime")

    def _on_connection_state(self) -> None:
        state = self._pc.connectionState
        if state == "connected":
            self._connected.set()
            for drain in self._drains:
                self._spawn(FrameCounter().run(drain))
        elif state == "failed":
            self._begin_close("failed")
        elif state == "closed":
            # aiortc closes itself when the remote end closes DTLS.
            self._begin_close("closed")

    def _on_track(self, track: MediaStreamTrack) -> None:
        # The echo sender reads only while it sends, so a drain subscriber also reads the
        # relay: the received track is consumed even if the sender never runs (a sendonly
        # offer) or lags behind. Unbuffered proxies keep only the latest frame, so a slow
        # encoder drops frames instead of queueing them.
        #
        # The drain starts once connected, not now: frames arrive only after DTLS is up,
        # and a received track whose receiver never started never ends, so a relay reading
        # it would outlive the closed peer.
        drain = self._relay.subscribe(track, buffered=False)
        echo = _EchoTrack(self._relay.subscribe(track, buffered=False), self._count_echoed)
        self._tracks += [drain, echo]
        self._drains.append(drain)
        if self._connected.is_set():
            self._spawn(FrameCounter().run(drain))
        self._pc.addTrack(echo)

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        if channel.label != RTT_CHANNEL_LABEL:
            return

        def on_message(message: str | bytes) -> None:
            if isinstance(message, str) and channel.readyState == "open":
                channel.send(message)
                self.pings_answered += 1

        channel.on("message", on_message)

    def _count_echoed(self, kind: str) -> None:
        if kind == "video":
            self.frames_echoed += 1
        else:
            self.audio_frames_echoed += 1

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        # Held in a set: the event loop keeps only weak references to tasks.
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
