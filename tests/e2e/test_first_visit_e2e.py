"""A creator who has never seen the kit goes live without help, and the page never misleads
them (issue 10): Debian's Chromium through Playwright at a phone's size, against the kit in
simulation and a local nginx RTMP ingest.

The walk-through uses only what a person sees (roles, labels, text): a fresh kit with no
destination, first visit -> password -> the first setup's steps (paste the server URL with
the key, the title) -> the checklist -> Home -> Go live -> LIVE (the banner on another page)
-> End -> Home shows the duration and the recording's link -> the recording opens.
Then each bug the issue found, as a regression test in the browser: the countdown's button
is Cancel and cancels without a dialog; a stale "key refused" clears once a new key is
saved; lost contact covers the page and disables Go live, and clears by itself (the kit
frozen with SIGSTOP, then stopped and started again); a failed request never says the
browser's "Failed to fetch", on the Swedish page either. axe on every page and state:
tests/e2e/test_axe_e2e.py.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any
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
OLD_KEY = "stream-old?expire=4102444800&sign=feed"  # the ingest refuses "stream-old"


def start_kit(tmp_path: Path, server: str = "", key: str = "", title: str = "") -> KitProcess:
    root = tmp_path / "kit"
    root.mkdir()
    kit = KitProcess(write_config(root, server, key=key, title=title), root / "daemon.log")
    kit.start()
    return kit


def test_a_new_creator_goes_live_and_finds_the_recording(
    tmp_path: Path, ingest: Ingest, e2e: E2E
) -> None:
    expect = e2e.expect
    kit = start_kit(tmp_path)
    base = e2e.base_url(kit)
    dialogs: list[str] = []
    hosts: set[str] = set()
    try:
        with e2e.sync_playwright() as p:
            browser = e2e.launch(p)
            ctx = e2e.phone(browser)
            ctx.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
            page = ctx.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))

            # First visit: a password, then the first setup's three steps.
            page.goto(base + "/")
            expect(page.get_by_role("heading", name="Set a password", level=1)).to_be_visible()
            page.get_by_label("New password").fill(PASSWORD)
            page.get_by_label("The same password again").fill(PASSWORD)
            page.get_by_role("button", name="Set password").click()
            expect(page.get_by_role("heading", name="Set up your kit", level=1)).to_be_visible()
            e2e.shot(page, "first-01-welcome")

            # 1. Destination: the whole URL with the key on its end, pasted in one field.
            page.get_by_role("link", name="Paste the destination").click()
            expect(page.get_by_text("First setup: step 1 of 3.")).to_be_visible()
            page.get_by_label("Platform").select_option(label="TikTok")
            page.get_by_label("Server URL").fill(ingest.rtmp_url() + KEY)
            page.get_by_role("button", name="Save").click()
            expect(page.get_by_text("Saved.", exact=True)).to_be_visible()
            expect(page.get_by_text("••••abcd")).to_be_visible()
            e2e.shot(page, "first-02-destination")

            # 2. Title.
            page.get_by_role("link", name="Next: the title").click()
            expect(page.get_by_text("First setup: step 2 of 3.")).to_be_visible()
            page.get_by_label("Title (at most 32").fill("First show 🎉")
            page.get_by_role("button", name="Save").click()
            expect(page.get_by_text("Saved.", exact=True)).to_be_visible()

            # 3. The checklist, then Home: ready, with Go live.
            page.get_by_role("link", name="Next: the checklist").click()
            expect(page.get_by_role("heading", name="Checklist", level=1)).to_be_visible()
            expect(page.get_by_text("First setup: step 3 of 3.")).to_be_visible()
            e2e.shot(page, "first-03-checklist")
            page.get_by_role("link", name="Done: go to Home").click()
            expect(page.get_by_role("heading", name="Ready", level=1)).to_be_visible()
            expect(page.get_by_text("First setup")).to_have_count(0)

            # Go live; LIVE arrives by itself; another page shows the live banner.
            page.get_by_role("button", name="Go live").click()
            expect(page.get_by_role("heading", name="LIVE", level=1)).to_be_visible(timeout=30000)
            other = ctx.new_page()
            other.goto(base + "/broadcast")
            banner = other.get_by_role("link", name=re.compile(r"^LIVE \d:\d\d:\d\d"))
            expect(banner).to_be_visible(timeout=5000)
            first = banner.inner_text()
            expect(banner).not_to_have_text(first, timeout=5000)  # its timer runs
            e2e.shot(other, "first-04-banner")
            banner.click()
            expect(other.get_by_role("heading", name="LIVE", level=1)).to_be_visible()
            other.close()
            page.wait_for_timeout(2000)  # a broadcast of a few seconds

            # End: Home says how long it was and links its recording, which opens.
            page.get_by_role("button", name="End broadcast").click()
            assert dialogs == ["End the broadcast now?"]
            expect(page.get_by_role("heading", name="Ready", level=1)).to_be_visible(timeout=30000)
            expect(page.get_by_text(re.compile(r"^Last broadcast: 0:00:\d\d\.$"))).to_be_visible()
            e2e.shot(page, "first-05-after")
            page.get_by_role("link", name="Watch the recording").click()
            expect(page.get_by_role("heading", name="First show 🎉", level=1)).to_be_visible()
            expect(page.locator("video")).to_have_count(1)
            e2e.shot(page, "first-06-recording")
            browser.close()
    finally:
        kit.stop()
    assert hosts == {urlsplit(base).netloc}, f"requests to other hosts: {hosts}"


def _log_in_sv(page: Any, base: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(base + "/")


def test_the_page_is_never_stale_nor_misleading(tmp_path: Path, ingest: Ingest, e2e: E2E) -> None:
    expect = e2e.expect
    ingest.reject_names = {"stream-old"}
    kit = start_kit(tmp_path, ingest.rtmp_url(), OLD_KEY, "Regression")
    base = e2e.base_url(kit)
    dialogs: list[str] = []
    try:
        with e2e.sync_playwright() as p:
            browser = e2e.launch(p)
            page = e2e.phone(browser).new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
            e2e.first_run(page, base, PASSWORD)
            page.get_by_role("link", name="Home", exact=True).click()
            state = page.get_by_role("heading", level=1)
            go = page.get_by_role("button", name="Go live")

            # The countdown's one button is Cancel, and it cancels at once, without a dialog.
            go.click()
            expect(state).to_have_text("Going live in", timeout=20000)
            page.get_by_role("button", name="Cancel").click()
            expect(state).to_have_text("Ready", timeout=5000)
            assert dialogs == [], "Cancel asks nothing"
            assert not ingest.publishes

            # A refused key says so, as the last attempt's; a new key saved clears it.
            go.click()
            expect(state).to_have_text("Stream key refused", timeout=40000)
            expect(page.get_by_text(re.compile(r"^Last attempt \d\d:\d\d: "))).to_be_visible()
            e2e.shot(page, "stale-01-refused")
            page.get_by_role("link", name="Destination").click()
            page.get_by_label("Stream key").fill(KEY)
            page.get_by_role("button", name="Save").click()
            expect(page.get_by_text("Saved.", exact=True)).to_be_visible()
            page.get_by_role("link", name="Home", exact=True).click()
            expect(state).to_have_text("Ready")
            expect(page.get_by_text("Stream key refused")).to_have_count(0)
            expect(page.get_by_text(re.compile("Last attempt"))).to_have_count(0)

            # Lost contact: the kit frozen (no word for 20 s) -> a cover, Go live off.
            lost = page.get_by_role("alertdialog")
            expect(lost).to_be_hidden()
            kit.signal(signal.SIGSTOP)
            try:
                expect(lost).to_be_visible(timeout=30000)
                expect(lost).to_contain_text("Lost contact with the kit — reconnecting…")
                expect(page.locator("#go")).to_be_disabled()
                e2e.shot(page, "stale-02-lost")
            finally:
                kit.signal(signal.SIGCONT)
            expect(lost).to_be_hidden(timeout=10000)
            expect(go).to_be_enabled()
            # The kit stopped: the cover at once; started again: gone by itself.
            kit.stop()
            expect(lost).to_be_visible(timeout=5000)
            kit.start()
            expect(lost).to_be_hidden(timeout=20000)
            expect(go).to_be_enabled()

            # A request that fails says so in the page's language, never the browser's
            # "Failed to fetch" (a network error) nor the API's English (a refusal).
            sv = browser.new_context(**(e2e_phone_sv()))
            sv_page = sv.new_page()
            _log_in_sv(sv_page, base)
            sv_page.route("**/api/live/start", lambda route: route.abort("failed"))
            sv_page.get_by_role("button", name="Gå live").click()
            expect(sv_page.get_by_role("alert")).to_have_text("Kitet svarar inte.")
            sv_page.unroute("**/api/live/start")
            sv_page.route(
                "**/api/live/start",
                lambda route: route.fulfill(
                    status=409, content_type="application/json",
                    body='{"error": "cannot go live while live", "state": "live"}',
                ),
            )  # fmt: skip
            sv_page.get_by_role("button", name="Gå live").click()
            expect(sv_page.get_by_role("alert")).to_have_text("Inte nu (kitet visar: LIVE).")
            body = sv_page.locator("body").inner_text()
            assert "Failed to fetch" not in body and "cannot go live" not in body
            e2e.shot(sv_page, "stale-03-sv-refused")
            browser.close()
    finally:
        kit.stop()


def e2e_phone_sv() -> dict[str, Any]:
    from tests.e2e.conftest import PHONE

    return PHONE | {"locale": "sv-SE"}
