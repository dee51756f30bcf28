"""One broadcast run by the real Supervisor (kit.media.supervisor), set up as the tests need it.

``Live`` builds the Supervisor with the daemon's own code (kit.broadcast's ``spec_builder``
and ``supervisor_for``), without a store and with test defaults: a test pattern camera, a
tone (or the given audio source, replaced by silence while the supervisor says the mic is
gone), libx264 at 720x1280 30 fps 2.5 Mb/s, 60 s segments ``part-%04d.mp4`` in the folder,
the stream key (in each escaped form) as the secret to redact. It records every event the
supervisor sends; ``with`` starts the supervisor and always stops it (waiting for ffmpeg to
exit)::

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

from kit import broadcast, destination
from kit.machine import Ev, Event, Failed
from kit.media import pipeline
from kit.media.audio import AudioSource, Tone
from kit.media.camera import CameraSource, TestPatternCamera

ENCODE = pipeline.Encode("libx264", 720, 1280, 30, 2500)
SEGMENT_SECONDS = 60


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
        push_health: bool = True,
        **options: Any,
    ) -> None:
        """`camera` defaults to a test pattern of the encode's size and rate; `audio` to a
        Tone, and the supervisor's mic_available to its ``available``. `push_health` (on, as
        in the daemon) reads what the ingest acknowledged from the kernel's TCP counters:
        the push is up once media is acknowledged; off, it is up from ffmpeg's log alone
        (TCP connected and no error for a moment), which ffmpeg may leave out.
        Any other Supervisor keyword (backoff, ffmpeg_bin, max_quick_failures, target_kbps,
        clock...) goes to it unchanged."""
        self.destination = destination.parse(server, key)
        self.events: list[Event] = []
        self._arrived = threading.Condition()  # notified at each event
        sound = audio or Tone()
        self.supervisor = broadcast.supervisor_for(
            camera=camera or TestPatternCamera(encode),
            audio=sound,
            folder=folder,
            dest=self.destination,
            spec_for=broadcast.spec_builder(
                encode,
                folder,
                self.destination,
                sound,
                segment_seconds=SEGMENT_SECONDS,
                ca_file=ca_file,
            ),
            on_event=self._record,
            push_health=push_health,
            **options,
        )

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
