"""The page's Picture and sound section end to end: the microphone's level meter and gain,
the ring light's mode and switch. Chromium at a phone's size (conftest.py) against the kit
in simulation, whose microphone is a real ALSA device here: ``[audio] device`` names the
capture device of a sound card made of files (tests/peers/alsa.py, ``make_card``), so the
kit's own pyalsaaudio reads a known signal through alsa-lib and sets a capture volume that
``amixer`` reads back. The camera and the pins stay simulated.

The meter must show the level of what the card plays (a tone at a known peak; then a
clipping square wave and silence, without a reload); the gain set on the slider must reach
the card's mixer; each ring-light mode must be saved and shown on a fresh load, with the
relay as the mode says, on the page and in the kit's status API; the manual switch must
turn the relay on and off. No request may go to another host than the kit.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from kit.media import mic
from tests.integration.kitproc import KitProcess, write_config
from tests.peers import alsa

if TYPE_CHECKING:
    from tests.e2e.conftest import E2E

pytestmark = pytest.mark.slow

PASSWORD = "a long phone password"
CARD = "kitmic"
PEAK_DBFS = -12.0  # the tone the microphone hears
RMS_DBFS = PEAK_DBFS + 20 * math.log10(1 / math.sqrt(2))  # a sine's RMS: 3.01 dB below
TOLERANCE_DB = 0.5
GAIN_RAW = 12  # where the card's capture volume starts (of 0 to 16)
MODES = ("always", "manual", "broadcast")  # broadcast last: it is also the default


def amixer(card: alsa.AlsaCard) -> tuple[int, int]:
    """(raw value, percent) of the card's capture volume, as amixer reads it."""
    out = subprocess.run(
        ["amixer", "-D", card.ctl, "sget", card.control],
        env=card.env(), capture_output=True, text=True, timeout=10, check=True,
    ).stdout  # fmt: skip
    found = re.search(r"Capture (-?\d+) \[(\d+)%\]", out)
    assert found, out
    return int(found.group(1)), int(found.group(2))


