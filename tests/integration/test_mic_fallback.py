"""A microphone that goes away while live: the stream goes on with silence, then takes it back.

The microphone is a real ALSA capture device (ALSA's file plugin, tests/peers/alsa.py)
read by the real ffmpeg. A USB unplug cannot happen here, so the test's audio source
switches to a device name that no longer exists and ffmpeg is killed, as the read
error of an unplugged mic would end it; everything the kit does next is real.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from kit import destination
from kit.machine import Ev, Event, Failed
from kit.media import pipeline
from kit.media.backoff import Backoff
from kit.media.camera import TestPatternCamera
from kit.media.supervisor import Supervisor
from tests.peers import alsa, probe
from tests.peers.ingest import Ingest


class UnpluggableMic:
    """An AudioSource (kit.media.audio) whose device can be taken away."""

    def __init__(self, device: str) -> None:
        self.device, self.plugged = device, True

    def feed(self) -> pipeline.AudioFeed:
        return pipeline.AudioFeed("alsa", self.device if self.plugged else "hw:CARD=Gone,DEV=0")

    def available(self) -> bool:
        return self.plugged


def wait(pred, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_unplugged_mic_streams_silence_then_recovers(
    ingest: Ingest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = alsa.make_devices(tmp_path / "alsa", {"kit_mic": alsa.tone(seconds=30)})
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(devices.config))
    mic = UnpluggableMic("kit_mic")
    dest = destination.parse(ingest.rtmp_url(), "mic-test")
    events: list[Event] = []
    ups = threading.Semaphore(0)

    def on_event(ev: Event) -> None:
        events.append(ev)
        if ev is Ev.PUSH_UP:
            ups.release()

    def spec_for(feed: pipeline.VideoFeed, first: int, silent: bool = False) -> pipeline.Spec:
        sound = pipeline.AudioFeed("silence") if silent else mic.feed()
        return pipeline.Spec(
            feed,
            sound,
            pipeline.Encode("libx264", 720, 1280, 30, 2500),
            pipeline.Outputs(tmp_path / "rec" / "part-%04d.mp4", 60, first, dest),
        )

    sup = Supervisor(
        camera=TestPatternCamera(720, 1280, 30),
        spec_for=spec_for,
        session_dir=tmp_path / "rec",
        on_event=on_event,
        secrets=["mic-test"],
        backoff=Backoff(first=0.2, cap=0.5),
        mic_available=mic.available,
    )
    sup.start()
    try:
        assert ups.acquire(timeout=15), f"never live: {sup.recent_log()}"
        assert sup.stats()["microphone"] == "ok"
        time.sleep(1)

        mic.plugged = False
        first = sup.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        wait(lambda: sup.stats()["microphone"] == "missing", 15, "the mic reported missing")
        assert ups.acquire(timeout=15), "the stream did not come back on silence"
        silent_pid = sup.pid
        time.sleep(2)
        assert sup.pid == silent_pid, "the silent stream kept restarting"

        mic.plugged = True
        wait(
            lambda: sup.stats()["microphone"] == "ok" and sup.pid not in (None, silent_pid),
            10,
            "the mic taken back",
        )
        assert ups.acquire(timeout=15)
        time.sleep(1)
    finally:
        sup.stop(wait=True)
    assert not any(isinstance(e, Failed) for e in events), events
    assert events[-1] is Ev.PIPELINE_STOPPED
    flv = [p for p in ingest.recordings() if p.name.startswith("mic-test")]
    assert flv, "nothing reached the ingest"
    for p in flv:
        assert probe.audio(p).sample_rate == 48000
