"""build_sources in simulation: the camera and the pins are always simulated; the microphone
is a tone unless [audio] device names an ALSA capture device, which is then used for real."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from kit.app import build_sources, camera_source
from kit.config import from_dict
from kit.media.audio import AlsaMicrophone, Tone
from kit.media.camclient import CameraProcess
from kit.media.camera import TestPatternCamera


@pytest.mark.parametrize(
    ("audio", "source", "feed"),
    [
        ({}, Tone, ("tone", "")),  # no [audio] section: sim/kit.toml (install.sh --dev --run)
        ({"device": ""}, Tone, ("tone", "")),  # empty: on a Pi, "the first USB mic"
        ({"device": "hw:CARD=Device,DEV=0"}, AlsaMicrophone, ("alsa", "hw:CARD=Device,DEV=0")),
        ({"device": "plughw:CARD=Mic,DEV=0"}, AlsaMicrophone, ("alsa", "plughw:CARD=Mic,DEV=0")),
        ({"device": "kit_tone"}, AlsaMicrophone, ("alsa", "kit_tone")),  # a plugin PCM
    ],
)  # fmt: skip
def test_simulation_uses_a_configured_microphone(
    tmp_path: Path, audio: dict[str, str], source: type, feed: tuple[str, str]
) -> None:
    cfg = from_dict(
        {
            "state": {"dir": str(tmp_path)},
            "recording": {"dir": str(tmp_path / "rec")},
            **({"audio": audio} if audio else {}),
        }
    )
    camera, mic, pins = build_sources(cfg, simulate=True)
    try:
        assert isinstance(camera, TestPatternCamera)
        assert isinstance(pins, MockFactory)
        assert type(mic) is source
        got = mic.feed()
        assert (got.kind, got.device) == feed
    finally:
        camera.close()
        pins.close()


def test_each_feed_follows_the_settings_in_force(tmp_path: Path) -> None:
    """The page's video preset and microphone apply to the next broadcast: the camera
    captures at the new size and rate (never scaled up from the old one), ffmpeg reads the
    new microphone."""
    base = {"state": {"dir": str(tmp_path)}, "recording": {"dir": str(tmp_path / "rec")}}
    now = [from_dict(base | {"audio": {"device": "hw:CARD=Old,DEV=0"}})]
    camera, mic, pins = build_sources(now[0], simulate=True, current=lambda: now[0])
    try:
        first = camera.start_feed(time.time())
        camera.stop_feed()
        assert (first.width, first.height, first.fps) == (720, 1280, 30)
        now[0] = from_dict(
            base
            | {
                "stream": {"width": 1080, "height": 1920, "fps": 25},
                "audio": {"device": "plughw:CARD=New,DEV=0"},
            }
        )
        second = camera.start_feed(time.time())
        # The feed is H.264 of the new size in NUT, each frame stamped with its wall-clock
        # capture time in microseconds.
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-f", "nut", "-i", f"pipe:{second.fd}",
             "-read_intervals", "%+#3", "-show_streams", "-show_packets", "-of", "json"],
            pass_fds=(second.fd,), capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        info = json.loads(probe.stdout)
        stream = info["streams"][0]
        assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 1080, 1920)
        assert stream["time_base"] == "1/1000000"
        assert abs(float(info["packets"][0]["pts_time"]) - time.time()) < 10
        camera.stop_feed()
        assert (second.width, second.height, second.fps) == (1080, 1920, 25)
        assert mic.feed().device == "plughw:CARD=New,DEV=0"
    finally:
        camera.close()
        pins.close()


@pytest.mark.parametrize(
    ("source", "simulate", "kind"),
    [
        ("auto", True, TestPatternCamera),
        ("auto", False, CameraProcess),
        ("picamera2", True, CameraProcess),  # the rig runs the whole kit on the real camera
        ("test-pattern", False, TestPatternCamera),
    ],
)
def test_camera_source(tmp_path: Path, source: str, simulate: bool, kind: type) -> None:
    cfg = from_dict(
        {
            "state": {"dir": str(tmp_path)},
            "recording": {"dir": str(tmp_path / "rec")},
            "camera": {"source": source},
        }
    )
    assert camera_source(cfg, simulate) == {TestPatternCamera: "test-pattern"}.get(
        kind, "picamera2"
    )
    camera, _mic, pins = build_sources(cfg, simulate=simulate)
    try:
        # Building never opens the camera: a missing one cannot stop the kit here.
        assert isinstance(camera, kind)
    finally:
        camera.close()
        if pins is not None:
            pins.close()
