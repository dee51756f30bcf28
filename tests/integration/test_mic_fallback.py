"""A microphone that goes away while live: the stream goes on with silence, then takes it back.

The microphone is a real ALSA capture device (ALSA's file plugin, tests/peers/alsa.py)
read by the real ffmpeg. A USB unplug cannot happen here, so the test's audio source
switches to a device name that no longer exists and ffmpeg is killed, as the read
error of an unplugged mic would end it; everything the kit does next is real.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from kit.machine import Ev, Failed
from kit.media import pipeline
from kit.media.backoff import Backoff
from tests.peers import alsa, probe
from tests.peers.ingest import Ingest
from tests.peers.live import Live


class UnpluggableMic:
    """An AudioSource (kit.media.audio) whose device can be taken away."""

    def __init__(self, device: str) -> None:
        self.device, self.plugged = device, True

    def feed(self) -> pipeline.AudioFeed:
        return pipeline.AudioFeed("alsa", self.device if self.plugged else "hw:CARD=Gone,DEV=0")

    def available(self) -> bool:
        return self.plugged


def test_unplugged_mic_streams_silence_then_recovers(
    ingest: Ingest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = alsa.make_devices(tmp_path / "alsa", {"kit_mic": alsa.tone(seconds=30)})
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(devices.config))
    mic = UnpluggableMic("kit_mic")
    backoff = Backoff(first=0.2, cap=0.5)
    with Live(ingest.rtmp_url(), "mic-test", tmp_path / "rec", audio=mic, backoff=backoff) as live:
        sup = live.supervisor
        live.wait_for(Ev.PUSH_UP, 15)
        assert sup.stats()["microphone"] == "ok"
        time.sleep(1)

        mic.plugged = False
        first = sup.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        live.wait(lambda: sup.stats()["microphone"] == "missing", 15, "the mic reported missing")
        # The stream comes back on silence: live a second time.
        live.wait_for(Ev.PUSH_UP, 15, times=2)
        silent_pid = sup.pid
        time.sleep(2)
        assert sup.pid == silent_pid, "the silent stream kept restarting"

        mic.plugged = True
        live.wait(
            lambda: sup.stats()["microphone"] == "ok" and sup.pid not in (None, silent_pid),
            10,
            "the mic taken back",
        )
        live.wait_for(Ev.PUSH_UP, 15, times=3)
        time.sleep(1)
    assert not any(isinstance(e, Failed) for e in live.events), live.events
    assert live.events[-1] is Ev.PIPELINE_STOPPED
    flv = [p for p in ingest.recordings() if p.name.startswith("mic-test")]
    assert flv, "nothing reached the ingest"
    for p in flv:
        assert probe.audio(p).sample_rate == 48000
