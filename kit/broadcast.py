"""One broadcast: its folder and record in the store, the supervisor that runs its ffmpeg,
its markers and figures, and the report at its end.

The conductor (kit.daemon) makes a :class:`Broadcast` when the countdown ends and drops
it when the supervisor's last event has come; it decides when, this module what. The part
that needs no store (what ffmpeg is asked to do, :func:`spec_builder`, and the supervisor
around it, :func:`supervisor_for`) is also what the tests' broadcasts use
(tests/peers/live.py), so they run the daemon's code, not a copy of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from kit import destination, figures, naming, recfiles
from kit.config import Config
from kit.destination import Destination
from kit.hw import health
from kit.machine import Event
from kit.media import encoders, pipeline
from kit.media.audio import AudioSource
from kit.media.camera import CameraSource
from kit.media.pipeline import Spec, VideoFeed
from kit.media.supervisor import Supervisor
from kit.messages import define
from kit.net import checks as net_checks
from kit.store import Store

log = logging.getLogger(__name__)

SEGMENT_PATTERN = "part-%04d.mp4"
MIC_MISSING = "The microphone is unplugged: the stream goes on without sound. Plug it back in."
NETWORK_BEHIND = (
    "The network is not keeping up with the stream: move closer to the router or lower the bitrate."
)
# The status's sentences with an id and values (kit.messages): the page shows them in the
# visitor's language from status["i18n"], kit status and the API read the English.
SAY_MIC_MISSING = define("status.microphone_missing", MIC_MISSING)
SAY_NETWORK_BEHIND = define("status.network_behind", NETWORK_BEHIND)
# The recording's fate, whenever it is not "recording" (the supervisor's recording_state).
SAY_RECORDING = {
    "disk_full": define(
        "status.recording_disk_full",
        "Recording stopped: the disk is full. The stream goes on; the recording starts "
        "again by itself when there is room.",
    ),
    "folder_gone": define(
        "status.recording_folder_gone",
        "Recording stopped: its folder is gone (was a USB disk unplugged?). The stream goes "
        "on; the recording starts again by itself when the folder is back.",
    ),
}


class SpecFor(Protocol):
    """What the supervisor asks at each ffmpeg start: the camera's feed, the first segment's
    number, and whether the microphone is gone (then the sound is silence)."""

    def __call__(self, feed: VideoFeed, first_segment: int, silent: bool = False) -> Spec: ...


# -- without a store: what ffmpeg does, and the supervisor that runs it --------------------


def encode_for(cfg: Config, encoder: str) -> pipeline.Encode:
    """The encode the settings ask for, with `encoder` (the one the probe found working)."""
    s = cfg.stream
    return pipeline.Encode(
        encoder, s.width, s.height, s.fps, s.bitrate_kbps, s.audio_bitrate_kbps,
        s.keyframe_seconds, encoders.x264_preset(s.x264_preset, s.height),
    )  # fmt: skip


def ca_file_for(cfg: Config) -> Path | None:
    """The CA bundle an rtmps:// server's certificate is checked against (None: not checked)."""
    return cfg.stream.ca_file if cfg.stream.tls_verify else None


def spec_builder(
    encode: pipeline.Encode,
    folder: Path,
    dest: Destination | None,
    audio: AudioSource,
    *,
    segment_seconds: int,
    ca_file: Path | None = None,
) -> SpecFor:
    """Every ffmpeg run of one broadcast: the camera's feed and the microphone (or silence)
    encoded once, recorded as segments in `folder` and pushed to `dest`. The one place a
    Spec is made, for the daemon and for the tests' broadcasts alike."""

    def spec_for(feed: VideoFeed, first_segment: int, silent: bool = False) -> Spec:
        outputs = pipeline.Outputs(
            folder / SEGMENT_PATTERN, segment_seconds, first_segment, dest, ca_file
        )
        sound = pipeline.AudioFeed("silence") if silent else audio.feed()
        return Spec(feed, sound, encode, outputs)

    return spec_for


def push_bytes_of(dest: Destination) -> Callable[[int], int | None]:
    """Bytes the ingest has acknowledged on ffmpeg's (process id) push connection, read
    from the kernel's TCP counters."""
    return lambda pid: net_checks.push_bytes(
        net_checks.read_push_connections(pid, None, dest.port) or []
    )


def supervisor_for(
    *,
    camera: CameraSource,
    audio: AudioSource,
    folder: Path,
    dest: Destination,
    spec_for: SpecFor,
    on_event: Callable[[Event], None],
    push_health: bool = True,
    **options: Any,
) -> Supervisor:
    """The supervisor of one broadcast: the key (in each escaped form) redacted from
    ffmpeg's log, silence while `audio` is unavailable, and, with `push_health`, what the
    ingest acknowledges watched. Other Supervisor keywords (ffmpeg_bin, target_kbps,
    backoff, clock, or mic_available instead of the audio's...) go to it unchanged."""
    options.setdefault("mic_available", audio.available)
    if push_health:
        options.setdefault("push_bytes", push_bytes_of(dest))
    return Supervisor(
        camera=camera,
        spec_for=spec_for,
        session_dir=folder,
        on_event=on_event,
        secrets=pipeline.secret_forms(dest),
        **options,
    )


