"""build_sources in simulation: the camera and the pins are always simulated; the microphone
is a tone unless [audio] device names an ALSA capture device, which is then used for real."""

from __future__ import annotations

from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from kit.app import build_sources
from kit.config import from_dict
from kit.media.audio import AlsaMicrophone, Tone
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
