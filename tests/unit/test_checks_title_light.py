"""The title and light pre-flight checks: amber at worst, never a red that stops a go-live;
the light is read after the ring light has had a moment to change the picture."""

from __future__ import annotations

from typing import Any

import pytest

from kit import checks, config
from kit.checks import Context, Level
from kit.media import picam


def ctx(mode: str = "broadcast", title: str = "", light: Any = None) -> Context:
    cfg = config.from_dict(
        {
            "stream": {"server": "rtmp://h/live/", "key": "k"},
            "broadcast": {"title": title},
            "light": {"mode": mode},
        }
    )
    return Context(cfg, lambda: True, lambda: True, light=light)


@pytest.mark.parametrize(
    ("title", "level"),
    [("", Level.WARN), ("   ", Level.WARN), ("Friday jam", Level.OK), ("🎸", Level.OK)],
)
def test_title(title: str, level: Level) -> None:
    assert checks.check_title(ctx(title=title)).status is level


@pytest.mark.parametrize(
    ("meta", "level", "says"),
    [
        ({"Lux": 400.0, "ExposureTime": 10000, "AnalogueGain": 2.0}, Level.OK, "Enough light"),
        ({"Lux": 12.0, "ExposureTime": 33000, "AnalogueGain": 8.0}, Level.WARN, "Too dark"),
        ({"ExposureTime": 33000, "AnalogueGain": 10.0}, Level.WARN, "longest exposure"),
    ],
)
@pytest.mark.parametrize(("mode", "waits"), [("broadcast", [1.0]), ("always", []),
                                             ("manual", [])])  # fmt: skip
def test_light(
    meta: dict[str, float], level: Level, says: str, mode: str, waits: list[float]
) -> None:
    slept: list[float] = []
    result = checks.check_light(
        ctx(mode, light=lambda: picam.light_level(meta)), sleep=slept.append
    )
    assert result.status is level and says in result.message
    # In broadcast mode the ring light came on with the checks: the camera settles first.
    assert slept == waits


def test_no_light_reading_is_said_not_passed_off_as_enough() -> None:
    result = checks.check_light(ctx(light=None))
    assert result.status is Level.OK and result.message.startswith("Not measured")


def test_the_default_checklist_has_the_title_and_the_light() -> None:
    assert {checks.check_title, checks.check_light} <= set(checks.CHECKS)
