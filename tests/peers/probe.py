"""ffprobe helpers for checking what arrived at a peer.

Every function takes anything ffprobe opens: a path, or a URL such as the one `joined()`
makes for fragmented-MP4 media segments that need their init segment in front.  Timings
come from packets, not from container headers: nginx's FLV recordings carry no reliable
duration and a file cut short has whatever header it was given at the start.
"""

import json
import os
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from typing import TypeAlias

Source: TypeAlias = str | os.PathLike[str]


class ProbeError(RuntimeError):
    pass


@dataclass(frozen=True)
class Video:
    codec: str
    profile: str | None
    width: int
    height: int
    fps: float
    pix_fmt: str | None


@dataclass(frozen=True)
class Audio:
    codec: str
    profile: str | None  # e.g. "LC"
    sample_rate: int
    channels: int


def joined(init: Source, *segments: Source) -> str:
    """One source made of an init segment and media segments, via ffmpeg's concat protocol."""
    return "concat:" + "|".join(os.fspath(part) for part in (init, *segments))


def _ffprobe(source: Source, *args: str) -> dict:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args, os.fspath(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        data = json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        data = {}
    # A file cut short makes ffprobe complain yet still list what it could read.
    if result.returncode != 0 and not (data.get("packets") or data.get("streams")):
        raise ProbeError(f"ffprobe {os.fspath(source)}: {result.stderr.strip()}")
    return data


def streams(source: Source) -> list[dict]:
    """ffprobe's stream descriptions, as it prints them."""
    return _ffprobe(source, "-show_streams").get("streams", [])


def _first(source: Source, codec_type: str) -> dict:
    for stream in streams(source):
        if stream.get("codec_type") == codec_type:
            return stream
    raise ProbeError(f"no {codec_type} stream in {os.fspath(source)}")


def _rate(text: str | None) -> float:
    try:
        return float(Fraction(text or "0"))
    except (ValueError, ZeroDivisionError):  # "0/0" when unknown
        return 0.0


def video(source: Source) -> Video:
    """The first video stream; fps is avg_frame_rate, or r_frame_rate where that is unknown."""
    s = _first(source, "video")
    fps = _rate(s.get("avg_frame_rate")) or _rate(s.get("r_frame_rate"))
    return Video(s["codec_name"], s.get("profile"), s["width"], s["height"], fps, s.get("pix_fmt"))


def audio(source: Source) -> Audio:
    """The first audio stream."""
    s = _first(source, "audio")
    return Audio(s["codec_name"], s.get("profile"), int(s["sample_rate"]), s["channels"])


def _packets(source: Source, stream: str | None, entries: str) -> list[dict]:
    select = ["-select_streams", stream] if stream else []
    return _ffprobe(source, *select, "-show_entries", f"packet={entries}").get("packets", [])


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:  # "N/A"
        return None


def _pts(packet: dict) -> float | None:
    pts = _seconds(packet.get("pts_time"))
    return pts if pts is not None else _seconds(packet.get("dts_time"))


def duration(source: Source, stream: str | None = None) -> float:
    """Seconds from the earliest packet start to the latest packet end (all streams by
    default, else an ffprobe stream specifier such as "v" or "a")."""
    starts, ends = [], []
    for packet in _packets(source, stream, "pts_time,dts_time,duration_time"):
        start = _pts(packet)
        if start is not None:
            starts.append(start)
            ends.append(start + (_seconds(packet.get("duration_time")) or 0.0))
    if not starts:
        raise ProbeError(f"no timed packets in {os.fspath(source)}")
    return max(ends) - min(starts)


def frame_times(source: Source, stream: str = "v") -> list[float]:
    """Presentation times of the stream's packets, sorted (B-frames arrive out of order)."""
    times = (_pts(p) for p in _packets(source, stream, "pts_time,dts_time"))
    return sorted(t for t in times if t is not None)


def max_gap(source: Source, stream: str = "v") -> float:
    """The largest step between consecutive packet times: a hole in a recording."""
    times = frame_times(source, stream)
    if len(times) < 2:
        raise ProbeError(f"fewer than 2 {stream!r} packets in {os.fspath(source)}")
    return max(b - a for a, b in pairwise(times))


def keyframe_times(source: Source) -> list[float]:
    """Presentation times of the first video stream's keyframes."""
    packets = _packets(source, "v:0", "pts_time,dts_time,flags")
    times = (_pts(p) for p in packets if "K" in p.get("flags", ""))
    return sorted(t for t in times if t is not None)


def max_keyframe_interval(source: Source) -> float:
    """The longest stretch of video without a keyframe, counting the stretch from the last
    keyframe to the last frame, so a stream that stops making keyframes cannot pass."""
    keys = keyframe_times(source)
    if not keys:
        raise ProbeError(f"no video keyframes in {os.fspath(source)}")
    bounds = [*keys, frame_times(source, "v:0")[-1]]
    return max(b - a for a, b in pairwise(bounds))
