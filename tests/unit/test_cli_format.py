"""What `kit status` prints for a person, from the API's JSON."""

from __future__ import annotations

import pytest

from kit.cli import format_status, parser, press_said

LIVE = {
    "state": "live",
    "advice": "",
    "title": "Sale 🎉",
    "elapsed_s": 3725.4,
    "session_id": 3,
    "bitrate_kbps": 2510.2,
    "fps": 30.0,
    "speed": 1.0,
    "dropped_frames": 2,
    "reconnects": 1,
    "markers": 4,
    "recording": "/r/part-0001.mp4",
    "last_error": "",
}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"state": "idle"}, ["State:       IDLE"]),
        (
            LIVE,
            [
                "State:       LIVE  01:02:05",
                "Title:       Sale 🎉",
                "Bitrate:     2510 kb/s   FPS: 30.0   Speed: 1.00x",
                "Dropped:     2 frames   Reconnects: 1   Markers: 4",
                "Recording:   /r/part-0001.mp4",
            ],
        ),
        ({"state": "countdown", "countdown_s": 2.2}, ["State:       COUNTDOWN  2"]),
        (
            {"state": "key_rejected", "advice": "Get a new key."},
            ["State:       KEY REJECTED", "What to do:  Get a new key."],
        ),
        (
            {
                "state": "idle",
                "last_session": {
                    "duration_s": 61,
                    "end": "stopped",
                    "markers": 0,
                    "reconnects": 0,
                    "recording": "/r/s",
                },
            },
            [
                "State:       IDLE",
                "Last broadcast: 00:01:01, ended stopped, 0 markers, 0 reconnects",
                "Recording:   /r/s",
            ],
        ),
    ],
    ids=["idle", "live", "countdown", "error", "after"],
)
def test_format_status(status: dict[str, object], expected: list[str]) -> None:
    assert format_status(status).splitlines() == expected


@pytest.mark.parametrize(
    "command", ["run", "status", "live", "marker", "press", "check", "config", "relay-off"]
)
def test_every_command_takes_config(command: str) -> None:
    argv = [command, "--config", "/x.toml"] + (["start"] if command == "live" else [])
    assert parser().parse_args(argv).config == "/x.toml"


# -- what `kit press` says: the press's effect comes a moment after the API answers ---------


@pytest.mark.parametrize(
    ("before", "after", "held", "expected"),
    [
        ({"state": "idle"}, {"state": "checking"}, 0,
         "Pressed: running the pre-flight checks, then a 3-second countdown, then live; "
         "press again to cancel. `kit status` shows how it goes."),
        ({"state": "key_rejected"}, {"state": "checking"}, 0,
         "Pressed: running the pre-flight checks, then a 3-second countdown, then live; "
         "press again to cancel. `kit status` shows how it goes."),
        ({"state": "idle"}, {"state": "countdown"}, 0,
         "Pressed: the checks passed; live after a 3-second countdown (press to cancel)."),
        ({"state": "idle"}, {"state": "check_failed", "advice": "No destination. Fix it."}, 0,
         "Pressed: it could not go live (check_failed): No destination. Fix it."),
        ({"state": "checking"}, {"state": "idle"}, 0,
         "Pressed: the pre-flight checks are cancelled; state: idle."),
        ({"state": "countdown"}, {"state": "idle"}, 0,
         "Pressed: the countdown is cancelled; state: idle."),
        ({**LIVE, "markers": 3}, LIVE, 0, "Pressed: marked a highlight (4 in this broadcast)."),
        (LIVE, {"state": "stopping"}, 3,
         "Held 3 s: ending the broadcast (state: stopping); `kit status` shows when it is done."),
        ({"state": "idle"}, {"state": "idle"}, 10,
         "Held 10 s: opening the kit's own Wi-Fi (hotspot); `kit status` shows it."),
        ({"state": "idle"}, {"state": "idle"}, 0,
         "Pressed: nothing changed yet (state: idle); `kit status` shows what happens."),
    ],
)  # fmt: skip
def test_kit_press_says_what_happens_next(
    before: dict[str, object], after: dict[str, object], held: float, expected: str
) -> None:
    assert press_said(before, after, held) == expected
