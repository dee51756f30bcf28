"""Clip exports in the background: one at a time, at the lowest priority, progress stored.

The plan and ffmpeg's arguments are kit.media.clips; this runs them. The span the clip
needs is taken out of the joined video (kit.media.mp4join) at keyframe boundaries into a
working folder beside the clip (a few MB: the copy cut's source starts on its keyframe,
the smart cut's re-encoded part ends exactly on its keyframe, so no seek has to land on
a keyframe), ffmpeg makes the clip there, and it is renamed into place when whole.

Exports run while the kit is live too, under ``nice -n 19`` and ``ionice -c 3`` with one
encoding thread: the broadcast's ffmpeg always comes first (tests/bench/bench_clips.py
measures it). A clip of the broadcast being recorded is refused by the page.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kit import recfiles
from kit.media import clips
from kit.media.mp4join import Joined
from kit.store import Clip, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    argv: list[str]
    media_s: float  # what ffmpeg's progress counts up to


def clip_name(marker: int) -> str:
    return f"clip-{marker}.mp4"


def clip_folder(session_dir: Path) -> Path:
    """The recording's clips/ folder, made if missing; refused if it is not a real folder."""
    folder = session_dir / recfiles.CLIPS
    if folder.is_symlink():
        raise OSError(f"{folder} is a symlink")
    folder.mkdir(exist_ok=True)
    return folder


class ClipJobs:
    """A worker thread that exports queued clips, one at a time."""

    def __init__(
        self,
        store: Store,
        joined: Callable[[int], Joined | None],
        ffmpeg: str = "ffmpeg",
        priority: bool = True,
    ) -> None:
        """`joined(session id)`: the recording's joined video (cached by the caller).
        `priority`: run ffmpeg under nice and ionice (when they are installed)."""
        self._store, self._joined, self._ffmpeg = store, joined, ffmpeg
        self._wrap: Callable[[list[str]], list[str]] = lambda a: a
        if priority:
            nice, ionice = shutil.which("nice"), shutil.which("ionice")
            self._wrap = lambda a: clips.low_priority(a, nice, ionice)
        self._queue: queue.Queue[int] = queue.Queue()
        self._active: set[int] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="clips", daemon=True)
        self._thread.start()

    def submit(self, clip_id: int) -> None:
        with self._lock:
            self._active.add(clip_id)
        self._queue.put(clip_id)

    def active(self, clip_id: int) -> bool:
        """Queued or running in this process (a clip left 'running' by a daemon that
        stopped is not)."""
        with self._lock:
            return clip_id in self._active

    def wait_idle(self, timeout: float) -> bool:
        """For tests and the benchmark: until nothing is queued or running."""
        done = threading.Event()

        def check() -> None:
            while not done.is_set():
                with self._lock:
                    if not self._active:
                        done.set()
                        return
                threading.Event().wait(0.05)

        t = threading.Thread(target=check, daemon=True)
        t.start()
        return done.wait(timeout)

    def _run(self) -> None:
        while True:
            clip_id = self._queue.get()
            try:
                self._export(clip_id)
            except Exception as e:  # one clip's failure must not stop the worker
                log.warning("exporting clip %d failed", clip_id, exc_info=True)
                self._store.update_clip(clip_id, state="failed", error=str(e)[:300])
            finally:
                with self._lock:
                    self._active.discard(clip_id)

    # -- one clip -------------------------------------------------------------------

    def _export(self, clip_id: int) -> None:
        clip = self._store.clip(clip_id)
        session = self._store.session(clip.session_id) if clip else None
        if clip is None or session is None:
            return
        joined = self._joined(session.id)
        if joined is None:
            raise clips.ClipError("the recording has no video")
        folder = clip_folder(Path(session.dir))
        work = folder / f".work-{clip.marker}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        self._store.update_clip(clip_id, state="running", progress=0.0, error="")
        try:
            out = work / "clip.mp4"
            steps = self._steps(clip, joined, work, out)
            total = sum(s.media_s for s in steps) or 1.0
            done = 0.0
            for step in steps:
                self._ffmpeg_run(step, lambda s, d=done: self._progress(clip_id, (d + s) / total))
                done += step.media_s
            final = folder / clip_name(clip.marker)
            os.replace(out, final)
            self._store.update_clip(
                clip_id, state="done", progress=1.0, file=final.name, size=final.stat().st_size
            )
            log.info("clip %d (%s, %.1f s) done", clip_id, clip.method, clip.end_s - clip.start_s)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _steps(self, clip: Clip, joined: Joined, work: Path, out: Path) -> list[Step]:
        """Write the span's sources, and the ffmpeg runs that make ``out``."""
        frags = joined.fragments
        starts = [f.start_s for f in frags]

        def at(t: float) -> int:  # the fragment holding time t
            return max(0, min(len(frags) - 1, _last_at_or_before(starts, t + 1e-6)))

        last = at(clip.end_s - 1e-3)
        plan_s = clip.end_s - clip.start_s
        if clip.method == "copy":
            first = at(clip.start_s)
            src = work / "source.mp4"
            joined.part(first, last).write_to(src)
            return [Step(self._wrap(clips.copy_argv(self._ffmpeg, src, plan_s, out)), plan_s)]
        first = at(clip.start_s)
        src = work / "source.mp4"
        joined.part(first, last).write_to(src)
        origin = frags[first].start_s
        keyframe = clip.end_s if clip.method == "encode" else frags[at(clip.start_s) + 1].start_s
        frames = sum(1 for t in joined.frames_s if clip.start_s - 1e-6 <= t < keyframe - 1e-6)
        profile = clips.h264_profile(joined.video_description)
        head, tail = work / "head.ts", work / "tail.ts"
        audio, listing = work / "sound.m4a", work / "parts.txt"
        steps = [
            Step(self._wrap(clips.head_argv(self._ffmpeg, src, clip.start_s - origin, frames,
                                            profile, head)), keyframe - clip.start_s),
        ]  # fmt: skip
        has_tail = clip.method == "smart" and keyframe < clip.end_s
        if has_tail:
            tail_src = work / "tail.mp4"
            joined.part(first + 1, last).write_to(tail_src)
            steps.append(Step(clips.tail_argv(self._ffmpeg, tail_src, clip.end_s - keyframe,
                                              tail), clip.end_s - keyframe))  # fmt: skip
        listing.write_text(
            clips.concat_list(head, keyframe - clip.start_s, tail if has_tail else None)
        )
        steps.append(Step(self._wrap(clips.audio_argv(self._ffmpeg, src, clip.start_s - origin,
                                                      plan_s, audio)), plan_s))  # fmt: skip
        steps.append(Step(clips.join_argv(self._ffmpeg, listing, audio, out), plan_s))
        return steps

    def _progress(self, clip_id: int, fraction: float) -> None:
        self._store.update_clip(clip_id, progress=round(min(1.0, max(0.0, fraction)), 3))

    def _ffmpeg_run(self, step: Step, progress: Callable[[float], None]) -> None:
        """One ffmpeg, its ``-progress`` read as it goes; raises on failure."""
        proc = subprocess.Popen(
            step.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        )
        assert proc.stdout is not None
        for raw in proc.stdout:
            key, _, value = raw.decode(errors="replace").strip().partition("=")
            if key == "out_time_us" and value.lstrip("-").isdigit() and step.media_s > 0:
                progress(min(step.media_s, int(value) / 1e6))
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.wait() != 0:
            raise RuntimeError(f"ffmpeg failed: {err.strip()[-300:]}")
        progress(step.media_s)


def _last_at_or_before(values: list[float], t: float) -> int:
    import bisect

    return bisect.bisect_right(values, t) - 1
