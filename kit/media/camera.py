"""Camera sources behind one interface.

A source writes timestamped H.264 into a pipe whose read end ffmpeg inherits
(kit.media.pipeline.VideoFeed); frames never pass through the daemon's Python code.
On a Pi the camera process does it (kit.media.camproc, picamera2 in a process of its
own); in simulation a small ffmpeg process makes a moving test pattern in real time,
encoded and stamped as the camera process does, so the mux, the outputs and the
recovery downstream run exactly as on the Pi.

A feed is started for each ffmpeg run and stopped after it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from kit.media.pipeline import Encode, VideoFeed, x264_args
from kit.media.proc import child_preexec


class CameraError(RuntimeError):
    """The camera cannot deliver video; the message says what to check."""


class CameraSource(Protocol):
    def start_feed(self, t0: float) -> VideoFeed:
        """Start writing H.264 into a new pipe, frames captured before ``t0`` (a
        CLOCK_REALTIME second) left out; return what ffmpeg must read."""
        ...

    def stop_feed(self) -> None:
        """Stop writing and close this side of the pipe. Safe to call twice."""
        ...

    def available(self) -> bool:
        """True if the camera is there and can start a feed."""
        ...

    def feed_alive(self) -> bool:
        """False once the camera has stopped delivering on its own (a failure)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Flaws:
    """A simulated camera's flaws, to show that the sound and the picture stay together."""

    # The camera runs this much slow (+) or fast (-) against its nominal rate...
    rate_error_percent: float = 0.0
    # ...and drops this share of its frames.
    drop_percent: float = 0.0
    # A white flash once a second on the wall clock (with the sound's beep).
    sync_pattern: bool = False


def pattern_filters(fps: int, flaws: Flaws) -> str:
    """Pure: the test pattern's filter chain, from frames at the generator's own pace to
    frames stamped with their capture time in CLOCK_REALTIME microseconds.

    Each frame keeps the time the (simulated) camera took it: its place in the
    generator's timeline plus the wall-clock time the generator started. A dropped
    frame is a gap in those times, a slow camera wider spacing, as with a real camera.
    """
    chain = []
    if flaws.drop_percent > 0:
        chain.append(f"select='gte(random(0),{flaws.drop_percent / 100:.6f})'")
    chain += ["settb=1/1000000", "setpts=PTS+RTCSTART"]
    if flaws.sync_pattern:
        # The frame nearest each whole second of the wall clock is white.
        half = 0.5 / fps
        chain.append(
            f"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(abs(t-round(t)),{half:.6f})'"
        )
    return ",".join(chain)


class TestPatternCamera:
    """A moving test pattern, encoded with x264 and stamped as the camera process does."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        settings: Encode | Callable[[], Encode],
        flaws: Flaws | Callable[[], Flaws] = Flaws(),
        ffmpeg_bin: str = "ffmpeg",
    ) -> None:
        """`settings` gives the size, rate, bitrate and keyframe interval (or a function
        giving those wanted now); each feed starts with them."""
        self._settings = settings if callable(settings) else (lambda: settings)
        self._flaws = flaws if callable(flaws) else (lambda: flaws)
        self._ffmpeg = ffmpeg_bin
        self._proc: subprocess.Popen[bytes] | None = None
        self._read_fd: int | None = None

    def argv(self, e: Encode, flaws: Flaws) -> list[str]:
        rate = e.fps * (1 - flaws.rate_error_percent / 100)
        gop = e.fps * e.keyframe_seconds
        codec = {
            "c:v": "libx264",
            "b:v": f"{e.bitrate_kbps}k",
            "g": gop,
            **x264_args(e),
            "tune": "zerolatency",
            "pix_fmt": "yuv420p",
            "flags:v": "+global_header",
        }
        return [
            self._ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
            "-re", "-f", "lavfi",
            "-i", f"testsrc2=size={e.width}x{e.height}:rate={rate:.6f}",
            "-vf", pattern_filters(e.fps, flaws),
            # Keep each frame's own time: no frame added or dropped to make the rate even.
            "-fps_mode", "passthrough",
            *[x for k, v in codec.items() for x in (f"-{k}", str(v))],
            "-enc_time_base:v", "1:1000000",
            "-f", "nut", "pipe:1",
        ]  # fmt: skip

    def start_feed(self, t0: float) -> VideoFeed:
        self.stop_feed()
        enc = self._settings()
        read_fd, write_fd = os.pipe()
        try:
            self._proc = subprocess.Popen(
                self.argv(enc, self._flaws()), stdin=subprocess.DEVNULL, stdout=write_fd,
                stderr=subprocess.DEVNULL, preexec_fn=child_preexec,
            )  # fmt: skip
        except OSError as e:
            os.close(read_fd)
            raise CameraError(f"cannot start the test pattern: {e.strerror}") from None
        finally:
            os.close(write_fd)
        self._read_fd = read_fd
        return VideoFeed(read_fd, enc.width, enc.height, enc.fps, t0)

    def available(self) -> bool:
        import shutil

        return shutil.which(self._ffmpeg) is not None

    def feed_alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop_feed(self) -> None:
        # Close the read end first: a generator blocked writing into a full
        # pipe only notices SIGTERM once its write fails.
        if self._read_fd is not None:
            os.close(self._read_fd)
            self._read_fd = None
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self) -> None:
        self.stop_feed()