def test_picture_meters_the_microphone_sets_its_gain_and_switches_the_ring_light(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, e2e: E2E
) -> None:
    began = time.monotonic()
    expect = e2e.expect
    card = alsa.make_card(
        tmp_path / "alsa", CARD, alsa.tone(1000, peak_dbfs=PEAK_DBFS, seconds=2), gain=GAIN_RAW
    )
    # The kit (a child process) and its pyalsaaudio see the test's card and nothing else.
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(card.config))
    root = tmp_path / "kit"
    root.mkdir()
    config = write_config(root, "", key="", title="")
    config.write_text(config.read_text() + f'[audio]\ndevice = "{card.device}"\n')
    kit = KitProcess(config, root / "daemon.log")
    kit.start()
    base = e2e.base_url(kit)
    hosts: set[str] = set()
    seen: dict[str, Any] = {}
    try:
        with e2e.sync_playwright() as p:
            browser = e2e.launch(p)
            page = e2e.phone(browser).new_page()
            page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))

            def shot(name: str) -> None:
                e2e.shot(page, f"picture-{name}")

            e2e.first_run(page, base, PASSWORD)
            page.get_by_role("link", name="Picture and sound").click()
            page.wait_for_url(base + "/picture")

            # -- the level meter: what the card plays, not the simulation's "no meter" ----
            message, warning = page.locator("#mic-message"), page.locator("#mic-warning")
            page.locator("#mic summary").click()
            expect(message).to_contain_text("Level", timeout=10000)
            expect(warning).to_be_hidden()
            peak = page.locator("#mic-peak").evaluate("m => m.value")
            rms = page.locator("#mic-rms").evaluate("m => m.value")
            seen |= {"peak": peak, "rms": rms}
            assert peak == pytest.approx(PEAK_DBFS, abs=TOLERANCE_DB)
            assert rms == pytest.approx(RMS_DBFS, abs=TOLERANCE_DB)
            expect(page.locator("#mic-peak-v")).to_have_text(f"{PEAK_DBFS:.0f} dBFS")
            expect(page.locator("#mic-rms-v")).to_have_text(f"{RMS_DBFS:.0f} dBFS")
            shot("01-mic-tone")

            # The meter follows the microphone while the section is open, without a reload.
            card.play(alsa.square(1000, seconds=2))
            expect(warning).to_have_text("Clipping: turn the gain down.", timeout=5000)
            seen["clipping_peak"] = page.locator("#mic-peak").evaluate("m => m.value")
            assert seen["clipping_peak"] >= mic.CLIPPING_AT_DBFS
            shot("02-mic-clipping")
            card.play(alsa.silence(seconds=2))
            expect(warning).to_contain_text("Silent", timeout=5000)
            expect(page.locator("#mic-rms-v")).to_have_text(f"{mic.FLOOR_DBFS:.0f} dBFS")
            card.play(alsa.tone(1000, peak_dbfs=PEAK_DBFS, seconds=2))
            expect(warning).to_be_hidden(timeout=5000)

            # -- the gain: the card's capture volume, on the slider and in its mixer ------
            raw, percent = amixer(card)
            assert raw == GAIN_RAW
            gain, shown = page.locator("#gain"), page.locator("#gain-v")
            expect(gain).to_be_enabled()
            expect(shown).to_have_text(f"{percent} %")
            assert int(gain.input_value()) == percent
            seen["gain_before"] = (raw, percent)
            box = gain.bounding_box()
            assert box is not None
            with page.expect_response(
                lambda r: r.url == base + "/api/mic/gain" and r.request.method == "POST"
            ) as posted:
                page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2)
            sent = json.loads(posted.value.request.post_data or "{}")["percent"]
            took = posted.value.json()["percent"]
            assert sent < 50 < percent, "the slider moved down to about a quarter"
            raw_after, percent_after = amixer(card)
            seen["gain_after"] = (raw_after, percent_after, sent)
            # The card has 16 steps: the nearest to what the slider sent.
            assert raw_after == card.low + round(sent * (card.high - card.low) / 100)
            assert took == percent_after
            expect(shown).to_have_text(f"{took} %")
            assert int(gain.input_value()) == took
            shot("03-gain")
            # Read back on a fresh load, and through the route.
            page.goto(base + "/picture")
            page.locator("#mic summary").click()
            expect(shown).to_have_text(f"{took} %")
            assert page.request.get(base + "/api/mic/gain").json() == {"percent": took}

            # -- the ring light: each mode saved, shown on a fresh load, and the relay ----
            select, relay = page.locator("#light-mode"), page.locator("#light-relay strong")
            switch = page.locator("#light-switch")
            expect(select).to_have_value("broadcast")  # the default
            expect(relay).to_have_text("off")
            expect(switch).to_be_disabled()
            for mode in MODES:
                select.select_option(mode)
                page.locator("#light").get_by_role("button", name="Save").click()
                expect(page.locator("#note")).to_have_text("Saved.")
                page.goto(base + "/picture")
                expect(select).to_have_value(mode)
                light = kit.status()["light"]
                assert light["mode"] == mode
                on = mode == "always"  # idle: broadcast is off; manual starts off
                expect(relay).to_have_text("on" if on else "off")
                assert light["relay"] is on
                if mode != "manual":
                    expect(switch).to_be_disabled()
                    continue
                # The switch, in manual mode: on, then off again.
                for turn_on in (True, False):
                    expect(switch).to_be_enabled()
                    expect(switch).to_have_text(
                        "Turn the ring light on" if turn_on else "Turn the ring light off"
                    )
                    switch.click()
                    expect(relay).to_have_text("on" if turn_on else "off")
                    light = kit.status()["light"]
                    assert (light["relay"], light["manual_on"]) == (turn_on, turn_on)
                    if turn_on:
                        shot("04-light-manual-on")
                switch.click()  # on again: leaving manual mode must still turn it off
                expect(relay).to_have_text("on")
            shot("05-light-broadcast")
            assert kit.status()["light"]["relay"] is False
            browser.close()
    finally:
        kit.stop()
    assert hosts == {urlsplit(base).netloc}, f"requests to other hosts: {hosts}"
    assert "Traceback" not in kit.log(), kit.log()
    print(
        f"\nmeter: peak {seen['peak']} dBFS (tone {PEAK_DBFS}), RMS {seen['rms']} dBFS "
        f"(expected {RMS_DBFS:.2f}); square wave's peak {seen['clipping_peak']} dBFS; "
        f"gain before {seen['gain_before']} (raw, %), after {seen['gain_after']} "
        f"(raw, %, sent %); {time.monotonic() - began:.1f} s"
    )
