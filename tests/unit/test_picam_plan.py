"""Portrait from a landscape sensor: crop and turn, as tables. Pure; no camera needed."""

from __future__ import annotations

import pytest

from kit.media.picam import light_level
from kit.media.sensor import Plan, plan

IMX708 = (4608, 2592)  # Camera Module 3
IMX219 = (3280, 2464)  # Camera Module 2
IMX477 = (4056, 3040)  # HQ Camera


@pytest.mark.parametrize(
    ("sensor", "out", "mount", "expected"),
    [
        # Upright: a centred 9:16 window as tall as the sensor.
        (IMX708, (720, 1280), "upright", Plan((720, 1280), (1575, 0, 1458, 2592), 0)),
        (IMX219, (720, 1280), "upright", Plan((720, 1280), (947, 0, 1386, 2464), 0)),
        (IMX477, (1080, 1920), "upright", Plan((1080, 1920), (1173, 0, 1710, 3040), 0)),
        # Sideways: a centred 16:9 window, captured landscape, turned by ffmpeg.
        (IMX708, (720, 1280), "left", Plan((1280, 720), (0, 0, 4608, 2592), 90)),
        (IMX708, (720, 1280), "right", Plan((1280, 720), (0, 0, 4608, 2592), 270)),
        (IMX219, (720, 1280), "left", Plan((1280, 720), (0, 310, 3280, 1844), 90)),
    ],
    ids=["cm3-up", "cm2-up", "hq-1080-up", "cm3-left", "cm3-right", "cm2-left"],
)
def test_plan(sensor: tuple[int, int], out: tuple[int, int], mount: str, expected: Plan) -> None:
    got = plan(sensor, out, mount)  # type: ignore[arg-type]
    assert got == expected
    x, y, w, h = got.crop
    assert x >= 0 and y >= 0 and x + w <= sensor[0] and y + h <= sensor[1]
    cw, ch = got.capture
    # The crop has the capture's aspect within a pixel, so nothing is stretched.
    assert abs(w * ch - h * cw) <= max(cw, ch)


@pytest.mark.parametrize(
    ("meta", "status", "words"),
    [
        ({"Lux": 250.0, "ExposureTime": 10000, "AnalogueGain": 1.5}, "ok", "250 lux"),
        ({"Lux": 12.0, "ExposureTime": 33000, "AnalogueGain": 12.0}, "warn", "ring light"),
        ({"ExposureTime": 33000, "AnalogueGain": 10.0}, "warn", "longest exposure"),
        ({"ExposureTime": 8000, "AnalogueGain": 1.0}, "ok", "exposure normal"),
    ],
)
def test_light_level(meta: dict[str, float], status: str, words: str) -> None:
    got_status, message = light_level(meta)
    assert got_status == status
    assert words in str(message)
