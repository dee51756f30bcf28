"""Pre-flight checks: each says ok, warn or fail, and what to do.

A failed check stops the go-live (the button's press ends in the
check-failed state and the light shows it); a warning does not. Each check is
a small function of the kit's parts, so new ones (network, light, level) plug
in by being added to the list.
"""

from __future__ import annotations

import enum
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kit import destination
from kit.config import Config


class Level(enum.Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Result:
    id: str
    status: Level
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "status": self.status.value, "message": self.message}


@dataclass(frozen=True)
class Context:
    config: Config
    camera_ok: Callable[[], bool]
    microphone_ok: Callable[[], bool]
    ffmpeg_bin: str = "ffmpeg"


def check_stream(ctx: Context) -> Result:
    s = ctx.config.stream
    try:
        d = destination.parse(s.server, s.key.reveal())
    except destination.DestinationError as e:
        return Result("stream", Level.FAIL, str(e)[0].upper() + str(e)[1:] + ".")
    return Result("stream", Level.OK, f"Streaming to {d.host} with key {d.key.masked()}.")


def check_disk(ctx: Context) -> Result:
    folder = ctx.config.recording.dir
    probe = folder if folder.exists() else _existing_parent(folder)
    free_mb = shutil.disk_usage(probe).free // 2**20
    need = ctx.config.recording.min_free_mb
    kbps = ctx.config.stream.bitrate_kbps + ctx.config.stream.audio_bitrate_kbps
    minutes = free_mb * 2**20 / (kbps * 1000 / 8 * 60)
    if free_mb < need:
        return Result(
            "disk",
            Level.FAIL,
            f"Only {free_mb} MB free for recordings (need {need} MB): delete old recordings.",
        )
    if minutes < 60:
        return Result(
            "disk", Level.WARN, f"{free_mb} MB free: about {minutes:.0f} minutes of recording."
        )
    return Result("disk", Level.OK, f"{free_mb} MB free for recordings.")


def check_camera(ctx: Context) -> Result:
    if ctx.camera_ok():
        return Result("camera", Level.OK, "Camera ready.")
    return Result("camera", Level.FAIL, "No camera found: check the ribbon cable.")


def check_microphone(ctx: Context) -> Result:
    if ctx.microphone_ok():
        return Result("microphone", Level.OK, "Microphone ready.")
    return Result("microphone", Level.FAIL, "No microphone found: plug in the USB microphone.")


def check_encoder(ctx: Context) -> Result:
    if shutil.which(ctx.ffmpeg_bin):
        return Result("encoder", Level.OK, "ffmpeg found.")
    return Result("encoder", Level.FAIL, "ffmpeg is not installed: run install.sh again.")


CHECKS: list[Callable[[Context], Result]] = [
    check_stream,
    check_disk,
    check_camera,
    check_microphone,
    check_encoder,
]


def run(ctx: Context, checks: list[Callable[[Context], Result]] | None = None) -> list[Result]:
    """Run the checks side by side: the network ones each wait up to a few seconds,
    and a creator waiting at the button should wait for the slowest, not the sum."""
    from concurrent.futures import ThreadPoolExecutor

    todo = checks or CHECKS
    with ThreadPoolExecutor(max_workers=len(todo)) as pool:
        return list(pool.map(lambda c: c(ctx), todo))


def first_failure(results: list[Result]) -> Result | None:
    return next((r for r in results if r.status is Level.FAIL), None)


def _existing_parent(p: Path) -> Path:
    while not p.exists() and p != p.parent:
        p = p.parent
    return p
