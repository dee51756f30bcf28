"""Camera sources behind one interface.

A source writes video into a pipe whose read end ffmpeg inherits; frames never
pass through the daemon's Python code. On a Pi, picamera2 fills the pipe (a
later backend); in simulation a small ffmpeg process writes a moving test
pattern in real time, so the encode, the outputs and the recovery downstream
run exactly as on the Pi.

A feed is started for each ffmpeg run and stopped after it: a raw video pipe
that outlived its reader would resume mid-frame for the next one.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from typing import Protocol

from kit.media.pipeline import VideoFeed
from kit.media.proc import child_preexec


class CameraError(RuntimeError):
    """The camera cannot deliver video; the message says what to check."""


class CameraSource(Protocol):
    def start_feed(self) -> VideoFeed:
        """Start writing video into a new pipe; return what ffmpeg must read."""
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


class TestPatternCamera:
    """A moving test pattern at the configured size and rate, paced in real time."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        width: int,
        height: int,
        fps: int,
        ffmpeg_bin: str = "ffmpeg",
        mode: Callable[[], tuple[int, int, int]] | None = None,
    ) -> None:
        """`mode` gives (width, height, fps) wanted now; each feed starts in that mode."""
        self.width, self.height, self.fps = width, height, fps
        self._mode = mode
        self._ffmpeg = ffmpeg_bin
        self._proc: subprocess.Popen[bytes] | None = None
        self._read_fd: int | None = None

    def argv(self) -> list[str]:
        return [
            self._ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
            "-re", "-f", "lavfi",
            "-i", f"testsrc2=size={self.width}x{self.height}:rate={self.fps}",
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1",
        ]  # fmt: skip

    def start_feed(self) -> VideoFeed:
        self.stop_feed()
        if self._mode is not None:
            self.width, self.height, self.fps = self._mode()
        read_fd, write_fd = os.pipe()
        try:
            self._proc = subprocess.Popen(
                self.argv(), stdin=subprocess.DEVNULL, stdout=write_fd,
                stderr=subprocess.DEVNULL, preexec_fn=child_preexec,
            )  # fmt: skip
        except OSError as e:
            os.close(read_fd)
            raise CameraError(f"cannot start the test pattern: {e.strerror}") from None
        finally:
            os.close(write_fd)
        self._read_fd = read_fd
        return VideoFeed(read_fd, "rawvideo", self.width, self.height, self.fps)

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
