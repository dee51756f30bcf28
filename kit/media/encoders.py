"""Which H.264 encoder to use: the hardware one where ffmpeg has a working one.

ffmpeg lists ``h264_v4l2m2m`` on every Linux build, with or without the Pi 4's
encoder behind it (a Pi 5 has none), so listing is not enough: a one-frame
test encode decides.
"""

from __future__ import annotations

import functools
import logging
import subprocess

log = logging.getLogger(__name__)

HARDWARE = "h264_v4l2m2m"
SOFTWARE = "libx264"


def probe_argv(encoder: str, ffmpeg_bin: str = "ffmpeg") -> list[str]:
    return [
        ffmpeg_bin, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-frames:v", "1",
        "-c:v", encoder, "-b:v", "1M", "-pix_fmt", "yuv420p", "-f", "null", "-",
    ]  # fmt: skip


@functools.cache
def works(encoder: str, ffmpeg_bin: str = "ffmpeg") -> bool:
    try:
        r = subprocess.run(
            probe_argv(encoder, ffmpeg_bin),
            capture_output=True,
            timeout=20,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def choose(preference: str, ffmpeg_bin: str = "ffmpeg") -> str:
    """'auto' -> the hardware encoder if it works, else libx264; else the one asked for."""
    if preference != "auto":
        return preference
    chosen = HARDWARE if works(HARDWARE, ffmpeg_bin) else SOFTWARE
    log.info("H.264 encoder: %s", chosen)
    return chosen


def x264_preset_for(preference: str, model: str | None, height: int) -> str:
    """Pure: the libx264 preset to use. On a Pi 5 (no H.264 hardware: the CPU
    encodes) a preset that holds 30 fps: superfast at 720x1280, ultrafast at
    1080x1920 (Raspberry Pi's own guidance for software encoding on the Pi 5,
    to be confirmed by the benchmark on the device); elsewhere veryfast."""
    if preference != "auto":
        return preference
    if model is not None and model.startswith("Raspberry Pi 5"):
        return "superfast" if height <= 1280 else "ultrafast"
    if model is not None and model.startswith("Raspberry Pi"):
        return "ultrafast"  # a Pi 4 without its hardware encoder: every cycle counts
    return "veryfast"


@functools.cache
def _model() -> str | None:
    from kit.hw.health import read_model

    return read_model()


def x264_preset(preference: str, height: int) -> str:
    return x264_preset_for(preference, _model(), height)
