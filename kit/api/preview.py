"""A preview frame for framing the picture, while idle.

In simulation: one JPEG of the same test pattern the simulated camera sends
(ffmpeg's testsrc2), made at a phone's size. A real camera's snapshot belongs
to its backend (a later issue) and plugs in here as another callable.
"""

from __future__ import annotations

import subprocess
import threading
import time


class TestPatternSnapshot:
    """One frame, remade at most every ``max_age`` seconds."""

    __test__ = False

    def __init__(self, width: int = 360, height: int = 640, ffmpeg_bin: str = "ffmpeg",
                 max_age: float = 2.0) -> None:  # fmt: skip
        self._argv = [
            ffmpeg_bin, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=1",
            "-frames:v", "1", "-q:v", "5", "-f", "mjpeg", "pipe:1",
        ]  # fmt: skip
        self._max_age = max_age
        self._lock = threading.Lock()
        self._at = -1e9
        self._jpeg: bytes | None = None

    def __call__(self) -> bytes | None:
        with self._lock:
            if time.monotonic() - self._at < self._max_age:
                return self._jpeg
            try:
                out = subprocess.run(self._argv, capture_output=True, timeout=10, check=True)
                self._jpeg = out.stdout or None
            except (OSError, subprocess.SubprocessError):
                self._jpeg = None
            self._at = time.monotonic()
            return self._jpeg
