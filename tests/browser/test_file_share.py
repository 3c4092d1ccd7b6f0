"""Photos and documents shared in a call, peer to peer over its RTCDataChannel: a 2 MB
JPEG from the patient's phone arrives byte-identical at the agent and is shown
(re-encoded); a file too big or of the wrong type is refused with a clear message, by
the sender's page and, when a sender skips that check, by the receiver's; the desk saw
no file bytes (Redis holds only the chat line that says a file was shared, and the
desk's log lines hold nothing of it)."""

from __future__ import annotations

import base64
import hashlib
import random

import pytest
from playwright.async_api import FilePayload, Page, expect

from tests.browser.conftest import PHONE, Parties, eventually, screenshot
from tests.browser.test_call_controls import start_call
from tests.support.desks import LiveDesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

CANARY = b"VIDEODESK-FILE-CANARY-7f3a9c"

# A small photo-like JPEG made by the page's own canvas (no imaging library needed).
DRAW_JPEG_JS = """() => {
  const canvas = document.createElement("canvas");
  canvas.width = 320; canvas.height = 240;
  const c = canvas.getContext("2d");
  const sky = c.createLinearGradient(0, 0, 0, 240);
  sky.addColorStop(0, "#f3c6b8"); sky.addColorStop(1, "#c0504d");
  c.fillStyle = sky; c.fillRect(0, 0, 320, 240);
  c.fillStyle = "#8e2f2b";
  for (let i = 0; i < 40; i++) {
    c.beginPath();
    c.arc(40 + (i * 53) % 260, 30 + (i * 37) % 180, 6 + (i % 5), 0, 7);
    c.fill();
  }
  return canvas.toDataURL("image/jpeg", 0.9).split(",")[1];
}"""


def padded_jpeg(base: bytes, size: int) -> bytes:
    """A valid JPEG of about ``size`` bytes: comment segments (FF FE) after the start
    marker, one of them carrying the canary, the rest random bytes."""
    assert base[:2] == b"\xff\xd8"
    rng = random.Random(7)
    segments = [b"\xff\xfe" + (len(CANARY) + 2).to_bytes(2, "big") + CANARY]
    room = size - len(base) - len(segments[0])
    while room > 4:
        body = rng.randbytes(min(65533, room - 4))
        segments.append(b"\xff\xfe" + (len(body) + 2).to_bytes(2, "big") + body)
        room -= len(body) + 4
    return base[:2] + b"".join(segments) + base[2:]


async def choose(page: Page, name: str, mime: str, data: bytes) -> None:
    """The person picks a file with "Choose a photo or PDF"."""
    file: FilePayload = {"name": name, "mimeType": mime, "buffer": data}
    await page.locator("#file-pick").set_input_files(files=[file])


async def files_at(page: Page) -> list[dict[str, object]]:
    files: list[dict[str, object]] = await page.evaluate("() => globalThis.videodesk.files()")
    return files


async def send_raw_header(page: Page, name: str, type_: str, size: int) -> None:
    """What a sender that skips its own checks would send."""
    await page.evaluate(
        """([name, type, size]) => globalThis.videodesk.fileChannel().send(
             JSON.stringify({ kind: "file", id: "raw1", name, type, size }))""",
        [name, type_, size],
    )


