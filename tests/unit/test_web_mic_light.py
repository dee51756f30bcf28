"""The Picture and sound section's ring light, microphone meter and gain, through Flask's
test client in front of a real Conductor; the microphone is ALSA's file plugin
(tests/peers/alsa.py), so no sound card is needed."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kit import checks
from kit.checks import Level
from kit.daemon import Parts
from kit.machine import State, Status
from kit.media import mic, mic_check
from kit.media.audio import AlsaMicrophone, MicrophoneError
from tests.peers import alsa
from tests.unit.test_web_routes import TOKEN, Kit, logged_in

SOUNDS = {
    "kit_tone": alsa.tone(1000, peak_dbfs=-12.0),
    "kit_silence": alsa.silence(),
    "kit_square": alsa.square(1000),
}


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory) -> alsa.AlsaDevices:
    return alsa.make_devices(tmp_path_factory.mktemp("alsa"), SOUNDS)


@pytest.fixture
def in_process(devices: alsa.AlsaDevices, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(devices.config))


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    k = Kit(tmp_path)  # simulation: the microphone is a tone
    yield k
    k.close()


def kit_with(tmp_path: Path, device: str, proc: Path | None = None) -> Kit:
    mic_ = AlsaMicrophone(device) if proc is None else AlsaMicrophone(device, proc)
    return Kit(tmp_path, audio=mic_)


# -- the ring light -----------------------------------------------------------------


def relay(kit: Kit) -> bool:
    return bool(kit.conductor.status()["light"]["relay"])


def test_the_light_mode_is_saved_shown_at_once_and_in_the_status(kit: Kit) -> None:
    c, token = logged_in(kit)
    assert relay(kit) is False  # broadcast mode, idle
    r = c.post("/picture/light", data={"csrf": token, "mode": "always"})
    assert r.status_code == 303 and r.location == "/picture#light"
    r = c.get("/picture")
    assert r.text.count('id="note"') == 1 and 'id="note">Saved.<' in r.text.split('id="light"')[1]
    assert kit.settings.current().light.mode == "always"
    assert relay(kit) is True and kit.panel.relay.value
    st = c.get("/api/status").get_json()
    assert st["light"]["mode"] == "always" and st["light"]["relay"] is True
    # Kept across a restart of the settings (the page's edits are saved).
    from kit.settings import Settings

    assert Settings(kit.settings._base, kit.state).current().light.mode == "always"
    c.post("/picture/light", data={"csrf": token, "mode": "broadcast"})
    assert relay(kit) is False


def test_the_switch_acts_only_in_manual_mode(kit: Kit) -> None:
    c, token = logged_in(kit)
    assert 'id="light-switch" disabled' in c.get("/picture").text
    assert c.post("/picture/light/switch", data={"csrf": token, "on": "1"}).status_code == 302
    assert relay(kit) is False, "the switch must not act in broadcast mode"
    c.post("/picture/light", data={"csrf": token, "mode": "manual"})
    assert relay(kit) is True, "the switch was left on: manual mode shows it"
    c.post("/picture/light/switch", data={"csrf": token, "on": "0"})
    assert relay(kit) is False
    page = c.get("/picture").text
    assert 'id="light-switch" disabled' not in page and "Turn the ring light on" in page
    c.post("/picture/light/switch", data={"csrf": token, "on": "1"})
    assert relay(kit) is True
    light = c.get("/api/status").get_json()["light"]
    assert (light["relay"], light["mode"], light["manual_on"]) == (True, "manual", True)


def test_the_relay_is_off_after_the_daemon_stops_in_every_mode(kit: Kit) -> None:
    c, token = logged_in(kit)
    c.post("/picture/light", data={"csrf": token, "mode": "always"})
    assert kit.panel.relay.value
    kit.conductor.shutdown()
    assert not kit.panel.relay.value


def test_a_bad_light_mode_is_refused_and_nothing_saved(kit: Kit) -> None:
    c, token = logged_in(kit)
    r = c.post("/picture/light", data={"csrf": token, "mode": "disco"})
    assert r.status_code == 400 and 'id="err-light-mode"' in r.text
    assert kit.settings.current().light.mode == "broadcast"
    assert not (kit.state / "settings.json").exists()
    assert c.post("/picture/light/switch", data={"csrf": token, "on": "yes"}).status_code == 400


def test_light_routes_need_the_session_and_the_csrf_token(kit: Kit) -> None:
    anon = kit.app.test_client()
    assert anon.post("/picture/light", data={"mode": "always"}).status_code in (302, 403)
    assert anon.post("/picture/light/switch", data={"on": "1"}).status_code in (302, 403)
    c, _ = logged_in(kit)
    assert c.post("/picture/light", data={"mode": "always"}).status_code == 403
    assert c.post("/picture/light/switch", data={"on": "1"}).status_code == 403
    assert kit.settings.current().light.mode == "broadcast" and relay(kit) is False


# -- the level meter ----------------------------------------------------------------


def test_the_meter_says_simulation_instead_of_inventing_a_level(kit: Kit) -> None:
    c, _ = logged_in(kit)
    r = c.get("/api/mic/level").get_json()
    assert r["state"] == "simulated" and r["message"] == "simulation: a tone, no meter"
    assert r["peak_dbfs"] is None and r["rms_dbfs"] is None


def strings_of(page: str) -> dict[str, str]:
    found = re.search(r'<script type="application/json" id="strings">(.*?)</script>', page)
    assert found, page
    return json.loads(html.unescape(found.group(1)))  # type: ignore[no-any-return]


def test_the_meter_and_gain_say_simulation_and_busy_in_swedish(kit: Kit) -> None:
    c, _ = logged_in(kit)
    sv = strings_of(c.get("/picture", headers={"Accept-Language": "sv"}).text)
    level = c.get("/api/mic/level").get_json()
    gain = c.get("/api/mic/gain").get_json()
    assert level["message_id"] == gain["message_id"] == "mic.simulated"
    assert sv["error.mic.simulated"] == "simulering: en ton, ingen mätare" != level["message"]
    kit.conductor._status = Status(State.LIVE)
    try:
        busy = c.get("/api/mic/level").get_json()
    finally:
        kit.conductor._status = Status(State.IDLE)
    assert busy["state"] == "busy" and busy["message_id"] == "mic.busy"
    assert sv["error.mic.busy"].startswith("används av sändningen")


@pytest.mark.usefixtures("in_process")
@pytest.mark.parametrize(
    ("device", "peak", "silent", "clipping"),
    [("kit_tone", -12.0, False, False), ("kit_silence", mic.FLOOR_DBFS, True, False),
     ("kit_square", 0.0, False, True)],
)  # fmt: skip
def test_the_meter_measures_the_configured_microphone_when_idle(
    tmp_path: Path, device: str, peak: float, silent: bool, clipping: bool
) -> None:
    k = kit_with(tmp_path, device)
    try:
        # The API token works too (the CLI), without a session.
        r = k.app.test_client().get("/api/mic/level", headers={"Authorization": f"Bearer {TOKEN}"})
        body = r.get_json()
        assert r.status_code == 200 and body["state"] == "measured", body
        assert body["peak_dbfs"] == pytest.approx(peak, abs=0.5)
        assert (body["silent"], body["clipping"]) == (silent, clipping)
        # The sentence as an id and values too: the page says it in its own language.
        assert body["message_id"] in {"check.mic_level.level", "check.mic_level.silent",
                                      "check.mic_level.clipping"}, body  # fmt: skip
        c, _ = logged_in(k)
        page = c.get("/picture", headers={"Accept-Language": "sv"}).text
        found = re.search(r'<script type="application/json" id="strings">(.*?)</script>', page)
        assert found, page
        strings = json.loads(html.unescape(found.group(1)))
        swedish = strings["error." + body["message_id"]]
        assert swedish.format(**body["message_values"]) != body["message"]
        if body["message_id"] == "check.mic_level.level":
            assert body["message_values"] == {"peak": f"{body['peak_dbfs']:.0f}",
                                              "rms": f"{body['rms_dbfs']:.0f}"}  # fmt: skip
    finally:
        k.close()


@pytest.mark.usefixtures("in_process")
def test_while_live_the_meter_never_opens_the_microphone(tmp_path: Path) -> None:
    k = kit_with(tmp_path, "kit_tone")
    try:
        # The conductor says the microphone is taken (tested from its states in
        # tests/unit/test_web_forms.py); the meter then never asks for the device.
        k.conductor._status = Status(State.LIVE)

        def must_not_open() -> str:
            raise AssertionError("the meter opened the microphone while live")

        k.conductor.microphone_device = must_not_open  # type: ignore[method-assign]
        c, _ = logged_in(k)
        body = c.get("/api/mic/level").get_json()
        assert body["state"] == "busy" and "in use by the broadcast" in body["message"]
    finally:
        k.conductor._status = Status(State.IDLE)
        k.close()


def test_no_microphone_plugged_in_is_said(tmp_path: Path) -> None:
    empty = tmp_path / "asound"
    empty.mkdir()
    k = kit_with(tmp_path, "", proc=empty)
    try:
        c, _ = logged_in(k)
        body = c.get("/api/mic/level").get_json()
        assert body["state"] == "unavailable" and "no USB microphone" in body["message"]
        assert body["message_id"] == "check.mic_level.no_microphone"
        r = c.get("/api/mic/gain")
        assert r.status_code == 409 and "no USB microphone" in r.get_json()["error"]
    finally:
        k.close()


def test_the_meter_needs_a_session_or_the_token(kit: Kit) -> None:
    anon = kit.app.test_client()
    assert anon.get("/api/mic/level").status_code == 401
    assert anon.get("/api/mic/gain").status_code == 401
    assert anon.post("/api/mic/gain", json={"percent": 50}).status_code == 401


# -- the gain -----------------------------------------------------------------------


@pytest.mark.parametrize("percent", [-1, 101, "50", True, None, 1e9])
def test_the_gain_must_be_0_to_100(kit: Kit, percent: Any) -> None:
    c, token = logged_in(kit)
    r = c.post("/api/mic/gain", json={"percent": percent}, headers={"X-CSRF-Token": token})
    assert r.status_code == 400 and "0 to 100" in r.get_json()["error"]


def test_the_gain_post_needs_the_csrf_token(kit: Kit) -> None:
    c, _ = logged_in(kit)
    assert c.post("/api/mic/gain", json={"percent": 50}).status_code == 403


def test_the_gain_in_simulation_is_refused_with_the_reason(kit: Kit) -> None:
    c, token = logged_in(kit)
    r = c.get("/api/mic/gain")
    assert r.status_code == 409 and r.get_json()["error"] == "simulation: a tone, no meter"
    r = c.post("/api/mic/gain", json={"percent": 50}, headers={"X-CSRF-Token": token})
    assert r.status_code == 409


@pytest.mark.usefixtures("in_process")
def test_a_device_with_no_card_has_no_gain_to_control(tmp_path: Path) -> None:
    k = kit_with(tmp_path, "kit_tone")  # a plugin, not a sound card
    try:
        c, token = logged_in(k)
        r = c.post("/api/mic/gain", json={"percent": 40}, headers={"X-CSRF-Token": token})
        assert r.status_code == 409 and "hw:CARD=" in r.get_json()["error"]
    finally:
        k.close()


class FakeGain:
    def __init__(self) -> None:
        self.value = 30

    def percent(self) -> int:
        return self.value

    def set_percent(self, p: float) -> int:
        self.value = round(p)
        return self.value


def test_the_gain_reads_and_sets_the_cards_capture_volume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gain = FakeGain()
    asked: list[str] = []

    def for_device(device: str) -> FakeGain:
        asked.append(device)
        return gain

    monkeypatch.setattr(mic.CaptureGain, "for_device", staticmethod(for_device))
    k = kit_with(tmp_path, "hw:CARD=Device,DEV=0")
    try:
        c, token = logged_in(k)
        assert c.get("/api/mic/gain").get_json() == {"percent": 30}
        r = c.post("/api/mic/gain", json={"percent": 72.4}, headers={"X-CSRF-Token": token})
        assert r.get_json() == {"percent": 72} and gain.value == 72
        assert asked == ["hw:CARD=Device,DEV=0"] * 2
    finally:
        k.close()


def test_a_card_without_a_capture_control_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_control(self: mic.CaptureGain) -> str:
        raise MicrophoneError("Sound card Device has no capture volume control: set the level")

    monkeypatch.setattr(mic.CaptureGain, "control", no_control)
    k = kit_with(tmp_path, "hw:CARD=Device,DEV=0")
    try:
        c, _ = logged_in(k)
        r = c.get("/api/mic/gain")
        assert r.status_code == 409 and "no capture volume control" in r.get_json()["error"]
    finally:
        k.close()


def test_the_picture_page_has_the_meter_gain_and_light_controls(kit: Kit) -> None:
    c, _ = logged_in(kit)
    page = c.get("/picture").text
    for part in ('id="mic"', 'id="mic-peak"', 'id="mic-rms"', 'id="gain"', 'id="light-mode"',
                 'id="light-switch"', 'id="light-relay"'):  # fmt: skip
        assert part in page, part
    assert "not on this page yet" not in page


# -- the pre-flight check -----------------------------------------------------------


def context(device: Any) -> mic_check.MicContext:
    from kit.config import Config

    return mic_check.MicContext(Config(), lambda: True, lambda: True, microphone_device=device)


@pytest.mark.usefixtures("in_process")
@pytest.mark.parametrize(
    ("device", "level", "words"),
    [("kit_tone", Level.OK, "Level"), ("kit_silence", Level.WARN, "Silent"),
     ("kit_square", Level.WARN, "Clipping"), ("kit_nothing", Level.FAIL, "Cannot read")],
)  # fmt: skip
def test_the_check_judges_the_microphone(device: str, level: Level, words: str) -> None:
    r = mic_check.check_level(context(lambda: device))
    assert (r.id, r.status) == ("mic_level", level), r.message
    assert words in r.message


def test_the_check_does_not_measure_the_simulated_tone(kit: Kit) -> None:
    r = mic_check.check_level(context(lambda: None))
    assert r.status is Level.OK and r.message.startswith("Not measured")
    # Nor a context without a microphone (built elsewhere).
    from kit.config import Config

    plain = checks.Context(Config(), lambda: True, lambda: True)
    assert mic_check.check_level(plain).status is Level.OK
    # And in the conductor's own run, in simulation:
    (result,) = [r for r in kit.conductor.run_checks() if r.id == "mic_level"]
    assert result.status is Level.OK and "Not measured" in result.message


def test_the_check_is_in_the_default_list() -> None:
    assert mic_check.check_level in Parts.__dataclass_fields__["checks"].default_factory()  # type: ignore[misc]


@pytest.mark.usefixtures("in_process")
def test_the_conductor_checks_the_configured_microphone(tmp_path: Path) -> None:
    k = kit_with(tmp_path, "kit_silence")
    try:
        (result,) = [r for r in k.conductor.run_checks() if r.id == "mic_level"]
        assert result.status is Level.WARN and "Silent" in result.message
    finally:
        k.close()


def test_the_conductor_samples_the_temperature_while_on_air(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In its health refresh, for the session report's peak (tests/unit/test_broadcast.py)."""
    from kit.broadcast import Broadcast
    from kit.hw import health
    from kit.media.audio import Tone
    from kit.media.camera import TestPatternCamera
    from kit.media.pipeline import Encode

    monkeypatch.setattr(health, "read_temperature", lambda *a: 80.25)
    on_air = Broadcast(
        kit.settings.current(),
        camera=TestPatternCamera(Encode("libx264", 720, 1280, 30, 2500)),
        audio=Tone(),
        store=kit.store,
        encoder="libx264",
        on_event=lambda ev: None,
    )  # never started: no ffmpeg
    kit.conductor._broadcast = on_air
    kit.conductor._health_cache = None
    real = health.snapshot

    def hot_snapshot(folder: Path) -> Any:
        import dataclasses

        return dataclasses.replace(real(folder), temperature_c=80.25)

    monkeypatch.setattr(health, "snapshot", hot_snapshot)
    try:
        kit.conductor._health()
        assert on_air.peak_temperature_c == pytest.approx(80.25, abs=0.1)
    finally:
        kit.conductor._broadcast = None
