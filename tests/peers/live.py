"""One broadcast run by the real Supervisor (kit.media.supervisor), set up as the tests need it.

``Live`` builds the Supervisor much as the daemon does, with test defaults: a test pattern
camera, a tone (or the given audio source, replaced by silence while the supervisor says the
mic is gone), libx264 at 720x1280 30 fps 2.5 Mb/s, 60 s segments ``part-%04d.mp4`` in the
folder, the stream key as the secret to redact. It records every event the supervisor sends;
``with`` starts the supervisor and always stops it (waiting for ffmpeg to exit)::

    with Live(ingest.rtmp_url(), "key", tmp_path) as live:
        live.wait_for(Ev.PUSH_UP, 15)
    assert live.events[-1] is Ev.PIPELINE_STOPPED

A wait that times out fails with the events so far, the stats and ffmpeg's recent log.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from kit import destination
from kit.machine import Ev, Event, Failed
from kit.media import pipeline
from kit.media.audio import AudioSource, Tone
from kit.media.camera import CameraSource, TestPatternCamera
from kit.media.supervisor import Supervisor
from kit.net import checks as net

ENCODE = pipeline.Encode("libx264", 720, 1280, 30, 2500)


class Live:
    """A Supervisor for one broadcast to `server` with `key`, recording into `folder`."""

    def __init__(
        self,
        server: str,
        key: str,
        folder: Path,
        *,
        camera: CameraSource | None = None,
        audio: AudioSource | None = None,
        encode: pipeline.Encode = ENCODE,
        ca_file: Path | None = None,
        push_health: bool = False,
        **options: Any,
    ) -> None:
        """`camera` defaults to a test pattern of the encode's size and rate; `audio` to a
        Tone, and the supervisor's mic_available to its ``available``. `push_health` reads
        what the ingest acknowledged from the kernel's TCP counters, as the daemon does.
        Any other Supervisor keyword (backoff, ffmpeg_bin, max_quick_failures, target_kbps,
        clock...) goes to it unchanged."""
        self.destination = destination.parse(server, key)
        self.events: list[Event] = []
        self._arrived = threading.Condition()  # notified at each event
        self._audio = audio or Tone()
        self._encode, self._folder, self._ca_file = encode, folder, ca_file
        options.setdefault("mic_available", self._audio.available)
        if push_health:
            port = self.destination.port
            options["push_bytes"] = lambda pid: net.push_bytes(
                net.read_push_connections(pid, None, port) or []
            )
        self.supervisor = Supervisor(
            camera=camera or TestPatternCamera(encode.width, encode.height, encode.fps),
            spec_for=self._spec_for,
            session_dir=folder,
            on_event=self._record,
            secrets=[key],
            **options,
        )

    def _spec_for(
        self, feed: pipeline.VideoFeed, first_segment: int, silent: bool = False
    ) -> pipeline.Spec:
        sound = pipeline.AudioFeed("silence") if silent else self._audio.feed()
        outputs = pipeline.Outputs(
            self._folder / "part-%04d.mp4", 60, first_segment, self.destination, self._ca_file
        )
        return pipeline.Spec(feed, sound, self._encode, outputs)

    def _record(self, ev: Event) -> None:
        with self._arrived:
            self.events.append(ev)
            self._arrived.notify_all()

    def __enter__(self) -> Live:
        self.supervisor.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.supervisor.stop(wait=True)

    def wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `done` until it is true; after `timeout` seconds fail, saying `what`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return
            time.sleep(0.1)
        raise self._timed_out(what, timeout)

    def wait_for(self, wanted: Ev | type[Failed], timeout: float, times: int = 1) -> None:
        """Wait until the supervisor has sent `wanted` (an Ev, or Failed for any failure)
        `times` times in all since it started."""

        def matches(ev: Event) -> bool:
            return isinstance(ev, Failed) if wanted is Failed else ev is wanted

        with self._arrived:  # woken at once by each event, not polled
            if self._arrived.wait_for(lambda: sum(map(matches, self.events)) >= times, timeout):
                return
        raise self._timed_out(f"{wanted} x{times}", timeout)

    def _timed_out(self, what: str, timeout: float) -> AssertionError:
        return AssertionError(
            f"timed out after {timeout} s waiting for {what}\n"
            f"events: {self.events}\nstats: {self.supervisor.stats()}\n"
            f"ffmpeg's log: {self.supervisor.recent_log()}"
        )
