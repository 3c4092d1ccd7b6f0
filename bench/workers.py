"""Load worker processes and how the benchmark talks to them: JSON lines on stdin/stdout.

The controller starts ``python -m <module>`` processes (:class:`WorkerPool`), sends each its
job (one line), waits for ``{"ready": true}``, then sends commands (``{"do": name, ...}``)
and reads one reply line per command from each. A worker module runs
:func:`serve_worker` with a factory for its worker object: each command calls the method
of that name (one of the worker's ``COMMANDS``) with the command's other fields, and its
result is the reply; ``quit`` ends the process after the worker's ``close``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, Protocol

LINE_LIMIT = 256 * 1024 * 1024  # a job line holds every token; a reply every sample


class Worker(Protocol):
    COMMANDS: frozenset[str]

    def close(self) -> None: ...


class WorkerPool:
    """Worker processes of one module, one job each."""

    def __init__(self, module: str, jobs: Sequence[dict[str, Any]]) -> None:
        self.module = module
        self.jobs = jobs
        self.children: list[asyncio.subprocess.Process] = []

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self.children]

    async def start(self) -> None:
        for job in self.jobs:
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.module, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, limit=LINE_LIMIT,
            )  # fmt: skip
            self.children.append(child)
            await self._say(child, job)
        await self.all()

    async def _say(self, child: asyncio.subprocess.Process, value: dict[str, Any]) -> None:
        assert child.stdin is not None
        child.stdin.write((json.dumps(value) + "\n").encode())
        await child.stdin.drain()

    async def _hear(self, child: asyncio.subprocess.Process) -> dict[str, Any]:
        assert child.stdout is not None
        line = await child.stdout.readline()
        if not line:
            raise RuntimeError(f"a {self.module} worker exited")
        reply: dict[str, Any] = json.loads(line)
        return reply

    async def all(self, command: dict[str, Any] | None = None,
                  only: int | None = None) -> list[dict[str, Any]]:  # fmt: skip
        """Send ``command`` (if any) to every worker (or worker ``only``); their replies."""
        children = self.children if only is None else [self.children[only]]
        if command is not None:
            for child in children:
                await self._say(child, command)
        return list(await asyncio.gather(*(self._hear(c) for c in children)))

    async def stop(self) -> None:
        for child in self.children:
            try:
                await self._say(child, {"do": "quit"})
                await asyncio.wait_for(child.wait(), 20)
            except (ConnectionError, RuntimeError, TimeoutError):
                child.kill()
                await child.wait()
        self.children = []


async def _serve(make: Callable[[dict[str, Any]], Worker]) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    worker = make(json.loads(await reader.readline()))

    def reply(value: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    reply({"ready": True})
    try:
        while line := await reader.readline():
            command = json.loads(line)
            what = command.pop("do")
            if what == "quit":
                break
            if what not in worker.COMMANDS:
                raise ValueError(f"unknown command {what}")
            reply(await getattr(worker, what)(**command))
    finally:
        worker.close()


def serve_worker(make: Callable[[dict[str, Any]], Worker]) -> None:
    """The worker process's main: uvloop's event loop when it is installed."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(make))
        return
    uvloop.run(_serve(make))
