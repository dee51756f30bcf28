"""The supervisor with real processes that fail: it gives up with a clear error, not a loop."""

from __future__ import annotations

import threading
from pathlib import Path

from kit import destination
from kit.machine import Event, Failed, Failure
from kit.media import pipeline
from kit.media.audio import Tone
from kit.media.backoff import Backoff
from kit.media.camera import TestPatternCamera
from kit.media.supervisor import Supervisor, next_segment_number


def test_an_encoder_that_keeps_failing_ends_the_broadcast(tmp_path: Path) -> None:
    dest = destination.parse("rtmp://127.0.0.1:1/live/", "key")
    events: list[Event] = []
    done = threading.Event()

    def on_event(ev: Event) -> None:
        events.append(ev)
        done.set()

    def spec_for(feed: pipeline.VideoFeed, first: int) -> pipeline.Spec:
        return pipeline.Spec(
            feed,
            Tone().feed(),
            pipeline.Encode("libx264", 720, 1280, 30, 2500),
            pipeline.Outputs(tmp_path / "part-%04d.mp4", 10, first, dest),
        )

    # "false" stands in for an ffmpeg that exits at once, every time.
    sup = Supervisor(
        camera=TestPatternCamera(720, 1280, 30),
        spec_for=spec_for,
        session_dir=tmp_path,
        on_event=on_event,
        secrets=["key"],
        ffmpeg_bin="false",
        max_quick_failures=3,
        backoff=Backoff(first=0.01, cap=0.05),
    )
    sup.start()
    assert done.wait(20)
    sup.join(5)
    assert len(events) == 1
    (ev,) = events
    assert isinstance(ev, Failed) and ev.what is Failure.PIPELINE
    assert sup.stats()["restarts"] == 2


def test_segment_numbers_continue_after_a_restart(tmp_path: Path) -> None:
    assert next_segment_number(tmp_path) == 0
    for n in (0, 1, 7):
        (tmp_path / f"part-{n:04d}.mp4").write_bytes(b"")
    (tmp_path / "part-x.mp4").write_bytes(b"")
    assert next_segment_number(tmp_path) == 8
