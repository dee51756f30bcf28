"""What `kit status` prints for a person, from the API's JSON."""

from __future__ import annotations

import pytest

from kit.cli import format_status, parser

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
