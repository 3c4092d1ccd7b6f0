"""Synthetic media for headless peers, and a consumer that counts received frames.

The tracks need no camera, microphone or numpy: frames are filled with bytes. They are
paced on the event loop's monotonic clock like aiortc's own ``VideoStreamTrack`` and
``AudioStreamTrack``, so an encoder sees a real-time stream.

:class:`FrameCounter` exists because aiortc queues received frames without bound: a
track nobody reads grows memory for as long as the call lasts.
"""

from __future__ import annotations

import array
import asyncio
import fractions
import logging
import math

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

__all__ = ["FrameCounter", "SyntheticAudioTrack", "SyntheticVideoTrack"]

logger = logging.getLogger(__name__)

VIDEO_CLOCK_RATE = 90_000
AUDIO_SAMPLE_RATE = 48_000
AUDIO_PTIME = 0.020

# SMPTE-style colour bars in limited-range BT.601 YUV: white, yellow, cyan, green,
# magenta, red, blue, black.
_BARS_Y = (235, 210, 170, 145, 106, 81, 41, 16)
_BARS_U = (128, 16, 166, 54, 202, 90, 240, 128)
_BARS_V = (128, 146, 16, 34, 222, 240, 110, 128)
_COUNTER_BITS = 16
_COUNTER_ROWS = 16  # luma rows at the top that show the frame counter in binary


class _PacedTrack(MediaStreamTrack):
    """Shared pacing: frame ``n`` is released at ``start + n * period``."""

    def __init__(self, period: float) -> None:
        super().__init__()
        self._period = period
        self._start: float | None = None
        self._count = 0

    async def _next_index(self) -> int:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            # Sleep to an absolute deadline so scheduling delays do not accumulate.
            delay = self._start + self._count * self._period - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        index = self._count
        self._count += 1
        return index


class SyntheticVideoTrack(_PacedTrack):
    """Moving colour bars with the frame number drawn as 16 binary blocks at the top.

    ``yuv420p`` frames of ``width`` x ``height`` (both even) at ``fps`` frames per
    second, timestamps on the 90 kHz RTP video clock.
    """

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: float = 15.0) -> None:
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise ValueError("width and height must be positive and even")
        if fps <= 0:
            raise ValueError("fps must be positive")
        super().__init__(1.0 / fps)
        self.width = width
        self.height = height
        self.fps = fps
        self._time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        self._bars_y = _bars(_BARS_Y, width)
        self._bars_u = _bars(_BARS_U, width // 2)
        self._bars_v = _bars(_BARS_V, width // 2)

    async def recv(self) -> VideoFrame:
        """The next frame, released in real time."""
        index = await self._next_index()
        frame = VideoFrame(width=self.width, height=self.height, format="yuv420p")
        # The bars move by 4 luma pixels per frame, so a frozen picture is visible.
        shift = (index * 4) % self.width
        counter_rows = min(_COUNTER_ROWS, self.height)
        luma = frame.planes[0]
        luma.update(
            self._counter_row(index, luma.line_size) * counter_rows
            + _rotated(self._bars_y, shift, luma.line_size) * (self.height - counter_rows)
        )
        for plane, bars in ((frame.planes[1], self._bars_u), (frame.planes[2], self._bars_v)):
            # Chroma is subsampled 2x2: half the shift, half the rows; grey under the counter.
            grey = bytes([128]) * plane.line_size
            rows = _rotated(bars, shift // 2, plane.line_size)
            plane.update(grey * (counter_rows // 2) + rows * (plane.height - counter_rows // 2))
        frame.pts = round(index * VIDEO_CLOCK_RATE / self.fps)
        frame.time_base = self._time_base
        return frame

    def _counter_row(self, index: int, line_size: int) -> bytes:
        block = max(1, self.width // _COUNTER_BITS)
        row = bytearray([16]) * line_size
        for bit in range(min(_COUNTER_BITS, self.width // block)):
            if index >> (_COUNTER_BITS - 1 - bit) & 1:
                row[bit * block : (bit + 1) * block] = bytes([235]) * block
        return bytes(row)


def _bars(values: tuple[int, ...], width: int) -> bytes:
    return bytes(values[(x * len(values)) // width] for x in range(width))


def _rotated(row: bytes, shift: int, line_size: int) -> bytes:
    # Planes may be padded past the picture width (line_size); the padding is not shown.
    return row[shift:] + row[:shift] + bytes(line_size - len(row))


class SyntheticAudioTrack(_PacedTrack):
    """A 440 Hz tone in 20 ms frames of signed 16-bit 48 kHz samples, mono or stereo."""

    kind = "audio"

    def __init__(self, stereo: bool = False, frequency: int = 440) -> None:
        if not 0 < frequency < AUDIO_SAMPLE_RATE // 2:
            raise ValueError("the tone frequency must be below the Nyquist frequency")
        super().__init__(AUDIO_PTIME)
        self.layout = "stereo" if stereo else "mono"
        self.samples = int(AUDIO_SAMPLE_RATE * AUDIO_PTIME)
        self._channels = 2 if stereo else 1
        self._time_base = fractions.Fraction(1, AUDIO_SAMPLE_RATE)
        # One second holds a whole number of cycles of an integer frequency and of 20 ms
        # frames, so frames cut from it join without clicks.
        amplitude = 0.2 * 32767
        second = array.array(
            "h",
            (
                round(amplitude * math.sin(2 * math.pi * frequency * n / AUDIO_SAMPLE_RATE))
                for n in range(AUDIO_SAMPLE_RATE)
                for _ in range(self._channels)
            ),
        )
        self._second = second.tobytes()

    async def recv(self) -> AudioFrame:
        """The next 20 ms frame, released in real time."""
        index = await self._next_index()
        frame = AudioFrame(format="s16", layout=self.layout, samples=self.samples)
        size = self.samples * self._channels * 2
        offset = (index * size) % len(self._second)
        frame.planes[0].update(self._second[offset : offset + size])
        frame.pts = index * self.samples
        frame.sample_rate = AUDIO_SAMPLE_RATE
        frame.time_base = self._time_base
        return frame


class FrameCounter:
    """Consumes a received track, counting its frames.

    ``first_frame_at`` and ``last_frame_at`` are event-loop times;
    ``last_size`` is ``(width, height)`` for video and ``(samples, channels)`` for audio.

    aiortc ends a received track when its peer connection closes only if the connection
    got as far as receiving; otherwise ``recv()`` waits forever, so cancel the task that
    runs :meth:`run` when the connection closes.
    """

    def __init__(self) -> None:
        self.count = 0
        self.first_frame_at: float | None = None
        self.last_frame_at: float | None = None
        self.last_size: tuple[int, int] | None = None
        self.ended = False
        self._changed = asyncio.Condition()

    async def run(self, track: MediaStreamTrack) -> None:
        """Read ``track`` until it ends (``MediaStreamError``)."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    return
                now = loop.time()
                if self.first_frame_at is None:
                    self.first_frame_at = now
                self.last_frame_at = now
                if isinstance(frame, VideoFrame):
                    self.last_size = (frame.width, frame.height)
                elif isinstance(frame, AudioFrame):
                    self.last_size = (frame.samples, len(frame.layout.channels))
                self.count += 1
                async with self._changed:
                    self._changed.notify_all()
        finally:
            self.ended = True
            async with self._changed:
                self._changed.notify_all()

    async def wait_for(self, count: int) -> bool:
        """Wait until ``count`` frames were counted (True) or the track ended (False)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.count >= count or self.ended)
        return self.count >= count
