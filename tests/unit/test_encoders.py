"""Which encoder and which x264 preset: the probe against the real ffmpeg, the preset as a table."""

from __future__ import annotations

import pytest

from kit.media import encoders


@pytest.mark.parametrize(
    ("preference", "model", "height", "expected"),
    [
        ("auto", "Raspberry Pi 5 Model B Rev 1.0", 1280, "superfast"),
        ("auto", "Raspberry Pi 5 Model B Rev 1.0", 1920, "ultrafast"),
        ("auto", "Raspberry Pi 4 Model B Rev 1.5", 1280, "ultrafast"),
        ("auto", None, 1280, "veryfast"),
        ("medium", "Raspberry Pi 5 Model B Rev 1.0", 1280, "medium"),  # asked for: kept
    ],
)
def test_x264_preset(preference: str, model: str | None, height: int, expected: str) -> None:
    assert encoders.x264_preset_for(preference, model, height) == expected


def test_the_probe_tells_a_listed_but_missing_hardware_encoder() -> None:
    # Debian's ffmpeg lists h264_v4l2m2m on every machine; here there is no device behind it.
    assert encoders.works("libx264") is True
    assert encoders.choose("auto") == "libx264"
    assert encoders.choose("h264_v4l2m2m") == "h264_v4l2m2m"  # asked for: not second-guessed
