"""Scripted bot sessions for ``videodesk bot``: a patient who waits and talks, an agent who
takes calls. Each prints one JSON line per event worth knowing (timings, frame counts)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

from signaling.client import AgentBot, PatientBot
from signaling.host_addresses import gather_only_on


def report(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, "t": round(time.time(), 3), **fields}), flush=True)


@contextlib.contextmanager
def loopback_only(enabled: bool) -> Iterator[None]:
    """Gather ICE host candidates on 127.0.0.1 only (a desk on this machine)."""
    if not enabled:
        yield
        return
    with gather_only_on(("127.0.0.1",)):
        yield


async def patient(url: str, token: str, *, name: str, reason: str, seconds: float) -> int:
    """Join, wait for a call, exchange media and a chat message, stay ``seconds``, leave."""
    bot = PatientBot(url, token)
    try:
        await bot.connect()
        state = await bot.join(name=name, reason=reason)
        report("joined", position=state["position"], estimate=state["estimate"])
        await bot.next("call.started", timeout=3600)
        report("call_started")
        await bot.wait_for(lambda: bot.frames_received()[0] > 0, 30, "video")
        report(
            "first_video", after_s=_since(bot.timings.call_started_at, bot.timings.first_video_at)
        )
        await bot.send("call.chat", text="Hello, this is a test patient.")
        await asyncio.sleep(seconds)
        video, audio = bot.frames_received()
        report("frames", video=video, audio=audio, chats=len(bot.chats))
        if bot.media is not None:
            await bot.send("call.bye")
        return 0
    except Exception as exc:  # report and exit non-zero: this is a command-line tool
        report("error", error=str(exc))
        return 1
    finally:
        await bot.close()


async def agent(url: str, token: str, *, calls: int, seconds: float, outcome: str) -> int:
    """Go available, accept ``calls`` offers, talk ``seconds`` each, end, wrap up."""
    bot = AgentBot(url, token)
    try:
        await bot.connect()
        await bot.available()
        report("available")
        for number in range(1, calls + 1):
            mark = len(bot.received)
            offer = await bot.next("agent.offer", timeout=3600, after=mark)
            report("offer", call=number, kind=offer["kind"], waited_s=offer["patient"]["waited_s"])
            await bot.accept(offer)
            await bot.next("call.started", after=mark)
            await bot.wait_for(lambda: bot.frames_received()[0] > 0, 30, "video")
            report("first_video", call=number, accept_to_frame_ms=_ms(bot.timings))
            await asyncio.sleep(seconds)
            video, audio = bot.frames_received()
            report("frames", call=number, video=video, audio=audio, chats=len(bot.chats))
            await bot.send("agent.end")
            await bot.next("agent.state", state="wrap_up", after=mark)
            await bot.send("agent.wrapup", outcome=outcome, next="available")
        return 0
    except Exception as exc:
        report("error", error=str(exc))
        return 1
    finally:
        await bot.close()


def _since(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else round(end - start, 3)


def _ms(timings: Any) -> float | None:
    value = timings.accept_to_first_frame()
    return None if value is None else round(value * 1000, 1)


def main_for(role: str, options: dict[str, Any]) -> int:
    """Entry point used by ``videodesk bot``."""
    with loopback_only(bool(options.pop("loopback"))):
        runner = patient if role == "patient" else agent
        try:
            return asyncio.run(runner(**options))
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
