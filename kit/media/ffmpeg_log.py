"""ffmpeg's log and progress output -> typed events. Pure: tested with captured lines.

ffmpeg runs with ``-loglevel level+verbose`` so each stderr line reads
``[component @ 0x...] [level] message``. Only a handful of lines matter: the
TCP connection to the ingest, the fifo muxer's errors and recoveries, the RTMP
server's own error text, the segment muxer opening a file, and ALSA errors.
Everything here was read off ffmpeg 5.1 (Debian 12 / Raspberry Pi OS Bookworm).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

_LINE = re.compile(
    r"^(?:\[(?P<comp>[\w .-]+?) @ 0x[0-9a-f]+\] )?\[(?P<level>[a-z]+)\] (?P<msg>.*)$"
)


class Kind(enum.Enum):
    TCP_CONNECTED = "tcp_connected"
    TCP_FAILED = "tcp_failed"
    TLS_FAILED = "tls_failed"
    SERVER_ERROR = "server_error"
    OPEN_FAILED = "open_failed"
    RECOVERY_ATTEMPT = "recovery_attempt"
    RECOVERY_OK = "recovery_ok"
    SEGMENT_OPENED = "segment_opened"
    MIC_ERROR = "mic_error"
    VIDEO_INPUT_ERROR = "video_input_error"
    ERROR = "error"  # any other error line, kept as the last error


@dataclass(frozen=True)
class LogEvent:
    kind: Kind
    detail: str = ""


@dataclass(frozen=True)
class LogLine:
    component: str
    level: str
    message: str


def parse_line(line: str) -> LogLine | None:
    m = _LINE.match(line.rstrip("\r\n"))
    if not m:
        return None
    return LogLine(m.group("comp") or "", m.group("level"), m.group("msg"))


def classify(line: str) -> LogEvent | None:
    parsed = parse_line(line)
    if parsed is None:
        return None
    comp, level, msg = parsed.component, parsed.level, parsed.message
    if comp == "tcp":
        if msg.startswith("Successfully connected to"):
            return LogEvent(Kind.TCP_CONNECTED, msg)
        if level == "error" or "failed" in msg or msg.startswith("Failed to resolve"):
            return LogEvent(Kind.TCP_FAILED, _after_colon(msg) or msg)
        return None
    if comp == "tls" and level == "error":
        return LogEvent(Kind.TLS_FAILED, msg)
    if comp in ("rtmp", "rtmps") and msg.startswith("Server error:"):
        return LogEvent(Kind.SERVER_ERROR, msg.removeprefix("Server error:").strip())
    if comp == "fifo":
        if msg.startswith("Error opening"):
            return LogEvent(Kind.OPEN_FAILED, _after_colon(msg))
        if msg.startswith("Recovery attempt"):
            return LogEvent(Kind.RECOVERY_ATTEMPT, msg)
        if msg.startswith("Recovery successful"):
            return LogEvent(Kind.RECOVERY_OK)
        return None
    if comp == "segment" and msg.startswith("Opening '") and msg.endswith("' for writing"):
        return LogEvent(Kind.SEGMENT_OPENED, msg[len("Opening '") : -len("' for writing")])
    if comp == "alsa" and level in ("error", "fatal"):
        return LogEvent(Kind.MIC_ERROR, msg)
    if level in ("error", "fatal"):
        if msg.startswith("pipe:") or comp in ("rawvideo", "h264"):
            return LogEvent(Kind.VIDEO_INPUT_ERROR, msg)
        return LogEvent(Kind.ERROR, msg)
    return None


def _after_colon(msg: str) -> str:
    """'Error opening rtmp://h/app: Connection refused' -> 'Connection refused'."""
    return msg.rsplit(": ", 1)[1] if ": " in msg else ""


@dataclass(frozen=True)
class Progress:
    """One block of ``-progress`` output (ffmpeg writes one per second)."""

    frame: int = 0
    fps: float = 0.0
    out_time_s: float = 0.0
    dup_frames: int = 0
    drop_frames: int = 0
    speed: float = 0.0
    ended: bool = False


class ProgressParser:
    """Feeds on ``key=value`` lines; returns a Progress at each ``progress=`` line."""

    def __init__(self) -> None:
        self._fields: dict[str, str] = {}

    def feed(self, line: str) -> Progress | None:
        key, sep, value = line.strip().partition("=")
        if not sep:
            return None
        if key != "progress":
            self._fields[key] = value
            return None
        f, self._fields = self._fields, {}
        return Progress(
            frame=_int(f.get("frame")),
            fps=_float(f.get("fps")),
            out_time_s=_int(f.get("out_time_us")) / 1e6,
            dup_frames=_int(f.get("dup_frames")),
            drop_frames=_int(f.get("drop_frames")),
            speed=_float(f.get("speed", "").rstrip("x")),
            ended=value == "end",
        )


def _int(v: str | None) -> int:
    try:
        return int(v) if v is not None else 0
    except ValueError:
        return 0


def _float(v: str | None) -> float:
    try:
        return float(v) if v else 0.0
    except ValueError:
        return 0.0
