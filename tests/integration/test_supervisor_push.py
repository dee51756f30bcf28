"""The supervisor's own verdicts on the push, with real ffmpeg and a real ingest.

The pre-flight checks catch a server that is down or untrusted before going live;
these are the cases where the server fails the stream itself, after the checks.
"""

from __future__ import annotations

import threading
from pathlib import Path

from kit import destination
from kit.machine import Ev, Event
from kit.media import pipeline
from kit.media.audio import Tone
from kit.media.camera import TestPatternCamera
from kit.media.supervisor import Supervisor
from tests.peers.ingest import Ingest, free_port


def run_until(
    server: str, tmp_path: Path, until: set[Ev], ca_file: Path | None = None, timeout: float = 25
) -> tuple[list[Event], Supervisor]:
    dest = destination.parse(server, "stream-1?sign=abc")
    events: list[Event] = []
    done = threading.Event()

    def on_event(ev: Event) -> None:
        events.append(ev)
        if ev in until:
            done.set()

    def spec_for(feed: pipeline.VideoFeed, first: int) -> pipeline.Spec:
        return pipeline.Spec(
            feed,
            Tone().feed(),
            pipeline.Encode("libx264", 720, 1280, 30, 2500),
            pipeline.Outputs(tmp_path / "part-%04d.mp4", 60, first, dest, ca_file),
        )

    sup = Supervisor(
        camera=TestPatternCamera(720, 1280, 30),
        spec_for=spec_for,
        session_dir=tmp_path,
        on_event=on_event,
        secrets=["stream-1?sign=abc"],
    )
    sup.start()
    try:
        assert done.wait(timeout), f"no {until}: {events} {sup.recent_log()}"
    finally:
        sup.stop(wait=True)
    return events, sup


def test_nothing_listening_is_unreachable_after_a_few_tries(tmp_path: Path) -> None:
    events, sup = run_until(f"rtmp://127.0.0.1:{free_port()}/game/", tmp_path, {Ev.UNREACHABLE})
    assert Ev.PUSH_UP not in events
    assert "Connection refused" in str(sup.stats()["last_error"])
    # The recording ran meanwhile: the broadcast's first seconds are kept.
    assert list(tmp_path.glob("part-*.mp4"))


def test_an_untrusted_certificate_is_unreachable_and_says_why(
    tmp_path: Path, ingest: Ingest
) -> None:
    _events, sup = run_until(
        ingest.rtmps_url(),
        tmp_path,
        {Ev.UNREACHABLE},
        ca_file=Path("/etc/ssl/certs/ca-certificates.crt"),
    )
    assert "certificate failed verification" in str(sup.stats()["last_error"])
    assert ingest.publishes == []