@pytest.mark.timeout(120)
async def test_a_photo_from_the_patient_arrives_whole_and_bad_files_are_refused(
    parties: Parties, live_desk: LiveDesk, caplog: pytest.LogCaptureFixture
) -> None:
    patient, agent = await start_call(parties, live_desk)
    p, g = patient.page, agent.page
    await eventually(
        lambda: p.evaluate(
            "() => { const c = globalThis.videodesk.fileChannel(); return c && c.readyState; }"
        ),
        lambda state: state == "open",
        "the call's data channel",
    )
    photo = padded_jpeg(base64.b64decode(await p.evaluate(DRAW_JPEG_JS)), 2 * 1024 * 1024)
    assert len(photo) >= 2 * 1024 * 1024 - 8

    # The photo: sent, arrived byte for byte, shown, and offered to save.
    await choose(p, "rash.jpg", "image/jpeg", photo)
    await expect(p.locator("#file-status")).to_have_text("rash.jpg was sent.", timeout=30_000)
    arrived = await eventually(lambda: files_at(g), lambda f: len(f) == 1, "the photo at the agent")
    assert arrived[0]["sha256"] == hashlib.sha256(photo).hexdigest()
    assert arrived[0]["size"] == len(photo) and arrived[0]["type"] == "image/jpeg"
    await expect(g.locator("#file-status")).to_have_text("rash.jpg arrived.")
    image = g.locator("#file-list img")
    await expect(image).to_have_attribute("alt", "Photo shared in the call: rash.jpg")
    assert await image.evaluate("(img) => img.complete && img.naturalWidth") == 320
    save = g.get_by_role("link", name="Save rash.jpg")
    await expect(save).to_have_attribute("download", "rash.jpg")
    line = "Shared a file: rash.jpg (image/jpeg, 2.0 MB)"
    await expect(g.locator("#chat-log")).to_contain_text(line, timeout=10_000)
    await g.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await g.locator("#file-list").scroll_into_view_if_needed()
    await screenshot(g, "shared-photo-agent-phone")
    await p.locator("#file-status").scroll_into_view_if_needed()
    await screenshot(p, "shared-photo-patient-phone")

    # Refused by the sender's page: too big, the wrong type, or not what it says it is.
    big = b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024)
    await choose(p, "scan.pdf", "application/pdf", big)
    await expect(p.locator("#file-status")).to_have_text(
        "scan.pdf was not sent: it is bigger than 10.0 MB."
    )
    await choose(p, "notes.txt", "text/plain", b"hello")
    await expect(p.locator("#file-status")).to_have_text(
        "notes.txt was not sent: only photos (JPEG, PNG, WebP) and PDF documents can be shared."
    )
    await choose(p, "photo.jpg", "image/jpeg", b"MZ\x90\x00not a jpeg")
    await expect(p.locator("#file-status")).to_have_text(
        "photo.jpg was not sent: only photos (JPEG, PNG, WebP) and PDF documents can be shared."
    )

    # Refused by the receiver when a sender skips those checks.
    await send_raw_header(p, "big.pdf", "application/pdf", 11 * 1024 * 1024)
    await expect(g.locator("#file-status")).to_have_text(
        "big.pdf did not arrive: it is bigger than 10.0 MB.", timeout=10_000
    )
    await send_raw_header(p, "page.html", "text/html", 100)
    await expect(g.locator("#file-status")).to_have_text(
        "page.html did not arrive: only photos (JPEG, PNG, WebP) and PDF documents can be shared.",
        timeout=10_000,
    )
    assert len(await files_at(g)) == 1

    # The desk saw none of the file: Redis holds the chat line, and no byte of the photo.
    redis = live_desk.desk.engine.redis
    stored = b""
    async for key in redis.scan_iter(count=500):
        kind = await redis.type(key)
        if kind == "string":
            stored += str(await redis.get(key)).encode()
        elif kind == "hash":
            stored += repr(await redis.hgetall(key)).encode()
        elif kind == "list":
            stored += repr(await redis.lrange(key, 0, -1)).encode()
        elif kind == "stream":
            stored += repr(await redis.xrange(key)).encode()
        elif kind == "set":
            stored += repr(await redis.smembers(key)).encode()
        elif kind == "zset":
            stored += repr(await redis.zrange(key, 0, -1)).encode()
    assert CANARY not in stored
    assert CANARY.decode() not in caplog.text  # nor in anything the desk logged
    assert "rash.jpg" not in caplog.text  # the chat line is not logged either
    assert line.encode() in stored or line in stored.decode("utf-8", "replace")
    for party in (patient, agent):
        party.check()
