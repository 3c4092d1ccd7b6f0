"""Browser tests: Debian's Chromium driven by Playwright (async API).

One Chromium for the whole session and a fresh context (cookies, storage,
permissions) for each party of a test. Fake camera and microphone; media stays on
loopback (the suite runs in a loopback-only network namespace).

Playwright's objects belong to the event loop that started them, so the browser
lives on the session's loop, and so do the tests of this folder
(``pytest.mark.asyncio(loop_scope="session")``) and the desk they drive: the
``redis`` and ``live_desk`` fixtures are redefined here on the session loop, still
one fresh desk per test (the desk is built by ``tests.support.desks.start_desk``, as
for every other test).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from redis.asyncio import Redis

from tests.support import axe
from tests.support.desks import LiveDesk, start_desk

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 640}
DESKTOP = {"width": 1280, "height": 900}
ARTIFACTS = Path(__file__).resolve().parents[2] / ".test-artifacts"
CLOSE_WITHIN = 20.0  # seconds for a context or the browser to close

# The page's diagnostics hook (web/static/js/*/main.js): decoded video frames and size.
VIDEO_STATS_JS = """async () => {
  const pc = globalThis.videodesk && globalThis.videodesk.peerConnection();
  if (!pc) return null;
  let frames = 0;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") frames += r.framesDecoded || 0;
  });
  const video = document.getElementById("remote-video");
  return { frames, width: video ? video.videoWidth : 0, state: pc.connectionState };
}"""


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. "
            "Install it (apt-get install -y chromium); scripts/test does this as root.",
            pytrace=False,
        )
    return CHROMIUM


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(chromium_path: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            # Bounded: a wedged browser must fail the run, not hang it.
            await asyncio.wait_for(chromium.close(), CLOSE_WITHIN)


# -- the desk, on the session's loop --------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def live_desk(
    redis_url: str, redis: Redis, tmp_path: Path, desk_env: dict[str, str]
) -> AsyncIterator[LiveDesk]:
    """A desk on the test Redis (wiped), served on a loopback port, with ``desk_env``
    (tests/support/desks.py) in its environment."""
    servers: list[TestServer] = []

    async def serve(app: web.Application, *, port: int | None = None, **kwargs: Any) -> TestServer:
        server = TestServer(app, host="127.0.0.1", port=port)
        await server.start_server(**kwargs)
        servers.append(server)
        return server

    desk = await start_desk(serve, redis_url, tmp_path, **desk_env)
    try:
        yield desk
    finally:
        while servers:
            # Bounded like the shared live_desk: a server that cannot stop fails the test.
            await asyncio.wait_for(servers.pop().close(), CLOSE_WITHIN)


# -- parties ----------------------------------------------------------------------------


@dataclass
class Party:
    """One person's browser context and page, with what went wrong in it."""

    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def check(self) -> None:
        """No script error and no dialog happened on the page."""
        assert not self.errors, f"script errors on {self.page.url}: {self.errors}"
        assert not self.dialogs, f"dialogs opened on {self.page.url}: {self.dialogs}"


class Parties:
    """Opens pages of the desk, one browser context each, and closes them all."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.opened: list[Party] = []

    async def open(
        self,
        path: str,
        *,
        viewport: dict[str, int] | None = None,
        locale: str = "en-GB",
        permissions: tuple[str, ...] = ("camera", "microphone"),
        init_script: str | None = None,
    ) -> Party:
        context = await self.browser.new_context(
            viewport=viewport or PHONE,  # type: ignore[arg-type]
            locale=locale,
            base_url=self.base_url,
        )
        await context.grant_permissions(list(permissions), origin=self.base_url)
        if init_script is not None:
            await context.add_init_script(script=init_script)
        page = await context.new_page()
        party = Party(context=context, page=page)

        def on_error(error: PlaywrightError) -> None:
            party.errors.append(str(error))

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error" and "Content Security Policy" in message.text:
                party.errors.append(message.text)

        async def on_dialog(dialog: Dialog) -> None:
            party.dialogs.append(f"{dialog.type}: {dialog.message}")
            await dialog.dismiss()

        page.on("pageerror", on_error)
        page.on("console", on_console)
        page.on("dialog", on_dialog)
        self.opened.append(party)
        await page.goto(path)
        return party

    async def close(self) -> None:
        opened, self.opened = self.opened, []
        for party in opened:
            await asyncio.wait_for(party.context.close(), CLOSE_WITHIN)


@pytest_asyncio.fixture(loop_scope="session")
async def parties(browser: Browser, live_desk: LiveDesk) -> AsyncIterator[Parties]:
    opened = Parties(browser, live_desk.url)
    try:
        yield opened
    finally:
        await opened.close()


# -- helpers --------------------------------------------------------------------------


async def eventually(
    probe: Callable[[], Awaitable[Any]],
    condition: Callable[[Any], bool],
    what: str,
    timeout: float = 20.0,
) -> Any:
    """Poll ``probe`` until ``condition`` holds (for values the page has no element for)."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while not condition(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {timeout} s")
        await asyncio.sleep(0.25)
        value = await probe()
    return value


async def check_camera(page: Page) -> None:
    """Open the lobby's "Check camera and sound" step (closed at first on a phone); the
    camera starts when it opens."""
    check = page.locator("#media-check")
    await check.wait_for(state="visible", timeout=10_000)
    if not await check.evaluate("(details) => details.open"):
        await check.locator("summary").click()


async def video_stats(page: Page) -> dict[str, Any] | None:
    stats: dict[str, Any] | None = await page.evaluate(VIDEO_STATS_JS)
    return stats


async def assert_video_flows(page: Page, who: str) -> None:
    """The remote video decodes frames (a size, and framesDecoded rising)."""
    first = await eventually(
        lambda: video_stats(page),
        lambda s: s is not None and s["width"] > 0 and s["frames"] > 0,
        f"{who}: remote video",
    )
    await eventually(
        lambda: video_stats(page),
        lambda s: s is not None and s["frames"] >= first["frames"] + 10,
        f"{who}: framesDecoded rising from {first['frames']}",
        timeout=10,
    )


@pytest.fixture(scope="session")
def axe_source() -> str:
    try:
        return axe.source()
    except FileNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)


async def axe_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    """Run axe-core on the page; its violations, shortened for an assertion message.

    axe is evaluated through the DevTools protocol (``page.evaluate``), which the
    page's Content-Security-Policy does not govern; an injected <script> tag would be
    refused for want of the page's nonce, and bypassing CSP for the whole context
    would weaken what the other steps of a test check.
    """
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(axe_source)
    result: list[dict[str, Any]] = await page.evaluate(
        """async () => {
          const results = await window.axe.run(document, { resultTypes: ["violations"] });
          return results.violations.map((v) => ({
            id: v.id,
            impact: v.impact,
            help: v.help,
            nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " :: " + n.failureSummary),
          }));
        }"""
    )
    return result


async def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path
