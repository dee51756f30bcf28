"""A missing or busy camera leaves the kit up: the page and the LED say what to check, the
camera is looked for again, and both clear by themselves once it is back.

The camera here is a stand-in for the kit's own CameraSource interface (what the camera
process reports is tested on the real picamera2 in tests/integration/test_camera_process.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit import checks, daemon
from kit.config import from_dict
from kit.daemon import Conductor, Parts
from kit.hw import lights
from kit.machine import State
from kit.media import camclient
from kit.media.audio import Tone
from kit.store import Store


class Camera:
    """A CameraSource whose camera comes and goes."""

    def __init__(self) -> None:
        self.there = False
        self.said = camclient.BUSY()
        self.looks = 0

    def available(self) -> bool:
        self.looks += 1
        return self.there

    def problem(self) -> camclient.Message | None:  # type: ignore[name-defined]
        return None if self.there else self.said

    def start_feed(self, t0: float):  # type: ignore[no-untyped-def]
        raise AssertionError("not in this test")

    def stop_feed(self) -> None:
        pass

    def feed_alive(self) -> bool:
        return False

    def close(self) -> None:
        pass


class Lights:
    def __init__(self) -> None:
        self.shown: list[lights.Pattern] = []

    def show(self, relay_on: bool, pattern: lights.Pattern) -> None:
        self.shown.append(pattern)

    def outputs(self) -> dict[str, bool]:
        return {"relay": False, "led": False}


@pytest.fixture
def kit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Conductor, Camera, Lights]]:
    monkeypatch.setattr(daemon, "CAMERA_RETRY_S", 0.2)
    cfg = from_dict(
        {"recording": {"dir": str(tmp_path / "rec")}, "state": {"dir": str(tmp_path / "state")}}
    )
    (tmp_path / "state").mkdir()
    store = Store(tmp_path / "state" / "kit.db")
    camera, shown = Camera(), Lights()
    c = Conductor(Parts(cfg, camera, Tone(), shown, store, "libx264", checks=[checks.check_camera]))
    c.start()
    yield c, camera, shown
    c.shutdown()
    store.close()


def wait(pred, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_busy_camera_is_said_on_the_page_and_the_led_until_it_is_free(kit) -> None:  # type: ignore[no-untyped-def]
    c, camera, shown = kit
    wait(lambda: not c.status()["camera"]["ok"])
    st = c.status()
    assert st["state"] == "idle"  # the kit is up: page, button and hotspot
    assert st["camera"]["problem"] == str(camclient.BUSY())
    assert st["warnings"] == [str(camclient.BUSY())]
    assert st["i18n"]["warnings"] == [
        {"id": "camera.busy", "values": {}, "text": str(camclient.BUSY())}
    ] or (st["i18n"]["warnings"][0]["id"] == "camera.busy")
    # Idle, the LED says "camera" rather than the heartbeat that reads as "ready".
    assert shown.shown[-1] == lights.PATTERNS[State.CAMERA_FAILED]
    looks = camera.looks
    wait(lambda: camera.looks >= looks + 2)  # looked for again, and again
    camera.there = True
    wait(lambda: c.status()["camera"]["ok"])
    assert "warnings" not in c.status()
    assert shown.shown[-1] == lights.PATTERNS[State.IDLE]
    # Found: no more looking (the camera process is let go when unused).
    looks = camera.looks
    time.sleep(0.6)
    assert camera.looks == looks


def test_the_checks_find_a_camera_gone_and_the_watch_takes_over(kit) -> None:  # type: ignore[no-untyped-def]
    c, camera, _ = kit
    camera.there = True
    wait(lambda: camera.looks >= 1)
    wait(lambda: c.status()["camera"]["ok"])
    camera.there, camera.said = False, camclient.MISSING()
    c.press()  # the pre-flight checks find it missing
    wait(lambda: c.status()["state"] == "check_failed")
    st = c.status()
    assert st["camera"]["problem"] == str(camclient.MISSING())
    assert "ribbon cable" in st["camera"]["problem"]
    camera.there = True
    wait(lambda: c.status()["camera"]["ok"])
