"""The phone page end to end: Debian's Chromium driven by Playwright, at a phone's size,
against the kit running in simulation (``kit run --simulate``) and a local nginx RTMP ingest.

First-run password, log in, paste a TikTok-style server URL with its key, set a title
with an emoji, go live, see LIVE and the timer arrive without a reload, add a
highlight, end, find the recording. Screenshots of each page go to tests/artifacts/e2e/.
Every request the browser makes is recorded: none may go to another host.
Never skipped in CI (CI=true): a missing Chromium or Playwright is a failure there
(the browser and the artifacts folder come from conftest.py's ``e2e`` fixture).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.integration.kitproc import KitProcess, write_config
from tests.peers.ingest import Ingest

if TYPE_CHECKING:
    from tests.e2e.conftest import E2E

pytestmark = pytest.mark.slow

PASSWORD = "a long phone password"
# Expires in 2100: the ingest check reads expire= and fails a key whose time has passed.
KEY = "stream-7311111111111111111?expire=4102444800&sign=0123abcd"


def test_phone_sets_up_goes_live_marks_and_ends(tmp_path: Path, ingest: Ingest, e2e: E2E) -> None:
    sync_playwright, expect = e2e.sync_playwright, e2e.expect
    root = tmp_path / "kit"
    root.mkdir()
    kit = KitProcess(write_config(root, "", key="", title=""), root / "daemon.log")
    kit.start()
    base = kit.cli("status", "--json") and e2e.base_url(kit)
    hosts: set[str] = set()
    try:
        with sync_playwright() as p:
            browser = e2e.launch(p)
            ctx = e2e.phone(browser)
            page = ctx.new_page()
            page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
            page.on("dialog", lambda d: d.accept())

            def shot(name: str) -> None:
                e2e.shot(page, name)

            # First run: the page asks for a password.
            page.goto(base + "/")
            assert page.url.endswith("/setup")
            shot("01-setup")
            page.get_by_label("New password").fill(PASSWORD)
            page.get_by_label("The same password again").fill(PASSWORD)
            page.get_by_role("button", name="Set password").click()
            page.wait_for_url(base + "/welcome")  # the first setup's steps

            # Log out and in again.
            page.get_by_role("button", name="Log out").click()
            page.wait_for_url(base + "/login")
            page.get_by_label("Password").fill("wrong password")
            page.get_by_role("button", name="Log in").click()
            assert page.get_by_text("Wrong password.").is_visible()
            shot("02-login")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(base + "/")

            # Home asks for a destination first ("Set up the destination").
            assert page.get_by_role("heading", name="No destination yet").is_visible()
            assert page.get_by_role("button", name="Go live").count() == 0
            # Destination: paste the whole URL with the key on its end.
            page.get_by_role("link", name="Destination", exact=True).click()
            page.get_by_label("Platform").select_option("tiktok")
            assert page.get_by_text("TikTok keys expire").is_visible()
            page.get_by_label("Server URL").fill(f"  {ingest.rtmp_url()}{KEY}  ")
            page.get_by_role("button", name="Save").click()
            assert page.locator("#note.ok").inner_text() == "Saved."
            assert "••••abcd" in page.content() and KEY not in page.content()
            page.get_by_role("button", name="Test connection").click()
            # The test runs in the background (web/static/forms.js): its answer replaces the note.
            expect(page.locator("#note.ok")).to_contain_text("answers", timeout=10_000)
            shot("03-destination")

            # Title with an emoji, hashtags and keywords, each with a copy button.
            page.get_by_role("link", name="Title").click()
            page.locator("#title").fill("Friday sale 🎉")
            page.get_by_label("Hashtags").fill("#sale #friday")
            page.locator("#keywords").fill("spam\nscam")
            page.get_by_role("button", name="Save").click()
            assert page.locator("#note.ok").inner_text() == "Saved."
            assert page.locator("#title-count").inner_text() == "13/32"
            shot("04-title")

            with page.expect_response(lambda r: "/snapshot.jpg" in r.url) as snap:
                page.get_by_role("link", name="Picture and sound").click()
            assert snap.value.status == 200 and snap.value.headers["content-type"] == "image/jpeg"
            expect(page.locator("#snapshot")).to_be_visible()
            shot("05-picture")
            page.get_by_role("link", name="Checklist").click()
            assert page.locator(".check.ok").count() >= 3
            shot("06-checks")

            # Home: go live; the state and the timer arrive by themselves.
            page.get_by_role("link", name="Home").click()
            shot("07-home-idle")
            navigations: list[str] = []
            page.on("framenavigated", lambda f: navigations.append(f.url))
            page.get_by_role("button", name="Go live").click()
            expect(page.locator("#state")).to_have_text("Going live in", timeout=10000)
            expect(page.locator("#state")).to_have_text("LIVE", timeout=20000)
            first = page.locator("#timer").inner_text()
            expect(page.locator("#timer")).not_to_have_text(first, timeout=5000)
            assert page.locator("#timer").inner_text().startswith("0:00:")
            page.get_by_role("button", name="Mark highlight").click()
            expect(page.locator("#marked")).to_have_text("Highlights: 1", timeout=5000)
            expect(page.locator("#f-bitrate")).not_to_have_text("—", timeout=10000)
            shot("08-home-live")
            assert navigations == [], "the home page must update without a reload"
            pub = ingest.wait_for_publish(timeout=5)
            assert pub["sign"] == "0123abcd"

            page.get_by_role("button", name="End broadcast").click()  # confirm accepted
            expect(page.locator("#state")).to_have_text("Ready", timeout=20000)
            shot("09-home-ended")

            page.get_by_role("link", name="Recordings").click()
            assert page.get_by_role("link", name="Friday sale 🎉").is_visible()
            assert page.get_by_text("1 highlight", exact=True).is_visible()
            shot("10-recordings")
            page.get_by_role("link", name="Friday sale 🎉").click()
            assert page.get_by_text("You marked 1 highlight.").is_visible()
            shot("11-report")

            # Swedish, from the browser's language.
            sv = browser.new_context(viewport={"width": 390, "height": 844}, locale="sv-SE")
            sv_page = sv.new_page()
            sv_page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
            sv_page.goto(base + "/login")
            assert sv_page.get_by_role("button", name="Logga in").is_visible()
            sv_page.emulate_media(color_scheme="dark")
            sv_page.screenshot(path=str(e2e.artifacts / "12-login-sv-dark.png"))
            browser.close()
    finally:
        kit.stop()
    assert hosts == {urlsplit(base).netloc}, f"requests to other hosts: {hosts}"
    recordings = list(kit.recordings.glob("*friday-sale*/part-*.mp4"))
    assert recordings, "the recording is named after the title"
    assert KEY not in kit.log()
