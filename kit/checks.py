"""Pre-flight checks: each says ok, warn or fail, and what to do.

A failed check stops the go-live (the button's press ends in the
check-failed state and the light shows it); a warning does not. Each check is
a small function of the kit's parts, so new ones (network, light, level) plug
in by being added to the list.

A result's message is English (``kit check``, the API, the logs) and, where the
check made it from a :func:`kit.messages.define` template, carries that
message's id and values too, so the page shows it in the visitor's language
(catalogue entries ``error.check.<id>.<what>``).
"""

from __future__ import annotations

import enum
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit import destination
from kit.config import Config
from kit.messages import Message, define

log = logging.getLogger(__name__)


class Level(enum.Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, init=False)
class Result:
    id: str
    status: Level
    message: str  # English
    said: Message | None  # the same with its id and values; None: English only

    def __init__(
        self, id: str, status: Level, message: str | Message, said: Message | None = None
    ) -> None:
        if isinstance(message, Message):
            said, message = message, str(message)
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "message", message)
        object.__setattr__(self, "said", said)

    def as_dict(self) -> dict[str, Any]:
        """id, status and the English message; with an id, also ``message_id`` and
        ``message_values`` (nested messages as {"id", "values", "text"})."""
        out: dict[str, Any] = {"id": self.id, "status": self.status.value, "message": self.message}
        if self.said is not None:
            said = self.said.as_dict()
            out |= {"message_id": said["id"], "message_values": said["values"]}
        return out


STREAM_TO = define("check.stream.ok", "Streaming to {host} with key {masked}.")
STREAM_BAD = define("check.stream.invalid", "Cannot stream: {problem}.")
DISK_LOW = define(
    "check.disk.low", "Only {free} MB free for recordings (need {need} MB): delete old recordings."
)
DISK_SHORT = define("check.disk.short", "{free} MB free: about {minutes} minutes of recording.")
DISK_OK = define("check.disk.ok", "{free} MB free for recordings.")
CAMERA_OK = define("check.camera.ok", "Camera ready.")
CAMERA_MISSING = define("check.camera.missing", "No camera found: check the ribbon cable.")
MIC_OK = define("check.microphone.ok", "Microphone ready.")
MIC_MISSING = define("check.microphone.missing", "No microphone found: plug in the USB microphone.")
ENCODER_OK = define("check.encoder.ok", "ffmpeg found.")
ENCODER_MISSING = define("check.encoder.missing", "ffmpeg is not installed: run install.sh again.")
TITLE_OK = define("check.title.ok", "The title is set: “{title}”.")
TITLE_MISSING = define(
    "check.title.missing",
    "No title: set one on the page (TikTok shows it, and recordings are named after it).",
)
LIGHT_NOT_MEASURED = define(
    "check.light.not_measured", "Not measured: this camera gives no light reading."
)
LIGHT_UNREADABLE = define("check.light.unreadable", "Not measured: the camera gave no reading.")
# The ring light has just come on when a broadcast-mode check runs: the camera's
# automatic exposure needs a moment before its reading means anything.
LIGHT_SETTLE_S = 1.0


@dataclass(frozen=True)
class Context:
    config: Config
    camera_ok: Callable[[], bool]
    microphone_ok: Callable[[], bool]
    ffmpeg_bin: str = "ffmpeg"
    # The camera's light reading ("ok" or "warn", and what to do); None: it has none (the
    # simulated test pattern).
    light: Callable[[], tuple[str, Message]] | None = None
    # What is wrong with the camera when camera_ok says no (missing, busy, crashed, with
    # what to do); None: only "no camera found" can be said.
    camera_problem: Callable[[], Message | None] | None = None


def check_stream(ctx: Context) -> Result:
    s = ctx.config.stream
    try:
        d = destination.parse(s.server, s.key.reveal())
    except destination.DestinationError as e:
        return Result("stream", Level.FAIL, STREAM_BAD(problem=e.message))
    return Result("stream", Level.OK, STREAM_TO(host=d.host, masked=d.key.masked()))


def check_disk(ctx: Context) -> Result:
    folder = ctx.config.recording.dir
    probe = folder if folder.exists() else _existing_parent(folder)
    free_mb = shutil.disk_usage(probe).free // 2**20
    need = ctx.config.recording.min_free_mb
    kbps = ctx.config.stream.bitrate_kbps + ctx.config.stream.audio_bitrate_kbps
    minutes = free_mb * 2**20 / (kbps * 1000 / 8 * 60)
    if free_mb < need:
        return Result("disk", Level.FAIL, DISK_LOW(free=free_mb, need=need))
    if minutes < 60:
        return Result("disk", Level.WARN, DISK_SHORT(free=free_mb, minutes=f"{minutes:.0f}"))
    return Result("disk", Level.OK, DISK_OK(free=free_mb))


def check_camera(ctx: Context) -> Result:
    if ctx.camera_ok():
        return Result("camera", Level.OK, CAMERA_OK())
    said = ctx.camera_problem() if ctx.camera_problem is not None else None
    return Result("camera", Level.FAIL, said or CAMERA_MISSING())


def check_microphone(ctx: Context) -> Result:
    if ctx.microphone_ok():
        return Result("microphone", Level.OK, MIC_OK())
    return Result("microphone", Level.FAIL, MIC_MISSING())


def check_encoder(ctx: Context) -> Result:
    if shutil.which(ctx.ffmpeg_bin):
        return Result("encoder", Level.OK, ENCODER_OK())
    return Result("encoder", Level.FAIL, ENCODER_MISSING())


def check_title(ctx: Context) -> Result:
    """Amber, never red: a broadcast without a title can still go out."""
    title = ctx.config.broadcast.title.strip()
    if not title:
        return Result("title", Level.WARN, TITLE_MISSING())
    return Result("title", Level.OK, TITLE_OK(title=title))


def check_light(ctx: Context, sleep: Callable[[float], None] = time.sleep) -> Result:
    """Amber when too dark, never red: the creator may want a dim scene."""
    if ctx.light is None:
        return Result("light", Level.OK, LIGHT_NOT_MEASURED())
    if ctx.config.light.mode == "broadcast":
        sleep(LIGHT_SETTLE_S)
    try:
        status, said = ctx.light()
    except Exception:  # a reading is advice: a camera that cannot give one is checked apart
        log.warning("reading the light level", exc_info=True)
        return Result("light", Level.WARN, LIGHT_UNREADABLE())
    return Result("light", Level.OK if status == "ok" else Level.WARN, said)


CHECKS: list[Callable[[Context], Result]] = [
    check_stream,
    check_title,
    check_disk,
    check_camera,
    check_microphone,
    check_encoder,
    check_light,
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
