"""Runs ffmpeg for one broadcast: reads its progress and log, restarts it, stops it in order.

One thread per broadcast owns the ffmpeg process (and the camera feed):

- ``-progress`` gives frames, fps, dropped/duplicated frames and speed; the
  recording's growth gives the bitrate.
- The log, redacted of the stream key before it is kept anywhere, feeds the
  PushTracker, which says live / reconnecting / key rejected / unreachable.
- No new frame for ``stall_timeout`` seconds (2.5: progress comes every second): ffmpeg
  is killed and restarted. A run that made progress for HEALTHY_S or more is replaced
  at once, and the backoff starts over; failures close together back off (2 s, x1.5,
  jitter, capped), and too many of them in a row end the broadcast with a clear error
  rather than looping.
- Stopping sends SIGINT (ffmpeg finishes the segment and the push), then
  SIGKILL after a timeout. The current segment is fsynced every 2 s so a power
  cut loses at most that much.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from kit.machine import Ev, Event, Failed, Failure
from kit.media import pipeline
from kit.media.backoff import Backoff
from kit.media.camera import CameraError, CameraSource
from kit.media.ffmpeg_log import Kind, Progress, ProgressParser, classify
from kit.media.pipeline import Spec, VideoFeed
from kit.media.proc import Reaped
from kit.media.push import PushTracker
from kit.secret import redact

log = logging.getLogger(__name__)

SEGMENT_GLOB = "part-*.mp4"
MIC_POLL_S = 2.0
# Free space under which a recording has stopped (ffmpeg could not write its fragment),
# and what it needs again before the kit starts it anew.
FULL_BYTES = 2 * 2**20
RESUME_BYTES = 64 * 2**20
SEND_SAMPLE_S = 1.0
# While the push is not up, how often the ingest's acknowledgements are read: LIVE
# shows this soon after the server has accepted the stream.
PUBLISH_SAMPLE_S = 0.25
SEND_HISTORY_S = 30.0
# No byte acknowledged for this long while ffmpeg sends: the link is dead.
SEND_STALL_S = 4.0


class _Restart:
    """Returned by a run that ended on purpose, to be restarted at once (no backoff)."""


@dataclass(frozen=True)
class _CameraLost:
    """Returned by a run whose camera stopped delivering (or would not start): the
    camera is tried again a few times while the broadcast waits in reconnecting."""

    why: str


RESTART_NOW = _Restart()
FSYNC_EVERY_S = 2.0
# A run that made progress this long was healthy: its failure restarts ffmpeg at once.
HEALTHY_S = 10.0
# A camera that stops is started again after these waits; one that stays dead after
# them ends the broadcast.
CAMERA_RETRY_S = (1.0, 2.0, 4.0)
BITRATE_WINDOW_S = 6.0


@dataclass
class Stats:
    frame: int = 0
    fps: float = 0.0
    speed: float = 0.0
    dropped_frames: int = 0
    duplicated_frames: int = 0
    bitrate_kbps: float = 0.0
    reconnects: int = 0
    restarts: int = 0
    recording: str = ""
    segments: int = 0
    last_error: str = ""
    push: str = "connecting"  # the PushTracker's phase: connecting, up, down, gone
    on_air: bool = False  # the ingest has accepted the stream at least once
    microphone: str = "ok"  # "missing": unplugged while live, streaming silence
    # "ok", or why the recording stopped while the stream goes on: "disk_full",
    # "folder_gone" (a USB disk unplugged, the folder removed).
    recording_state: str = "ok"
    network: str = "unknown"  # "ok" / "behind": the ingest acknowledges less than we send
    send_kbps: float | None = None  # what the ingest acknowledged, over the last seconds


class Supervisor:
    def __init__(
        self,
        *,
        camera: CameraSource,
        spec_for: Callable[[VideoFeed, int], Spec],
        session_dir: Path,
        on_event: Callable[[Event], None],
        secrets: list[str],
        ffmpeg_bin: str = "ffmpeg",
        stall_timeout: float = 2.5,
        stop_timeout: float = 8.0,
        max_quick_failures: int = 4,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        mic_available: Callable[[], bool] = lambda: True,
        push_bytes: Callable[[int], int | None] | None = None,
        target_kbps: float = 0.0,
        resume_free_bytes: int = RESUME_BYTES,
    ) -> None:
        self._camera = camera
        self._spec_for = spec_for
        self._dir = session_dir
        self._on_event = on_event
        self._secrets = [s for s in secrets if s]
        self._ffmpeg = ffmpeg_bin
        self._stall_timeout = stall_timeout
        self._stop_timeout = stop_timeout
        self._max_quick = max_quick_failures
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._wall_clock = wall_clock
        self._mic_available = mic_available
        # Bytes the ingest has acknowledged on ffmpeg's push connection (from the
        # kernel's TCP counters), to see a network that falls behind the stream.
        self._push_bytes = push_bytes
        self._target_kbps = target_kbps
        self._resume_free = resume_free_bytes
        self._send_stalled = False
        # Seconds the last ffmpeg run made progress: HEALTHY_S or more and its end is
        # not part of a crash loop.
        self._healthy_s = 0.0
        # True while the microphone is gone: ffmpeg runs on silence meanwhile.
        self._silent = False
        self._stop = threading.Event()
        # Written to by stop() so the watch loop wakes at once, not at its next tick.
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._lock = threading.Lock()
        self._stats = Stats()
        self._recent: deque[str] = deque(maxlen=40)
        self._thread: threading.Thread | None = None
        self.pid: int | None = None

    # -- the conductor's side -------------------------------------------------

    def start(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
        self._thread.start()

    def stop(self, wait: bool = False) -> None:
        """Ask for an orderly stop; PIPELINE_STOPPED is sent when ffmpeg has exited."""
        self._stop.set()
        with self._lock:
            if self._wake_w >= 0:
                with contextlib.suppress(BlockingIOError):
                    os.write(self._wake_w, b"x")
        if wait and self._thread is not None:
            self._thread.join()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def stats(self) -> dict[str, object]:
        with self._lock:
            return asdict(self._stats)

    def recent_log(self) -> list[str]:
        with self._lock:
            return list(self._recent)

    # -- the supervisor thread ------------------------------------------------

    def _run(self) -> None:
        tracker = PushTracker(self._clock(), by_acks=self._push_bytes is not None)
        quick_failures = 0
        camera_failures = 0
        outcome: Event = Ev.PIPELINE_STOPPED
        try:
            while not self._stop.is_set():
                result = self._run_once(tracker)
                if self._stop.is_set():
                    break
                if result is RESTART_NOW:
                    for ev in tracker.restarted(self._clock()):
                        self._emit(ev, tracker)
                    continue
                if isinstance(result, _CameraLost):
                    # A camera that went well for a while gets its tries back.
                    camera_failures = 1 if self._healthy_s >= HEALTHY_S else camera_failures + 1
                    if camera_failures > len(CAMERA_RETRY_S):
                        # One sentence: what happened; the state's advice says what to do.
                        why = result.why[:1].upper() + result.why[1:].rstrip(".")
                        tries = len(CAMERA_RETRY_S)
                        outcome = Failed(
                            Failure.CAMERA, f"{why}, and again after {tries} restarts."
                        )
                        break
                    delay = CAMERA_RETRY_S[camera_failures - 1]
                    log.warning("camera: %s; trying it again in %.0f s", result.why, delay)
                    with self._lock:
                        self._stats.restarts += 1
                    # Not on air meanwhile: the page and the LED say reconnecting.
                    for ev in tracker.restarted(self._clock()):
                        self._emit(ev, tracker)
                    if self._stop.wait(delay):
                        break
                    continue
                if result is not None:
                    outcome = result  # type: ignore[assignment]
                    break
                if self._healthy_s >= HEALTHY_S:
                    # A run that went well for a while: this failure is the encoder's,
                    # not a crash loop. Replace it at once and forget earlier failures.
                    quick_failures = 1
                    self._backoff.reset()
                    delay = 0.0
                else:
                    quick_failures += 1
                    delay = self._backoff.next()
                if quick_failures >= self._max_quick:
                    outcome = Failed(Failure.PIPELINE, self._last_error() or "ffmpeg keeps failing")
                    break
                with self._lock:
                    self._stats.restarts += 1
                log.warning("ffmpeg ended; restarting in %.1f s", delay)
                if delay and self._stop.wait(delay):
                    break
                for ev in tracker.restarted(self._clock()):
                    self._emit(ev, tracker)
        except Exception as e:  # the conductor must hear about any failure here
            log.exception("supervisor failed")
            outcome = Failed(Failure.PIPELINE, f"internal error: {type(e).__name__}")
        finally:
            self._camera.stop_feed()
            with self._lock:
                os.close(self._wake_r)
                os.close(self._wake_w)
                self._wake_r = self._wake_w = -1
            self._on_event(outcome)

    def _run_once(self, tracker: PushTracker) -> Event | _Restart | _CameraLost | None:
        """Run ffmpeg once: an event that ends the broadcast, RESTART_NOW, the camera
        lost, or None (ffmpeg failed: backoff)."""
        try:
            # Time 0 of this run on the wall clock: the picture and the sound are both
            # stamped in it and moved back by it together (pipeline.VideoFeed.t0).
            feed = self._camera.start_feed(self._wall_clock())
        except CameraError as e:
            self._healthy_s = 0.0
            return _CameraLost(str(e))
        first = next_segment_number(self._dir)
        if self._silent:
            spec = self._spec_for(feed, first, silent=True)  # type: ignore[call-arg]
        else:
            spec = self._spec_for(feed, first)
        argv = pipeline.build(spec, self._ffmpeg)
        log.info(
            "starting ffmpeg (video %dx%d at %.2f fps from the camera, %s)",
            feed.width,
            feed.height,
            feed.fps,
            f"turned {feed.rotate}° and encoded with {spec.encode.encoder}"
            if feed.rotate
            else "copied",
        )
        try:
            # Under kit.media.reaper: if the daemon dies, ffmpeg is asked to stop exactly
            # once, and finishes its segment.
            proc = Reaped(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                pass_fds=(feed.fd,),
            )  # fmt: skip
        except OSError as e:
            self._camera.stop_feed()
            return Failed(Failure.PIPELINE, f"cannot start ffmpeg: {e.strerror}")
        self.pid = proc.program_pid
        try:
            return self._watch(proc, tracker)
        finally:
            self._end(proc)
            self._camera.stop_feed()
            self.pid = None

    def _watch(self, proc: Reaped, tracker: PushTracker) -> Event | _Restart | _CameraLost | None:
        assert proc.stdout is not None and proc.stderr is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ, "progress")
        sel.register(proc.stderr, selectors.EVENT_READ, "log")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        buffers = {"progress": b"", "log": b""}
        parser = ProgressParser()
        now = self._clock()
        last_frame, last_frame_at = -1, now + 5.0  # grace for ffmpeg to start up
        first_frame_at: float | None = None
        self._healthy_s = 0.0
        last_sync = now
        sizes: deque[tuple[float, int]] = deque()
        segment: Path | None = None
        mic_error = ""
        stop_sent_at: float | None = None
        restart = False  # ended on purpose to switch between the mic and silence
        last_mic_poll = last_send_sample = last_publish_sample = now
        sent: deque[tuple[float, int]] = deque()
        open_streams = 2
        while open_streams:
            for key, _ in sel.select(timeout=0.5):
                chunk = os.read(key.fd, 65536)
                if key.data == "wake":
                    continue
                if not chunk:
                    sel.unregister(key.fileobj)
                    open_streams -= 1
                    continue
                data = buffers[key.data] + chunk
                *lines, buffers[key.data] = data.split(b"\n")
                for raw in lines:
                    line = raw.decode("utf-8", "replace")
                    if key.data == "progress":
                        p = parser.feed(line)
                        if p is not None:
                            if p.frame > last_frame:
                                last_frame, last_frame_at = p.frame, self._clock()
                                if first_frame_at is None:
                                    first_frame_at = last_frame_at
                                # How long this run has been making progress.
                                self._healthy_s = last_frame_at - first_frame_at
                            self._progress(p, sizes)
                        continue
                    ev = classify(line)
                    if ev is None:
                        continue
                    line = redact(line, *self._secrets)
                    if ev.kind is Kind.SEGMENT_OPENED:
                        segment = Path(redact(ev.detail, *self._secrets))
                        self._new_segment(segment)
                    elif ev.kind is Kind.MIC_ERROR:
                        mic_error = redact(ev.detail, *self._secrets)
                    if ev.kind not in (Kind.SEGMENT_OPENED, Kind.TCP_CONNECTED):
                        self._remember(line)
                    for out in tracker.feed(ev, self._clock()):
                        self._emit(out, tracker)
            now = self._clock()
            for out in tracker.tick(now):
                self._emit(out, tracker)
            if now - last_sync >= FSYNC_EVERY_S:
                if segment is not None:
                    fsync_path(segment)
                last_sync = now
                if self._recording_changed():
                    # Space is back, or the folder: a new ffmpeg run records again (the
                    # stream has a gap of about half a second; the recording a new segment).
                    log.info("the recording can go on: starting it again")
                    restart = True
            if self._push_bytes is not None:
                up = tracker.phase.value == "up" or self._send_stalled
                if not up and now - last_publish_sample >= PUBLISH_SAMPLE_S:
                    # Not up yet: has the server accepted the publish (media acknowledged)?
                    last_publish_sample = now
                    acked = self._push_bytes(self.pid) if self.pid else None
                    for out in tracker.acknowledged(acked, now):
                        self._emit(out, tracker)
                elif up and now - last_send_sample >= SEND_SAMPLE_S:
                    last_send_sample = now
                    self._sample_send_rate(self.pid or -1, tracker, sent, now)
            if stop_sent_at is None:
                if self._silent and now - last_mic_poll >= MIC_POLL_S:
                    last_mic_poll = now
                    if self._mic_available():
                        log.info("the microphone is back: switching to it")
                        self._set_mic(silent=False)
                        restart = True
                if mic_error and tracker.ever_up and not self._silent:
                    # Unplugged while live: the stream goes on with silence
                    # rather than ending, and the mic is taken back when it returns.
                    log.warning("microphone lost (%s): streaming silence meanwhile", mic_error)
                    self._set_mic(silent=True)
                    mic_error, restart = "", True
                if self._stop.is_set() or restart:
                    stop_sent_at = now
                    with contextlib.suppress(ProcessLookupError):
                        proc.send_signal(signal.SIGINT)
                elif not self._camera.feed_alive():
                    why = getattr(self._camera, "feed_problem", None)
                    return _CameraLost(why() if why else "the camera stopped delivering video")
                elif mic_error:
                    return Failed(Failure.MICROPHONE, f"microphone: {mic_error}")
                elif now - last_frame_at > self._stall_timeout:
                    log.warning(
                        "ffmpeg made no progress for %.1f s; killing it", self._stall_timeout
                    )
                    self._remember("ffmpeg stalled")
                    proc.kill()
                    last_frame_at = float("inf")  # killed once; its pipes close next
            elif now - stop_sent_at > self._stop_timeout:
                log.warning("ffmpeg did not stop in %.0f s; killing it", self._stop_timeout)
                proc.kill()
        proc.wait()
        if segment is not None and not drop_if_empty(segment, self._ffmpeg):
            fsync_path(segment)
        if self._stop.is_set():
            return None
        if mic_error and tracker.ever_up and not self._silent:
            # ffmpeg could not open the mic after the stream had been up.
            log.warning("microphone lost (%s): streaming silence meanwhile", mic_error)
            self._set_mic(silent=True)
            return RESTART_NOW
        if restart:
            return RESTART_NOW
        if mic_error:
            return Failed(Failure.MICROPHONE, f"microphone: {mic_error}")
        return None

    def _sample_send_rate(
        self, pid: int, tracker: PushTracker, sent: deque[tuple[float, int]], now: float
    ) -> None:
        from kit.net.checks import push_health

        if tracker.phase.value == "up":
            self._send_stalled = False
        watching = tracker.phase.value == "up" or self._send_stalled
        acked = self._push_bytes(pid) if watching else None
        if acked is None or (sent and acked < sent[-1][1]):
            sent.clear()  # not connected, or a new connection counting from zero
        if acked is not None:
            sent.append((now, acked))
        while sent and now - sent[0][0] > SEND_HISTORY_S:
            sent.popleft()
        still = [b for t, b in sent if now - t <= SEND_STALL_S]
        if len(still) >= 2 and sent[0][0] <= now - SEND_STALL_S:
            if not self._send_stalled and still[0] == still[-1]:
                log.warning("the ingest acknowledged nothing for %.0f s", SEND_STALL_S)
                self._send_stalled = True
                for ev in tracker.stalled():
                    self._emit(ev, tracker)
            elif self._send_stalled and still[-1] > still[-2]:
                self._send_stalled = False
                for ev in tracker.resumed(now):
                    self._emit(ev, tracker)
        with self._lock:
            # Measured encoder output when known: a still picture compresses far
            # below the configured rate and is not a network falling behind.
            target = self._stats.bitrate_kbps or self._target_kbps
        health = push_health(list(sent), target)
        with self._lock:
            changed = self._stats.network != health.state
            self._stats.network = health.state
            self._stats.send_kbps = health.rate_kbps
        if changed and health.state == "behind":
            log.warning("network: %s", health.message)
        if changed:
            self._on_event(Ev.NETWORK_CHANGED)

    def _recording_changed(self) -> bool:
        """Look at the recording's folder; True when ffmpeg must start again to record.
        ffmpeg says nothing when its recording fails (the tee goes on with the push), so
        the kit looks for itself: the folder gone, or the disk full."""
        seen = recording_state(self._dir, self._resume_free)
        with self._lock:
            before = self._stats.recording_state
            after, restart = next_recording_state(before, seen)
            self._stats.recording_state = after
        if after != before or seen == "recreated":
            if after == "ok":
                log.info("recording: %s can be written again; recording anew", self._dir)
            else:
                log.warning("recording stopped (%s); the stream goes on", after)
            self._on_event(Ev.NETWORK_CHANGED)
        return restart

    def _set_mic(self, silent: bool) -> None:
        self._silent = silent
        with self._lock:
            self._stats.microphone = "missing" if silent else "ok"

    def _end(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def _emit(self, ev: Ev, tracker: PushTracker) -> None:
        with self._lock:
            self._stats.push = tracker.phase.value
            self._stats.on_air = tracker.ever_up
            self._stats.reconnects = tracker.reconnects
            if ev in (Ev.KEY_REJECTED, Ev.UNREACHABLE):
                self._stats.last_error = redact(tracker.last_failure, *self._secrets)
        log.info("push: %s", ev.value)
        self._on_event(ev)

    def _progress(self, p: Progress, sizes: deque[tuple[float, int]]) -> None:
        now = self._clock()
        # MP4 fragments land on disk a keyframe interval at a time, so the
        # rate is taken over a window of several seconds.
        sizes.append((now, recording_bytes(self._dir)))
        while now - sizes[0][0] > BITRATE_WINDOW_S:
            sizes.popleft()
        (t0, b0), (t1, b1) = sizes[0], sizes[-1]
        with self._lock:
            s = self._stats
            s.frame, s.fps, s.speed = p.frame, p.fps, p.speed
            s.dropped_frames, s.duplicated_frames = p.drop_frames, p.dup_frames
            if t1 - t0 >= 2:
                s.bitrate_kbps = round((b1 - b0) * 8 / 1000 / (t1 - t0), 1)

    def _new_segment(self, segment: Path) -> None:
        fsync_path(segment.parent)
        with self._lock:
            self._stats.recording = str(segment)
            self._stats.segments = len(list(self._dir.glob(SEGMENT_GLOB)))
        log.info("recording %s", segment.name)

    def _remember(self, line: str) -> None:
        with self._lock:
            self._recent.append(line)
            if "[error]" in line or "[fatal]" in line:
                self._stats.last_error = line.split("] ")[-1]

    def _last_error(self) -> str:
        with self._lock:
            return self._stats.last_error


def next_segment_number(session_dir: Path) -> int:
    numbers = [
        int(p.stem.split("-")[1])
        for p in session_dir.glob(SEGMENT_GLOB)
        if p.stem.split("-")[1].isdigit()
    ]
    return max(numbers) + 1 if numbers else 0


def drop_if_empty(segment: Path, ffmpeg_bin: str = "ffmpeg") -> bool:
    """Remove the segment an ended ffmpeg run left if no frame in it can be read (an
    ffmpeg killed before its first fragment): every segment on disk plays. True if
    removed."""
    ffprobe = str(Path(ffmpeg_bin).with_name("ffprobe")) if "/" in ffmpeg_bin else "ffprobe"
    try:
        r = subprocess.run(
            [ffprobe, "-v", "error", "-read_intervals", "%+#1", "-show_entries",
             "packet=pts", "-of", "csv=p=0", str(segment)],
            capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False  # cannot tell: keep it
    if r.returncode == 0 and r.stdout.strip():
        return False
    log.warning("removing %s: no media in it (%s)", segment.name, r.stderr.strip()[-200:])
    with contextlib.suppress(OSError):
        segment.unlink()
    return True


def recording_state(session_dir: Path, resume_bytes: int = RESUME_BYTES) -> str:
    """Pure but for the filesystem: "folder_gone", "recreated" (the session's folder was
    gone and is made again: ffmpeg was writing into nothing), "disk_full", "low" (between
    full and enough to go on), or "resumable" (room for a segment or two)."""
    if not session_dir.is_dir():
        # The session's own folder is made again once the recordings folder is back
        # (a USB disk plugged in again); never the recordings folder itself.
        if not session_dir.parent.is_dir():
            return "folder_gone"
        try:
            session_dir.mkdir()
        except OSError:
            return "folder_gone"
        return "recreated"
    try:
        free = shutil.disk_usage(session_dir).free
    except OSError:
        return "folder_gone"
    if free < FULL_BYTES:
        return "disk_full"
    return "resumable" if free >= resume_bytes else "low"


def next_recording_state(before: str, seen: str) -> tuple[str, bool]:
    """Pure: what the status says of the recording after ``seen`` (recording_state), and
    whether ffmpeg must start again to record (a new segment)."""
    if seen in ("disk_full", "folder_gone"):
        return seen, False
    if seen == "recreated":
        return "ok", True  # ffmpeg was writing into a folder that is gone
    if before == "ok":
        return "ok", False  # "low" or "resumable": still writing
    if seen == "resumable":
        return "ok", True  # room again after a stop
    return before, False  # "low" after a stop: wait for room for a segment or two


def recording_bytes(session_dir: Path) -> int:
    total = 0
    for p in session_dir.glob(SEGMENT_GLOB):
        with contextlib.suppress(OSError):
            total += p.stat().st_size
    return total


def fsync_path(path: Path) -> None:
    """Flush a file's (or folder's) written data to the disk; a power cut keeps it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
