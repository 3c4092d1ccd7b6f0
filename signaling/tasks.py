"""Stopping background tasks reliably."""

from __future__ import annotations

import asyncio
import contextlib


async def stop_task(task: asyncio.Task[None] | None, *, grace: float = 0.5) -> None:
    """Cancel a task and wait until it has really ended.

    One cancel is not always enough: a library call in the task may swallow a
    CancelledError (seen with a Redis command in flight), leaving the task
    looping on. So cancel again until it is done.
    """
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=grace)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()
