"""The supervisor with real processes that fail: it gives up with a clear error, not a loop."""

from __future__ import annotations

from pathlib import Path

from kit.machine import Failed, Failure
from kit.media.backoff import Backoff
from kit.media.supervisor import next_segment_number
from tests.peers.live import Live


def test_an_encoder_that_keeps_failing_ends_the_broadcast(tmp_path: Path) -> None:
    # "false" stands in for an ffmpeg that exits at once, every time.
    with Live(
        "rtmp://127.0.0.1:1/live/",
        "key",
        tmp_path,
        ffmpeg_bin="false",
        max_quick_failures=3,
        backoff=Backoff(first=0.01, cap=0.05),
    ) as live:
        live.wait_for(Failed, 20)
        live.supervisor.join(5)
        assert len(live.events) == 1
        (ev,) = live.events
        assert isinstance(ev, Failed) and ev.what is Failure.PIPELINE
        assert live.supervisor.stats()["restarts"] == 2


def test_segment_numbers_continue_after_a_restart(tmp_path: Path) -> None:
    assert next_segment_number(tmp_path) == 0
    for n in (0, 1, 7):
        (tmp_path / f"part-{n:04d}.mp4").write_bytes(b"")
    (tmp_path / "part-x.mp4").write_bytes(b"")
    assert next_segment_number(tmp_path) == 8
