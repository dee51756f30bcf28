"""The daemon's side of the camera process (kit.media.camproc): a CameraSource.

The process is started when something needs the camera (the checks, the preview, a
broadcast) and stopped when nothing has for a while, so the camera, picamera2 and
numpy are not held by a kit that sits idle. A crash of libcamera or picamera2 ends
that process only: the daemon sees the socket close, says so, and starts a new one
at the next need. A missing or busy camera is a sentence for the checks and the page,
never an exit of the daemon.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kit.media.camera import CameraError
from kit.media.pipeline import Encode, VideoFeed
from kit.messages import Message, define

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
# The camera and its process are let go after this long without a use.
IDLE_S = 60.0
# Opening the camera, configuring it (which reads every sensor mode) and the
# first frames take a few seconds on a Pi.
REQUEST_TIMEOUT_S = 20.0

MISSING = define(
    "camera.missing",
    # A Pi finds its camera only when it starts, and a ribbon cable must not be moved
    # with the power on: so switch off, then on, rather than "restart".
    "No camera found: switch the kit off, push the ribbon cable fully into the camera and "
    "the Pi (contacts the right way round), then switch it on again.",
)
BUSY = define(
    "camera.busy",
    "The camera is in use by another program: stop it (or restart the kit).",
)
FAILED = define("camera.failed", "The camera cannot start ({detail}): restart the kit.")
CRASHED = define(
    "camera.crashed", "The camera's process stopped unexpectedly ({detail}): try again."
)

_SAID = {"missing": MISSING, "busy": BUSY}


class CameraProblem(CameraError):
    """A CameraError with the sentence for the page (``said``) and a reason."""

    def __init__(self, said: Message, reason: str) -> None:
        super().__init__(str(said))
        self.said = said
        self.reason = reason


class CameraProcess:
    """A CameraSource that runs picamera2 in kit.media.camproc."""

    def __init__(
        self,
        settings: Callable[[], Encode],
        mount: str = "upright",
        hflip: bool = False,
        vflip: bool = False,
        python: list[str] | None = None,
        sync_pattern: bool = False,
        encoder: str = "auto",
        idle_s: float = IDLE_S,
    ) -> None:
        """`python` is the argv that runs the Python with picamera2 (default: this one)."""
        self._settings = settings
        self._view = {"mount": mount, "hflip": hflip, "vflip": vflip}
        self._python = python or [sys.executable]
        self._sync_pattern = sync_pattern
        self._encoder = encoder
        self._idle_s = idle_s
        self._lock = threading.RLock()  # one request at a time
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._replies: list[dict[str, Any]] = []
        self._replied = threading.Condition()
        self._reader: threading.Thread | None = None
        self._read_fd: int | None = None
        self._feeding = False
        self._feed_ok = False
        self._feed_problem = ""
        self._last_use = time.monotonic()
        self._problem: CameraProblem | None = None
        self.said: dict[str, Any] = {}
        self._idle = threading.Thread(target=self._idle_watch, name="camera-idle", daemon=True)
        self._closing = threading.Event()
        self._idle.start()

    # -- CameraSource -------------------------------------------------------------

    def available(self) -> bool:
        try:
            with self._lock:
                self._ensure()
                self._configure()
        except CameraError as e:
            log.warning("camera: %s", e)
            return False
        return True

    def problem(self) -> Message | None:
        """What is wrong with the camera, as found by the last attempt; None if nothing."""
        return self._problem.said if self._problem is not None else None

    def start_feed(self, t0: float) -> VideoFeed:
        with self._lock:
            self._stop_feed_locked()
            self._ensure()
            e = self._settings()
            read_fd, write_fd = os.pipe()
            try:
                said = self._request(
                    {
                        "op": "feed",
                        **self._mode(e),
                        "t0": t0,
                        "bitrate_kbps": e.bitrate_kbps,
                        "keyframe_seconds": e.keyframe_seconds,
                        "x264_preset": e.x264_preset,
                        "encoder": self._encoder,
                        "sync_pattern": self._sync_pattern,
                    },
                    fd=write_fd,
                )
            except CameraError:
                os.close(read_fd)
                raise
            finally:
                os.close(write_fd)
            self._read_fd = read_fd
            self._feeding, self._feed_ok, self._feed_problem = True, True, ""
            self.said = said
            log.info(
                "camera feed: %sx%s at %s fps (sensor mode %s), %s",
                said["width"], said["height"], said["fps"], said["sensor_mode"], said["encoder"],
            )  # fmt: skip
            return VideoFeed(
                read_fd, int(said["width"]), int(said["height"]), float(said["fps"]), t0,
                rotate=int(said["rotate"]),  # type: ignore[arg-type]
            )  # fmt: skip

    def feed_alive(self) -> bool:
        with self._replied:
            return self._feed_ok and self._proc is not None and self._proc.poll() is None

    def feed_problem(self) -> str:
        """Why the last feed ended on its own, in a sentence."""
        return self._feed_problem or "the camera stopped delivering video"

    def stop_feed(self) -> None:
        with self._lock:
            self._stop_feed_locked()

    def _stop_feed_locked(self) -> None:
        if self._read_fd is not None:
            os.close(self._read_fd)
            self._read_fd = None
        if self._feeding:
            self._feeding = False
            self._last_use = time.monotonic()
            if not self._feed_ok:
                # It stalled or crashed: the next feed starts with a new process (and a
                # camera opened afresh), not with what is left of this one.
                self._shutdown()
            elif self._alive():
                with contextlib.suppress(CameraError):
                    self._request({"op": "stop_feed"})

    def snapshot(self) -> bytes:
        """A JPEG of what the camera sees now, without interrupting a broadcast."""
        with self._lock:
            self._ensure()
            self._configure()
            fd = os.memfd_create("kit-snapshot")
            try:
                self._request({"op": "snapshot"}, fd=fd)
                os.lseek(fd, 0, os.SEEK_SET)
                chunks = []
                while chunk := os.read(fd, 1 << 20):
                    chunks.append(chunk)
                return b"".join(chunks)
            finally:
                os.close(fd)

    def light(self) -> tuple[str, Message]:
        from kit.media.picam import light_level

        with self._lock:
            self._ensure()
            self._configure()
            meta = self._request({"op": "light"})
        return light_level(meta)

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            self._stop_feed_locked()
            self._shutdown()

    # -- the process --------------------------------------------------------------

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _ensure(self) -> None:
        """Start the process and open the camera, unless that is done."""
        self._last_use = time.monotonic()
        if self._alive() and self._sock is not None:
            return
        self._shutdown()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
        argv = [
            *self._python, "-m", "kit.media.camproc", "--control-fd", str(theirs.fileno()),
        ]  # fmt: skip
        try:
            # Its own session (a Ctrl-C reaches the daemon, which stops it in order); it
            # exits when the socket closes, so it never outlives the daemon.
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),), env=env,
                start_new_session=True,
            )  # fmt: skip
        except OSError as e:
            ours.close()
            raise self._fail("failed", f"cannot start the camera process: {e.strerror}") from None
        finally:
            theirs.close()
        self._sock = ours
        with self._replied:
            self._replies.clear()
        self._reader = threading.Thread(
            target=self._read, args=(ours, self._proc), name="camera-reader", daemon=True
        )
        self._reader.start()
        try:
            self._request({"op": "open"})
        except CameraError:
            self._shutdown()  # no camera, or a busy one: tried again at the next need
            raise
        self._problem = None

    def _mode(self, e: Encode) -> dict[str, Any]:
        return {"width": e.width, "height": e.height, "fps": e.fps, **self._view}

    def _configure(self) -> dict[str, Any]:
        said = self._request({"op": "configure", **self._mode(self._settings())})
        self.said = said
        return said

    def _request(self, req: dict[str, Any], fd: int | None = None) -> dict[str, Any]:
        sock = self._sock
        if sock is None:
            raise self._fail("failed", "the camera process is not running")
        with self._replied:
            self._replies.clear()
        try:
            if fd is None:
                sock.send(json.dumps(req).encode())
            else:
                socket.send_fds(sock, [json.dumps(req).encode()], [fd])
        except OSError as e:
            raise self._crashed(f"cannot reach it ({e.strerror})") from None
        with self._replied:
            done = self._replied.wait_for(
                lambda: self._replies or not self._alive(), REQUEST_TIMEOUT_S
            )
            reply = self._replies.pop(0) if self._replies else None
        if reply is None:
            if done:
                raise self._crashed(f"exit status {self._proc and self._proc.poll()}")
            self._shutdown()  # hung in libcamera: a new process next time
            raise self._fail("failed", f"no answer to {req['op']} in {REQUEST_TIMEOUT_S:.0f} s")
        if not reply.get("ok"):
            raise self._fail(str(reply.get("reason", "failed")), str(reply.get("error", "")))
        return reply

    def _fail(self, reason: str, detail: str) -> CameraProblem:
        said = _SAID[reason]() if reason in _SAID else FAILED(detail=detail)
        if reason in _SAID and detail:
            log.warning("camera %s: %s", reason, detail)
        self._problem = CameraProblem(said, reason)
        return self._problem

    def _crashed(self, detail: str) -> CameraProblem:
        self._problem = CameraProblem(CRASHED(detail=detail), "crashed")
        return self._problem

    def _read(self, sock: socket.socket, proc: subprocess.Popen[bytes]) -> None:
        """The socket's reader: replies to the waiting request, events as they come."""
        while True:
            try:
                data = sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                break
            msg = json.loads(data)
            with self._replied:
                if "event" in msg:
                    self._event(msg)
                else:
                    self._replies.append(msg)
                self._replied.notify_all()
        proc.wait()
        with self._replied:
            if self._feeding and self._feed_ok:
                self._feed_ok = False
                self._feed_problem = f"the camera's process stopped (exit status {proc.returncode})"
                log.warning("camera: %s", self._feed_problem)
            self._replied.notify_all()

    def _event(self, msg: dict[str, Any]) -> None:
        kind = msg["event"]
        if kind == "stalled":
            self._feed_ok = False
            self._feed_problem = f"the camera sent no picture for {msg.get('quiet_s', '?')} s"
        elif kind == "broken":
            self._feed_ok = False
            self._feed_problem = "the video's reader (ffmpeg) went away"
        log.warning("camera: %s", self._feed_problem or kind)

    def _shutdown(self) -> None:
        sock, self._sock = self._sock, None
        proc, self._proc = self._proc, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.send(json.dumps({"op": "close"}).encode())
            sock.close()  # the process exits on the socket's end in any case
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _idle_watch(self) -> None:
        while not self._closing.wait(1.0):
            with self._lock:
                idle = time.monotonic() - self._last_use
                if self._proc is not None and not self._feeding and idle > self._idle_s:
                    log.info("camera idle for %.0f s: letting it go", idle)
                    self._shutdown()
