"""The recordings page end to end: Debian's Chromium at a phone's size (390x844) against the
kit in simulation (``kit run --simulate``) and the local nginx RTMP ingest.

A go-live whose key the ingest refuses (``on_publish``) leaves nothing behind; then a
broadcast with two highlights; then on the recordings page: the one broadcast, its video
playing in the page's player, a jump to the second highlight, its clip exported (progress,
then the download link) and downloaded; ffprobe on the download (the asked span within
1 s, H.264 + AAC, 720x1280, moov first). No request to another host.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.integration.kitproc import KEY, KitProcess, write_config
from tests.peers import probe
from tests.peers.ingest import Ingest

if TYPE_CHECKING:
    from tests.e2e.conftest import E2E

pytestmark = pytest.mark.slow

PASSWORD = "a long phone password"
NAME = KEY.split("?")[0]


def moov_first(path: Path) -> bool:
    data, pos, kinds = path.read_bytes(), 0, []
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        kinds.append(kind)
        pos += size or len(data)
    return kinds[0] == b"ftyp" and kinds.index(b"moov") < kinds.index(b"mdat")


def until(done: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Poll the page from here: the page's CSP (rightly) refuses the eval that Playwright's
    wait_for_function needs."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_broadcast_to_a_clip_on_the_phone(tmp_path: Path, ingest: Ingest, e2e: E2E) -> None:
    root = tmp_path / "kit"
    root.mkdir()
    kit = KitProcess(write_config(root, ingest.rtmp_url(), title="Clip day"), root / "daemon.log")
    kit.start()
    hosts: set[str] = set()
    try:
        # An attempt the server refuses leaves no recording.
        ingest.reject_names = {NAME}
        kit.cli("live", "start", check=False)
        kit.wait_state("key_rejected", timeout=20)
        time.sleep(0.5)
        assert list(kit.recordings.glob("*")) == [], "a refused attempt left a recording"
        ingest.reject_names = set()

        # A broadcast with two highlights, about 18 s.
        kit.cli("live", "start", check=False)
        kit.wait_state("live", timeout=20)
        for _ in range(2):
            time.sleep(6)
            kit.cli("marker")
        time.sleep(5)
        kit.cli("live", "stop", check=False)
        kit.wait_state("idle", timeout=20)
        assert len(list(kit.recordings.glob("*clip-day*"))) == 1

        base = e2e.base_url(kit)
        with e2e.sync_playwright() as p:
            browser = e2e.launch(p)
            page = e2e.phone(browser, accept_downloads=True).new_page()
            page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
            e2e.first_run(page, base, PASSWORD)
            page.get_by_role("link", name="Recordings").click()
            assert page.locator(".rec").count() == 1
            assert page.get_by_text("2 highlights", exact=True).is_visible()
            e2e.expect(page.locator("img.thumb")).to_be_visible()
            e2e.shot(page, "20-recordings")
            page.get_by_role("link", name="Clip day").click()

            # The video plays in the page's player, and jumps to the second highlight.
            player = page.locator("#player")
            until(lambda: player.evaluate("v => v.readyState") >= 1, "the video's metadata")
            duration = float(player.evaluate("v => v.duration"))
            assert 12 < duration < 30, duration
            jump = page.locator("#h2 .jump")
            at = float(jump.get_attribute("data-seek") or "nan")
            jump.click()
            until(
                lambda: player.evaluate(f"v => !v.paused && v.currentTime > {at} + 0.3"),
                "playing from the highlight",
            )
            assert player.evaluate("v => v.error") is None
            e2e.shot(page, "21-recording-playing")

            # Its clip: exported in the background, then downloaded in one tap.
            page.locator("#h2 .preview").click()
            page.locator("#h2 button.export").click()
            link = page.locator("#h2 .clipstate a")
            e2e.expect(link).to_be_visible(timeout=30000)
            e2e.shot(page, "22-clip-ready")
            assert page.locator("#caption").input_value().startswith("Clip day")
            with page.expect_download() as got:
                link.click()
            download = got.value
            assert download.suggested_filename.endswith("-highlight-2.mp4")
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
            browser.close()
    finally:
        kit.stop()
    assert hosts == {urlsplit(base).netloc}, f"requests to other hosts: {hosts}"
    # The clip: 30 s before the press to 10 s after, inside the video.
    asked = min(duration, at + 10) - max(0.0, at - 30)
    assert abs(probe.duration(saved, "v") - asked) <= 1.0, (asked, probe.duration(saved, "v"))
    v, a = probe.video(saved), probe.audio(saved)
    assert (v.codec, v.width, v.height, a.codec) == ("h264", 720, 1280, "aac")
    assert moov_first(saved)
