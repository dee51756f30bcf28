"""The Wi-Fi screen end to end: Chromium at a phone's size (conftest.py) against the kit in
simulation, whose NetworkManager is the stand-in nmcli (tests/peers/fake_nmcli, named by
$KIT_NMCLI) in its stateful mode: a join or a forget moves it between the scenarios
NetworkManager would be in, and every nmcli call is logged.

The phone sees the link (an SSID with quotes, a colon, a backslash and an emoji), scans,
picks a network, gets a refused password explained without the password, joins, watches
the outcome arrive without touching the page, and forgets a network after confirming.
No request may go to another host than the kit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from tests.integration.kitproc import KitProcess, write_config
from tests.unit.test_hotspot import FAKE_NMCLI
from tests.unit.test_wifisetup import ODD_SSID

if TYPE_CHECKING:
    from tests.e2e.conftest import E2E

pytestmark = pytest.mark.slow

PASSWORD = "a long phone password"
WIFI_PASSWORD = "neighbourly secret"


def changes(log: Path) -> list[list[str]]:
    """The nmcli calls that change something (reading the status runs nmcli too)."""
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return [c for c in calls if {"connect", "delete", "hotspot", "down"} & set(c)]


def test_phone_scans_joins_and_forgets_wifi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, e2e: E2E
) -> None:
    expect = e2e.expect
    log, state = tmp_path / "nmcli.jsonl", tmp_path / "scenario"
    state.write_text("wifi")
    monkeypatch.setenv("KIT_NMCLI", FAKE_NMCLI)
    monkeypatch.setenv("FAKE_NMCLI_LOG", str(log))
    monkeypatch.setenv("FAKE_NMCLI_STATE", str(state))
    root = tmp_path / "kit"
    root.mkdir()
    kit = KitProcess(write_config(root, "", key="", title=""), root / "daemon.log")
    kit.start()
    base = e2e.base_url(kit)
    hosts: set[str] = set()
    try:
        with e2e.sync_playwright() as p:
            browser = e2e.launch(p)
            page = e2e.phone(browser).new_page()
            page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
            dialogs: list[str] = []

            def accept(d: Any) -> None:
                dialogs.append(d.message)
                d.accept()

            page.on("dialog", accept)

            def shot(name: str) -> None:
                e2e.shot(page, f"network-{name}")

            e2e.first_run(page, base, PASSWORD)
            page.get_by_role("link", name="Wi-Fi").click()
            page.wait_for_url(base + "/network")

            # -- the link and the saved networks ----------------------------------------
            # (The link card reads this machine's own routes, the default route's interface
            # first: its Wi-Fi figures are tested in tests/unit/test_wifi.py on a file tree.)
            expect(page.locator("#link-address")).not_to_be_empty()
            expect(page.locator("#saved")).to_contain_text(f"{ODD_SSID} · in use")
            shot("01-status")

            # -- scan, pick a network, a wrong password -----------------------------------
            page.get_by_role("button", name="Find networks").click()
            networks = page.locator("#networks > li")
            expect(networks).to_have_count(3)
            expect(networks.first).to_contain_text(ODD_SSID)
            neighbour = networks.filter(has_text="Neighbour Net")
            neighbour.locator("summary").click()
            neighbour.get_by_label("Password").fill("wrong password")
            shot("02-scan")
            neighbour.get_by_role("button", name="Join").click()
            page.wait_for_url(base + "/network")
            job = page.locator("#job")
            expect(job).to_contain_text("Joining Neighbour Net")
            # The page reloads itself until the outcome is known.
            expect(job).to_contain_text(
                "Could not join Neighbour Net: the network refused to connect: check the password",
                timeout=15000,
            )
            assert "wrong password" not in page.content()
            shot("03-refused")

            # -- the right password: joined, seen without touching the page ---------------
            page.get_by_label("Network name").fill("Neighbour Net")
            page.locator("#password").fill(WIFI_PASSWORD)
            page.get_by_role("button", name="Join").last.click()
            page.wait_for_url(base + "/network")
            expect(job).to_contain_text("Joined Neighbour Net.", timeout=15000)
            assert WIFI_PASSWORD not in page.content()
            shot("04-joined")

            # -- a short password is refused next to its field, nothing runs -------------
            before = changes(log)
            page.get_by_label("Network name").fill("Home")
            page.locator("#password").fill("short")
            page.get_by_role("button", name="Join").last.click()
            expect(page.locator("#err-password")).to_have_text(
                "the Wi-Fi password has 5 characters; WPA passwords have at least 8"
            )
            expect(page.locator("#password")).to_have_value("")
            expect(page.get_by_label("Network name")).to_have_value("Home")
            assert changes(log) == before, "nmcli changed something for a refused form"
            shot("05-short-password")

            # -- forget the network in use, after confirming ------------------------------
            page.get_by_role("button", name=f"Forget {ODD_SSID}").click()
            page.wait_for_url(base + "/network")
            expect(job).to_contain_text(f"Forgot {ODD_SSID}.", timeout=15000)
            assert dialogs and "this page may go away" in dialogs[-1]
            shot("06-forgot")
            browser.close()
    finally:
        kit.stop()
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    connects = [c for c in calls if "connect" in c]
    assert [c[c.index("connect") + 1] for c in connects] == ["Neighbour Net"] * 2
    assert [c[c.index("password") + 1] for c in connects] == ["wrong password", WIFI_PASSWORD]
    assert ["connection", "delete", "id", ODD_SSID] in calls
    assert WIFI_PASSWORD not in kit.log(), "the Wi-Fi password reached the kit's log"
    assert hosts == {urlsplit(base).netloc}, hosts
    assert re.fullmatch(r"127\.0\.0\.1:\d+", urlsplit(base).netloc)
