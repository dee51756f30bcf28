"""The broadcast's figures over time, for the report's chart: a small thread per broadcast.

Every second it looks at the supervisor's figures (a dict under a lock: nothing to
measure) and notes whether the stream ever went live; every few seconds it stores one
:class:`kit.store.Sample` (bitrate, dropped frames and reconnects so far, the CPU's
temperature). An hour is 720 rows. Whether anybody watches the page makes no difference.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kit.hw import health
from kit.store import Sample, Store

log = logging.getLogger(__name__)

EVERY_S = 5.0
POLL_S = 1.0


class Sampler:
    def __init__(
        self,
        store: Store,
        session_id: int,
        stats: Callable[[], dict[str, Any]],
        started: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        temperature: Callable[[], float | None] = health.read_temperature,
        every_s: float = EVERY_S,
        poll_s: float = POLL_S,
        fps: float = 30.0,
    ) -> None:
        """`fps`: the stream's nominal rate, to tell the recording's time from its frames."""
        self._store, self._id, self._stats = store, session_id, stats
        self._started, self._clock, self._temperature = started, clock, temperature
        self._every, self._poll = every_s, poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="figures", daemon=True)
        self._live = False
        self._last = -1e9
        self._fps = fps
        # Frames recorded by the ffmpeg runs before this one (a restart counts from 0).
        self._frames_before = 0
        self._frames_last = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop, with a last sample (the broadcast's end)."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self._look(force=True)

    def went_live(self, stats: dict[str, Any] | None = None) -> bool:
        """Whether the ingest ever accepted the stream (from what was seen, and `stats`)."""
        st = stats if stats is not None else self._stats()
        return self._live or bool(st.get("on_air"))

    def _run(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                self._look()
            except Exception:  # the figures must never end a broadcast
                log.warning("sampling the figures failed", exc_info=True)

    def _look(self, force: bool = False) -> None:
        st = self._stats()
        if st.get("on_air"):
            self._live = True
        frame = int(st.get("frame") or 0)
        if frame < self._frames_last:  # ffmpeg restarted
            self._frames_before += self._frames_last
        self._frames_last = frame
        now = self._clock()
        if not force and now - self._last < self._every:
            return
        self._last = now
        try:
            celsius = self._temperature()
        except Exception:
            celsius = None
        self._store.add_sample(
            self._id,
            Sample(
                at_s=round(now - self._started, 2),
                bitrate_kbps=float(st.get("bitrate_kbps") or 0.0),
                dropped_frames=int(st.get("dropped_frames") or 0),
                reconnects=int(st.get("reconnects") or 0),
                temperature_c=celsius,
                video_s=round((self._frames_before + frame) / self._fps, 2) if frame else None,
            ),
        )
