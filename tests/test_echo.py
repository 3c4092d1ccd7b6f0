"""The lobby's echo peer with real aiortc media over loopback, and the synthetic tracks.

Every wait is bounded (generous timeouts, never asserted timings); every peer is closed.
"""

from __future__ import annotations

import asyncio
import fractions
import re
from collections.abc import AsyncIterator

import pytest
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from av import AudioFrame, VideoFrame

from signaling.echo import RTT_CHANNEL_LABEL, EchoPeer
from signaling.ice import IceConfig
from signaling.media import FrameCounter, SyntheticAudioTrack, SyntheticVideoTrack
from signaling.sdp import check_description
from tests.support.loopback import loopback_ice  # noqa: F401
from tests.test_sdp import CHROMIUM_CANDIDATES, CHROMIUM_OFFER

pytestmark = pytest.mark.usefixtures("loopback_ice")

WAIT = 15.0  # seconds; generous, so a loaded machine does not fail the test


class Client:
    """A headless caller: synthetic camera and microphone plus an ``rtt`` data channel."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.video = FrameCounter()
        self.audio = FrameCounter()
        self.connected = asyncio.Event()
        self.closed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._sent: list[MediaStreamTrack] = [SyntheticVideoTrack(), SyntheticAudioTrack()]
        for track in self._sent:
            self.pc.addTrack(track)
        self.channel: RTCDataChannel = self.pc.createDataChannel(RTT_CHANNEL_LABEL)
        self.channel_open = asyncio.Event()
        self._replies: asyncio.Queue[str] = asyncio.Queue()
        self.channel.on("open", self.channel_open.set)
        self.channel.on("message", self._on_message)
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    def _on_track(self, track: MediaStreamTrack) -> None:
        counter = self.video if track.kind == "video" else self.audio
        self._tasks.append(asyncio.ensure_future(counter.run(track)))

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected":
            self.connected.set()
        elif self.pc.connectionState == "closed":
            self.closed.set()

    def _on_message(self, message: str | bytes) -> None:
        if isinstance(message, str):
            self._replies.put_nowait(message)

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        sdp: str = self.pc.localDescription.sdp
        return sdp

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def ping(self, text: str) -> float:
        """Send ``text`` on the rtt channel; the round trip in seconds once it comes back."""
        await self.channel_open.wait()
        loop = asyncio.get_running_loop()
        sent = loop.time()
        self.channel.send(text)
        while (await self._replies.get()) != text:
            pass
        return loop.time() - sent

    async def close(self) -> None:
        await self.pc.close()
        for track in self._sent:
            track.stop()
        # A received track whose receiver never started never ends: cancel its reader.
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=WAIT)


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    caller = Client()
    try:
        yield caller
    finally:
        await caller.close()


@pytest.fixture
async def peers() -> AsyncIterator[list[EchoPeer]]:
    """Echo peers a test creates; all are closed afterwards, whatever happened."""
    created: list[EchoPeer] = []
    try:
        yield created
    finally:
        for peer in created:
            await peer.close()
            assert peer.closed.is_set()
            assert peer.connection_state == "closed"


async def _relay_tasks_end() -> None:
    """Wait (bounded) until no MediaRelay reader task is left: nothing of a peer leaks."""

    def relay_tasks() -> list[asyncio.Task[object]]:
        return [
            task
            for task in asyncio.all_tasks()
            if "MediaRelay" in getattr(task.get_coro(), "__qualname__", "")
        ]

    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while relay_tasks() and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert relay_tasks() == []


def _strip_candidates(sdp: str) -> tuple[str, list[tuple[str, str]]]:
    """The offer without candidates, and the (candidate, mid) pairs to trickle instead."""
    kept: list[str] = []
    trickled: list[tuple[str, str]] = []
    section: list[str] = []  # candidates of the current media section
    mid = ""

    def end_section() -> None:
        trickled.extend((candidate, mid) for candidate in section)
        section.clear()

    for line in sdp.split("\r\n"):
        if line.startswith("m="):
            end_section()
        elif line.startswith("a=mid:"):
            mid = line.removeprefix("a=mid:")
        elif line.startswith("a=candidate:"):
            section.append(line.removeprefix("a="))
            continue
        elif line == "a=end-of-candidates":
            continue
        kept.append(line)
    end_section()
    return "\r\n".join(kept), trickled


# --- a full echo call ---------------------------------------------------------------------


async def test_echo_call(client: Client, peers: list[EchoPeer]) -> None:
    loop = asyncio.get_running_loop()
    peer = EchoPeer(IceConfig(), session_id="test-echo")
    peers.append(peer)

    offer = await client.offer()
    started = loop.time()
    answer = await peer.answer(offer)
    check_description("answer", answer)
    assert answer.count("a=sendrecv") == 2  # the echo tracks were added
    await client.accept(answer)

    await asyncio.wait_for(client.connected.wait(), WAIT)
    connected = loop.time()
    assert await asyncio.wait_for(client.video.wait_for(10), WAIT)
    assert await asyncio.wait_for(client.audio.wait_for(10), WAIT)
    assert client.video.first_frame_at is not None
    rtts = [await asyncio.wait_for(client.ping(f"ping {n}"), WAIT) for n in range(20)]

    assert client.video.last_size == (320, 240)
    assert client.audio.last_size is not None and client.audio.last_size[0] == 960
    assert peer.frames_echoed >= 10 and peer.audio_frames_echoed >= 10
    assert peer.pings_answered == 20
    assert peer.connection_state == "connected"
    rtts.sort()
    print(
        f"echo: connected {1000 * (connected - started):.0f} ms after the offer, "
        f"first echoed frame {1000 * (client.video.first_frame_at - started):.0f} ms, "
        f"data channel RTT median {1000 * rtts[len(rtts) // 2]:.2f} ms "
        f"(min {1000 * rtts[0]:.2f}, max {1000 * rtts[-1]:.2f})"
    )

    await peer.close()
    assert peer.closed.is_set() and peer.close_reason == "closed"
    # The client learns of the end: aiortc closes itself once DTLS is closed.
    await asyncio.wait_for(client.closed.wait(), WAIT)
    await peer.close()  # idempotent
    await _relay_tasks_end()


async def test_trickled_candidates_connect(client: Client, peers: list[EchoPeer]) -> None:
    peer = EchoPeer(IceConfig())
    peers.append(peer)
    offer, trickled = _strip_candidates(await client.offer())
    assert "a=candidate:" not in offer and trickled

    # The first candidate arrives before the offer is applied, as it can with a browser.
    first, *rest = trickled
    await peer.add_candidate(first[0], first[1], None)
    answer = await peer.answer(offer)
    await client.accept(answer)
    for candidate, mid in rest:
        await peer.add_candidate(candidate, mid, None)
    await peer.add_candidate("", None, None)

    await asyncio.wait_for(client.connected.wait(), WAIT)
    assert await asyncio.wait_for(client.video.wait_for(10), WAIT)


async def test_max_lifetime_closes_a_connected_peer(client: Client, peers: list[EchoPeer]) -> None:
    peer = EchoPeer(IceConfig(), max_lifetime=2.0)
    peers.append(peer)
    await client.accept(await peer.answer(await client.offer()))
    await asyncio.wait_for(client.connected.wait(), WAIT)
    await asyncio.wait_for(peer.closed.wait(), WAIT)
    assert peer.close_reason == "max_lifetime"
    await asyncio.wait_for(client.closed.wait(), WAIT)


# --- peers that must close themselves ---------------------------------------------------


async def test_client_never_connects(client: Client, peers: list[EchoPeer]) -> None:
    peer = EchoPeer(IceConfig(), connect_timeout=1.0)
    peers.append(peer)
    await peer.answer(await client.offer())
    # The client never applies the answer, so neither ICE nor DTLS completes.
    await asyncio.wait_for(peer.closed.wait(), WAIT)
    assert peer.close_reason == "connect_timeout"
    assert peer.connection_state == "closed"
    await _relay_tasks_end()


async def test_never_answered(peers: list[EchoPeer]) -> None:
    peer = EchoPeer(IceConfig(), connect_timeout=0.5)
    peers.append(peer)
    await asyncio.wait_for(peer.closed.wait(), WAIT)
    assert peer.close_reason == "connect_timeout"
    with pytest.raises(RuntimeError):
        await peer.answer(CHROMIUM_OFFER)


@pytest.mark.parametrize("offer", ["", "garbage", CHROMIUM_OFFER.replace("a=setup:actpass", "")])
async def test_rejected_offer(offer: str, peers: list[EchoPeer]) -> None:
    peer = EchoPeer(IceConfig())
    peers.append(peer)
    with pytest.raises(ValueError, match="rejected"):
        await peer.answer(offer)
    assert peer.closed.is_set() and peer.close_reason == "answer_failed"


async def test_offer_aiortc_cannot_answer(peers: list[EchoPeer]) -> None:
    # Passes the relay checks, but aiortc needs ICE credentials.
    offer = re.sub(r"a=ice-(ufrag|pwd):.*\r\n", "", CHROMIUM_OFFER)
    check_description("offer", offer)
    peer = EchoPeer(IceConfig())
    peers.append(peer)
    with pytest.raises(ValueError, match="could not be answered"):
        await peer.answer(offer)
    assert peer.closed.is_set() and peer.close_reason == "answer_failed"


# --- answering a browser ----------------------------------------------------------------


async def test_answers_chromium_offer(peers: list[EchoPeer]) -> None:
    peer = EchoPeer(IceConfig())
    peers.append(peer)
    answer = await peer.answer(CHROMIUM_OFFER)
    check_description("answer", answer)
    assert answer.count("a=sendrecv") == 2
    assert "VP8/90000" in answer and "opus/48000/2" in answer
    assert " 127.0.0.1 " in answer  # gathered on loopback only
    for index, candidate in enumerate(CHROMIUM_CANDIDATES[:3]):
        await peer.add_candidate(candidate, "0", index % 3)
    with pytest.raises(RuntimeError):
        await peer.answer(CHROMIUM_OFFER)


@pytest.mark.parametrize(
    ("candidate", "mid", "index"),
    [
        ("candidate:garbage", "0", 0),
        ("not a candidate", "0", 0),
        (CHROMIUM_CANDIDATES[0] + "\r\na=crypto:x", "0", 0),
        (CHROMIUM_CANDIDATES[0], None, None),  # names no media section
        (CHROMIUM_CANDIDATES[0], "0", 9),
    ],
)
async def test_bad_candidates(
    candidate: str, mid: str | None, index: int | None, peers: list[EchoPeer]
) -> None:
    peer = EchoPeer(IceConfig())
    peers.append(peer)
    await peer.answer(CHROMIUM_OFFER)
    with pytest.raises(ValueError):
        await peer.add_candidate(candidate, mid, index)


async def test_candidates_after_close_are_ignored(peers: list[EchoPeer]) -> None:
    peer = EchoPeer(IceConfig())
    peers.append(peer)
    await peer.close()
    await peer.add_candidate(CHROMIUM_CANDIDATES[0], "0", 0)
    with pytest.raises(RuntimeError):
        await peer.answer(CHROMIUM_OFFER)


def test_timeouts_must_be_positive() -> None:
    with pytest.raises(ValueError):
        EchoPeer(IceConfig(), connect_timeout=0)


# --- synthetic media ----------------------------------------------------------------------


async def test_synthetic_video_frames() -> None:
    track = SyntheticVideoTrack(width=160, height=120, fps=30)
    frames = [await track.recv() for _ in range(3)]
    track.stop()
    assert all(isinstance(f, VideoFrame) for f in frames)
    assert [(f.width, f.height, f.format.name) for f in frames] == [(160, 120, "yuv420p")] * 3
    assert [f.pts for f in frames] == [0, 3000, 6000]
    assert frames[0].time_base == fractions.Fraction(1, 90000)
    # The picture moves and carries the frame number.
    assert bytes(frames[0].planes[0]) != bytes(frames[1].planes[0])


async def test_synthetic_audio_frames() -> None:
    for stereo, channels in ((False, 1), (True, 2)):
        track = SyntheticAudioTrack(stereo=stereo)
        frames = [await track.recv() for _ in range(3)]
        track.stop()
        assert all(isinstance(f, AudioFrame) for f in frames)
        assert [f.pts for f in frames] == [0, 960, 1920]
        assert {(f.samples, f.sample_rate, len(f.layout.channels)) for f in frames} == {
            (960, 48000, channels)
        }
        assert any(bytes(frames[0].planes[0]))  # a tone, not silence


@pytest.mark.parametrize(("width", "height"), [(2, 2), (176, 144), (322, 242), (640, 480)])
async def test_synthetic_video_sizes(width: int, height: int) -> None:
    # Plane rows can be padded past the picture width; every size must fill its planes.
    track = SyntheticVideoTrack(width=width, height=height, fps=1000)
    frame = await track.recv()
    track.stop()
    assert (frame.width, frame.height) == (width, height)
    assert frame.planes[0].line_size >= width


@pytest.mark.parametrize("kwargs", [{"width": 0}, {"width": 321}, {"fps": 0}])
def test_synthetic_video_refuses_bad_sizes(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SyntheticVideoTrack(**kwargs)  # type: ignore[arg-type]


async def test_frame_counter_ends_with_the_track() -> None:
    track = SyntheticVideoTrack(fps=100)
    counter = FrameCounter()
    task = asyncio.ensure_future(counter.run(track))
    assert await asyncio.wait_for(counter.wait_for(3), WAIT)
    track.stop()
    await asyncio.wait_for(task, WAIT)
    assert counter.ended and counter.count >= 3 and counter.last_size == (320, 240)
    assert not await asyncio.wait_for(counter.wait_for(10_000), WAIT)
