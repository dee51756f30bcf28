"""Highlight clips, pure: where a clip starts and ends, how it is cut, ffmpeg's arguments.

A clip runs from ``before`` seconds before the highlight's press to ``after`` seconds
after it (30 and 10 by default), inside the video, at most 60 s. How it is cut:

- **copy**: a keyframe lies within half a second of the wanted start. The clip starts
  there and nothing is re-encoded.
- **smart**: the start is re-encoded up to the next keyframe (at most one keyframe
  interval, 2 s, of frames) and the rest is copied: the fewest frames re-encoded.
- **encode**: no keyframe inside the clip (a clip shorter than a keyframe interval):
  all of it is re-encoded.

The sound is copied with the picture on a copy cut, re-encoded (cheap) on the others so
that it starts on the same frame. Every output is MP4 with its moov first
(``+faststart``), H.264 and AAC at the broadcast's portrait size: what TikTok, Reels and
Shorts accept.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BEFORE_S = 30.0
DEFAULT_AFTER_S = 10.0
MAX_CLIP_S = 60.0
MIN_CLIP_S = 1.0
SNAP_S = 0.5  # a keyframe this close to the wanted start is the start
AUDIO_KBPS = 128
# The re-encoded frames' quality: x264 CRF (lower is better), for at most 2 s of frames.
HEAD_CRF = 18
# x264's SPS/PPS id for the re-encoded frames, so they never clash with the camera's (0).
HEAD_SPS_ID = 1
PROFILES = {66: "baseline", 77: "main", 100: "high"}


class ClipError(ValueError):
    """A clip that cannot be made (too short where the video ends, no video)."""


@dataclass(frozen=True)
class Plan:
    start_s: float  # the clip's first frame, in the joined video's time
    end_s: float
    method: str  # "copy", "smart" or "encode"
    keyframe_s: float  # where the copied part begins (start_s: copy; end_s: encode)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def reencoded_s(self) -> float:
        return self.keyframe_s - self.start_s


def plan(
    marker_s: float,
    before_s: float,
    after_s: float,
    duration_s: float,
    keyframes: list[float],
    frames: list[float] | None = None,
) -> Plan:
    """The clip around a highlight at ``marker_s`` (the video's time). ``keyframes`` and
    ``frames`` are the video's keyframe and frame times, ascending. Raises ClipError."""
    want_start = max(0.0, marker_s - before_s)
    want_end = min(duration_s, marker_s + after_s)
    want_end = min(want_end, want_start + MAX_CLIP_S)
    if want_end - want_start < MIN_CLIP_S or not keyframes:
        raise ClipError(f"the clip would be shorter than {MIN_CLIP_S:g} s")
    i = bisect.bisect_left(keyframes, want_start)
    near = min(keyframes[max(0, i - 1) : i + 1], key=lambda k: abs(k - want_start))
    if abs(near - want_start) <= SNAP_S and want_end - near >= MIN_CLIP_S:
        return Plan(near, min(want_end, near + MAX_CLIP_S), "copy", near)
    start = want_start
    if frames:  # start on a frame, so the sound starts with the picture
        j = bisect.bisect_left(frames, want_start - 1e-6)
        start = frames[j] if j < len(frames) else want_start
    later = [k for k in keyframes[i : i + 2] if k > start]
    if not later or later[0] >= want_end:
        return Plan(start, want_end, "encode", want_end)
    return Plan(start, want_end, "smart", later[0])


def video_time(marker_s: float, samples: list[tuple[float, float]]) -> float:
    """A marker's time (seconds since the broadcast began) in the recording's video, from
    (broadcast time, video time) samples taken while it ran: the video starts a moment
    after the broadcast (the camera and ffmpeg starting), and stands still while ffmpeg
    restarts. Without samples the two are taken as the same."""
    known = sorted((a, v) for a, v in samples if v is not None)
    if not known:
        return max(0.0, marker_s)
    k = bisect.bisect_right([a for a, _ in known], marker_s) - 1
    if k < 0:
        a, v = known[0]
        return max(0.0, v - (a - marker_s))
    a, v = known[k]
    out = v + (marker_s - a)
    if k + 1 < len(known):
        out = min(out, known[k + 1][1])
    return max(0.0, out)


def h264_profile(sample_entry: bytes) -> tuple[str, str]:
    """(x264 profile, level) of an avc1 sample entry's avcC, for the re-encoded frames to
    match the copied ones; ("high", "4.0") when it cannot be read."""
    at = sample_entry.find(b"avcC")
    if at < 0 or len(sample_entry) < at + 8:
        return "high", "4.0"
    profile, level = sample_entry[at + 5], sample_entry[at + 7]
    return PROFILES.get(profile, "high"), f"{level // 10}.{level % 10}"


# -- ffmpeg's arguments -------------------------------------------------------------------


def _base(ffmpeg: str) -> list[str]:
    return [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-nostats",
            "-progress", "pipe:1"]  # fmt: skip


def _t(seconds: float) -> str:
    return f"{seconds:.6f}"


def copy_argv(ffmpeg: str, source: Path, duration_s: float, out: Path) -> list[str]:
    """A copy cut: ``source`` starts on the clip's keyframe; its first ``duration_s``."""
    return [*_base(ffmpeg), "-i", str(source), "-t", _t(duration_s),
            "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy",
            "-movflags", "+faststart", "-f", "mp4", "-y", str(out)]  # fmt: skip


def head_argv(
    ffmpeg: str, source: Path, offset_s: float, frames: int, profile: tuple[str, str], out: Path
) -> list[str]:
    """The re-encoded start: ``frames`` frames of ``source`` from ``offset_s``, as MPEG-TS
    (which carries the parameter sets in the stream), one thread."""
    return [*_base(ffmpeg), "-ss", _t(offset_s), "-i", str(source), "-map", "0:v:0",
            "-frames:v", str(frames), "-c:v", "libx264", "-preset", "veryfast",
            "-crf", str(HEAD_CRF), "-profile:v", profile[0], "-level:v", profile[1],
            "-pix_fmt", "yuv420p", "-x264-params", f"sps-id={HEAD_SPS_ID}",
            "-threads", "1", "-an", "-f", "mpegts", "-y", str(out)]  # fmt: skip


def tail_argv(ffmpeg: str, source: Path, duration_s: float, out: Path) -> list[str]:
    """The copied rest: ``source`` starts on a keyframe; its first ``duration_s``, as
    MPEG-TS (the camera's parameter sets put in front of each keyframe)."""
    return [*_base(ffmpeg), "-i", str(source), "-t", _t(duration_s), "-map", "0:v:0",
            "-c:v", "copy", "-an", "-f", "mpegts", "-y", str(out)]  # fmt: skip


def audio_argv(
    ffmpeg: str, source: Path, offset_s: float, duration_s: float, out: Path
) -> list[str]:
    """The sound from ``offset_s`` for ``duration_s``, sample-exact (AAC again)."""
    return [*_base(ffmpeg), "-ss", _t(offset_s), "-i", str(source), "-t", _t(duration_s),
            "-map", "0:a:0", "-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k", "-threads", "1",
            "-f", "mp4", "-y", str(out)]  # fmt: skip


def concat_list(head: Path, head_s: float, tail: Path | None) -> str:
    """The concat demuxer's list: the head lasts exactly up to the keyframe."""
    lines = ["ffconcat version 1.0", f"file '{head.name}'", f"duration {_t(head_s)}"]
    if tail is not None:
        lines.append(f"file '{tail.name}'")
    return "\n".join(lines) + "\n"


def join_argv(ffmpeg: str, concat: Path, audio: Path, out: Path) -> list[str]:
    """Head and tail (by the list) with the sound, copied, the moov first."""
    return [*_base(ffmpeg), "-f", "concat", "-safe", "0", "-i", str(concat),
            "-i", str(audio), "-map", "0:v:0", "-map", "1:a:0", "-c", "copy",
            "-movflags", "+faststart", "-f", "mp4", "-y", str(out)]  # fmt: skip


def thumbnail_argv(ffmpeg: str, source: Path, out: Path, width: int = 180) -> list[str]:
    """A small JPEG of the video's first frame, for the list."""
    return [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(source),
            "-frames:v", "1", "-vf", f"scale={width}:-2", "-q:v", "5", "-f", "image2",
            "-y", str(out)]  # fmt: skip


def low_priority(argv: list[str], nice: str | None, ionice: str | None) -> list[str]:
    """``argv`` at the lowest CPU priority (nice 19) and the idle I/O class, given the
    paths of nice and ionice (None: that one is not installed)."""
    out = list(argv)
    if nice:
        out = [nice, "-n", "19", *out]
    if ionice:
        out = [ionice, "-c", "3", *out]
    return out