# -- with a store: the session ------------------------------------------------------------


class Broadcast:
    """One broadcast with the settings in force: made when it starts (the folder is
    created and the session begun in the store), ended once (:meth:`end`)."""

    def __init__(
        self,
        cfg: Config,
        *,
        camera: CameraSource,
        audio: AudioSource,
        store: Store,
        encoder: str,
        on_event: Callable[[Event], None],
        ffmpeg_bin: str = "ffmpeg",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`on_event` gets the supervisor's events, on its thread."""
        self._store = store
        self._clock = clock
        self.destination = destination.parse(cfg.stream.server, cfg.stream.key.reveal())
        self.folder = naming.session_dir(cfg.recording.dir, cfg.broadcast.title)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.id = store.begin(cfg.broadcast.title, self.folder)
        encode = encode_for(cfg, encoder)
        self.supervisor = supervisor_for(
            camera=camera,
            audio=audio,
            folder=self.folder,
            dest=self.destination,
            spec_for=spec_builder(
                encode,
                self.folder,
                self.destination,
                audio,
                segment_seconds=cfg.recording.segment_seconds,
                ca_file=ca_file_for(cfg),
            ),
            on_event=on_event,
            ffmpeg_bin=ffmpeg_bin,
            target_kbps=encode.bitrate_kbps + encode.audio_bitrate_kbps,
        )
        self.started = clock()
        self._root = cfg.recording.dir
        self.figures = figures.Sampler(
            store, self.id, lambda: self.supervisor.stats(), self.started, clock=clock,
            fps=cfg.stream.fps,
        )  # fmt: skip
        self.markers = 0
        self.peak_temperature_c: float | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        log.info("broadcast %d to %s, recording in %s", self.id, self.destination.host, self.folder)
        self.supervisor.start()
        self.figures.start()

    def stop(self, wait: bool = False) -> None:
        """Ask for an orderly stop (the supervisor sends PIPELINE_STOPPED when ffmpeg has
        exited); with `wait`, return when it has."""
        self.supervisor.stop(wait=wait)

    def add_marker(self) -> None:
        """A highlight marker at the broadcast's time now."""
        self.markers += 1
        self._store.add_marker(self.id, round(self._clock() - self.started, 2))
        log.info("highlight marker %d at %.1f s", self.markers, self._clock() - self.started)

    def sample_temperature(self, celsius: float | None) -> None:
        """One temperature reading, for the report's peak (None: not known)."""
        with self._lock:
            if celsius is not None and (
                self.peak_temperature_c is None or celsius > self.peak_temperature_c
            ):
                self.peak_temperature_c = celsius

    def status(self, now: float | None = None) -> dict[str, Any]:
        """The broadcast's part of the conductor's status, at `now` (default: the clock):
        its figures and the supervisor's, and the warnings (in English, and as messages
        under ``i18n``, only when there are some)."""
        stats = self.supervisor.stats()
        out: dict[str, Any] = {
            "session_id": self.id,
            "elapsed_s": round((self._clock() if now is None else now) - self.started, 1),
            "markers": self.markers,
            "ffmpeg_pid": self.supervisor.pid,
            **stats,
        }
        warnings = []
        if stats.get("microphone") == "missing":
            warnings.append(SAY_MIC_MISSING())
        if stats.get("network") == "behind":
            warnings.append(SAY_NETWORK_BEHIND())
        if stats.get("recording_state") in SAY_RECORDING:
            warnings.insert(0, SAY_RECORDING[str(stats["recording_state"])]())
        if warnings:
            out["warnings"] = [str(w) for w in warnings]
            out["i18n"] = {"warnings": [w.as_dict() for w in warnings]}
        return out

    def end(self, end_state: str) -> dict[str, Any]:
        """Write the end and the figures to the store; the summary the status shows after
        (``last_session``)."""
        stats = self.supervisor.stats()
        try:
            self.sample_temperature(health.read_temperature())
        except Exception:  # a health reader must never lose the session's end
            log.warning("reading the temperature failed", exc_info=True)
        self._store.end(
            self.id,
            end_state,
            int(stats["reconnects"]),  # type: ignore[call-overload]
            int(stats["dropped_frames"]),  # type: ignore[call-overload]
            float(stats["bitrate_kbps"]),  # type: ignore[arg-type]
            peak_temperature_c=self.peak_temperature_c,
        )
        log.info("broadcast %d ended (%s)", self.id, end_state)
        self.figures.stop()
        if not self.figures.went_live(stats):  # an attempt leaves nothing behind
            recfiles.discard(self._store, self._root, self.folder, self.id)
        return {
            "session_id": self.id,
            "duration_s": round(self._clock() - self.started, 1),
            "markers": self.markers,
            "recording": str(self.folder),
            "end": end_state,
            **{k: stats[k] for k in ("reconnects", "dropped_frames", "last_error")},
        }
