"""Recordings made quickly: ffmpeg's test pattern and a tone, cut as the kit cuts them.

Segments of fragmented MP4 (``part-NNNN.mp4``: frag_keyframe+empty_moov+default_base_moof,
timestamps reset in each), H.264 with a keyframe every 2 s, AAC at 48 kHz: the form the
kit's own pipeline writes (kit.media.pipeline), for tests that need many or long
recordings fast. ``long_recording`` makes an hour in seconds: a short loop encoded once,
then copied over and over into segments.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

SEGMENT_OPTIONS = [
    "-f", "segment", "-segment_format", "mp4", "-reset_timestamps", "1",
    "-segment_format_options", "movflags=+frag_keyframe+empty_moov+default_base_moof",
]  # fmt: skip


def _encode(seconds: float, width: int, height: int, fps: int, kbps: int = 1000) -> list[str]:
    return [
        "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=1000:sample_rate=48000:duration={seconds}",
        "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
        "-tune", "zerolatency", "-g", str(2 * fps), "-keyint_min", str(2 * fps),
        "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-b:v", f"{kbps}k",
        "-c:a", "aac", "-b:a", "128k", "-ar", "48000",
    ]  # fmt: skip


def recording(folder: Path, seconds: float, segment_seconds: int = 10, width: int = 180,
              height: int = 320, fps: int = 30) -> list[Path]:  # fmt: skip
    """A recording of ``seconds`` in ``folder``; its segments in order."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", *_encode(seconds, width, height, fps),
         *SEGMENT_OPTIONS, "-segment_time", str(segment_seconds), str(folder / "part-%04d.mp4")],
        check=True,
    )  # fmt: skip
    return sorted(folder.glob("part-*.mp4"))


def long_recording(folder: Path, seconds: float, segment_seconds: int = 60, width: int = 720,
                   height: int = 1280, fps: int = 30, loop_s: int = 20,
                   bitrate_kbps: int = 2500) -> list[Path]:  # fmt: skip
    """A long recording, fast: ``loop_s`` encoded once, then copied (no re-encoding)
    into segments until ``seconds``."""
    folder.mkdir(parents=True, exist_ok=True)
    loop = folder / "loop.mkv"
    encode = _encode(loop_s, width, height, fps, bitrate_kbps)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", *encode, "-f", "matroska", "-y",
                    str(loop)], check=True)  # fmt: skip
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-stream_loop", "-1", "-i", str(loop),
         "-t", str(seconds), "-map", "0", "-c", "copy", *SEGMENT_OPTIONS,
         "-segment_time", str(segment_seconds), str(folder / "part-%04d.mp4")],
        check=True,
    )  # fmt: skip
    loop.unlink()
    return sorted(folder.glob("part-*.mp4"))
