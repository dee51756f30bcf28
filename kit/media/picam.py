"""The Raspberry Pi camera through picamera2: one Picamera2 for the daemon's life.

The camera is configured once, in portrait: mounted upright, the ISP crops a
centred 9:16 window of the sensor (``ScalerCrop``) and scales it; mounted
sideways, it delivers the sensor's landscape picture and ffmpeg turns it
(``transpose``), which costs CPU (see the README's figures). Frames go out as
raw YUV420 through picamera2's plain ``Encoder`` into a pipe that ffmpeg reads
and encodes (hardware ``h264_v4l2m2m`` on a Pi 4, x264 on a Pi 5), so the
daemon only hands buffers over and never touches pixels.

picamera2 and libcamera are imported lazily, inside the constructor: they
exist only on a Pi, and importing them is slow on a small one.
"""

from __future__ import annotations

import importlib
import io
import logging
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from kit.media.camera import CameraError
from kit.media.pipeline import VideoFeed
from kit.messages import Message, define

log = logging.getLogger(__name__)

Mount = Literal["upright", "left", "right"]


@dataclass(frozen=True)
class Plan:
    """How to get a portrait picture of ``out`` size from a sensor."""

    capture: tuple[int, int]  # size the ISP delivers
    crop: tuple[int, int, int, int]  # ScalerCrop in sensor pixels: x, y, w, h
    rotate: Literal[0, 90, 270]


def plan(sensor: tuple[int, int], out: tuple[int, int], mount: Mount) -> Plan:
    """Pure: the capture size, the sensor crop and the turn for a portrait ``out``.

    Upright: the largest centred window of the sensor with the output's
    aspect (9:16), scaled by the ISP. Sideways: the largest centred landscape
    window (16:9), captured at out's size turned, then turned by ffmpeg.
    """
    sw, sh = sensor
    ow, oh = out
    if mount == "upright":
        target_w, target_h = ow, oh
        rotate: Literal[0, 90, 270] = 0
    else:
        target_w, target_h = oh, ow
        # Mounted with its top to the left, the picture must turn clockwise.
        rotate = 90 if mount == "left" else 270
    # Largest window of the target aspect that fits the sensor, even sizes.
    if sw * target_h >= sh * target_w:
        ch = sh - sh % 2
        cw = (ch * target_w // target_h) // 2 * 2
    else:
        cw = sw - sw % 2
        ch = (cw * target_h // target_w) // 2 * 2
    x, y = (sw - cw) // 2, (sh - ch) // 2
    return Plan((target_w, target_h), (x, y, cw, ch), rotate)


LIGHT_DARK_LUX = define(
    "check.light.dark_lux", "Too dark ({lux} lux): switch the ring light on or add light."
)
LIGHT_DARK = define(
    "check.light.dark", "Too dark: the camera is at its longest exposure. Add light."
)
LIGHT_OK_LUX = define("check.light.ok_lux", "Enough light ({lux} lux).")
LIGHT_OK = define("check.light.ok", "Enough light (exposure normal).")


def light_level(meta: dict[str, Any]) -> tuple[str, Message]:
    """Pure: ('ok'|'warn', message) from the camera's own metadata; ``str(message)`` is
    the English, its id and values are for the page.

    ``Lux`` is the ISP's estimate of the scene's brightness; a long exposure
    with a high analogue gain means the camera is struggling even if no lux
    estimate is given.
    """
    lux = meta.get("Lux")
    exposure_us = meta.get("ExposureTime") or 0
    gain = meta.get("AnalogueGain") or 1.0
    if lux is not None and lux < 30:
        return "warn", LIGHT_DARK_LUX(lux=f"{lux:.0f}")
    if exposure_us >= 30000 and gain >= 8:
        return "warn", LIGHT_DARK()
    return "ok", LIGHT_OK_LUX(lux=f"{lux:.0f}") if lux is not None else LIGHT_OK()


class PiCamera:
    """A CameraSource on picamera2 (see kit.media.camera.CameraSource)."""

    def __init__(
        self,
        width: int,
        height: int,
        fps: int,
        mount: Mount = "upright",
        hflip: bool = False,
        vflip: bool = False,
        camera_num: int = 0,
        ffmpeg_bin: str = "ffmpeg",
        mode: Callable[[], tuple[int, int, int]] | None = None,
    ) -> None:
        """`mode` gives (width, height, fps) wanted now; each feed starts in that mode."""
        try:
            picamera2 = importlib.import_module("picamera2")
            self._encoders = importlib.import_module("picamera2.encoders")
            self._outputs = importlib.import_module("picamera2.outputs")
            libcamera = importlib.import_module("libcamera")
        except ImportError as e:
            raise CameraError(f"picamera2 is not installed ({e.name}): run install.sh") from None
        self._ffmpeg = ffmpeg_bin
        self._libcamera = libcamera
        self._mount, self._hflip, self._vflip = mount, hflip, vflip
        self._mode = mode
        try:
            self._cam = picamera2.Picamera2(camera_num)
        except (IndexError, RuntimeError) as e:
            raise CameraError(f"no camera found ({e}): check the ribbon cable") from None
        self._encoder: Any = None
        self._read_fd: int | None = None
        self._configure(width, height, fps)

    def _configure(self, width: int, height: int, fps: int) -> None:
        """Configure and start the camera for a portrait picture of width x height."""
        libcamera = self._libcamera
        self.width, self.height, self.fps = width, height, fps
        sensor = tuple(self._cam.camera_properties["PixelArraySize"])
        self.plan = plan((int(sensor[0]), int(sensor[1])), (width, height), self._mount)
        controls: dict[str, Any] = {"FrameRate": float(fps), "ScalerCrop": self.plan.crop}
        if "AfMode" in self._cam.camera_controls:  # Camera Module 3 has autofocus
            controls["AfMode"] = libcamera.controls.AfModeEnum.Continuous
        config = self._cam.create_video_configuration(
            main={"size": self.plan.capture, "format": "YUV420"},
            transform=libcamera.Transform(hflip=int(self._hflip), vflip=int(self._vflip)),
            controls=controls,
        )
        self._cam.configure(config)
        main = self._cam.camera_configuration()["main"]
        self._stride = int(main["stride"])
        self._cam.start()
        log.info(
            "camera %s: sensor %dx%d, capture %dx%d (stride %d), crop %s, turn %d°, %d fps",
            self._cam.camera_properties.get("Model", "?"),
            *sensor,
            *self.plan.capture,
            self._stride,
            self.plan.crop,
            self.plan.rotate,
            fps,
        )

    def available(self) -> bool:
        return True

    def start_feed(self) -> VideoFeed:
        self.stop_feed()
        if self._mode is not None:
            # The page may have changed the video preset since the camera was set up:
            # capture at the size and rate that will be encoded, never scale up.
            wanted = self._mode()
            if wanted != (self.width, self.height, self.fps):
                self._cam.stop()
                try:
                    self._configure(*wanted)
                except Exception as e:
                    raise CameraError(f"the camera cannot switch to {wanted}: {e}") from None
        read_fd, write_fd = os.pipe()
        # Unbuffered: each frame is one write of the whole buffer.
        pipe = os.fdopen(write_fd, "wb", buffering=0)
        encoder = self._encoders.Encoder()
        try:
            self._cam.start_encoder(encoder, self._outputs.FileOutput(pipe))
        except Exception as e:
            pipe.close()
            os.close(read_fd)
            raise CameraError(f"the camera cannot start: {e}") from None
        self._encoder, self._read_fd = encoder, read_fd
        w, h = self.plan.capture
        return VideoFeed(
            read_fd, "rawvideo", w, h, self.fps, stride=self._stride, rotate=self.plan.rotate
        )

    def feed_alive(self) -> bool:
        return self._encoder is not None and bool(self._encoder.running)

    def stop_feed(self) -> None:
        if self._read_fd is not None:
            os.close(self._read_fd)  # the encoder's next write fails instead of blocking
            self._read_fd = None
        encoder, self._encoder = self._encoder, None
        if encoder is not None and encoder.running:
            try:
                self._cam.stop_encoder(encoder)
            except Exception:  # the pipe is gone; stopping must still release the camera
                log.exception("stopping the camera's feed")

    def snapshot(self) -> bytes:
        """A JPEG of the current frame, taken without interrupting the stream."""
        frame = self._cam.capture_array("main")
        w, h = self.plan.capture
        turn = {0: [], 90: ["transpose=1"], 270: ["transpose=2"]}[self.plan.rotate]
        vf = ",".join([f"crop={w}:{h}:0:0", *turn])
        r = subprocess.run(
            [self._ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "rawvideo",
             "-pix_fmt", "yuv420p", "-s", f"{self._stride}x{h}", "-i", "pipe:0",
             "-vf", vf, "-frames:v", "1", "-f", "mjpeg", "pipe:1"],
            input=_as_bytes(frame), capture_output=True, timeout=10,
        )  # fmt: skip
        if r.returncode != 0 or not r.stdout:
            raise CameraError("the camera's snapshot could not be made")
        return r.stdout

    def light(self) -> tuple[str, Message]:
        return light_level(self._cam.capture_metadata())

    def close(self) -> None:
        self.stop_feed()
        try:
            self._cam.stop()
        finally:
            self._cam.close()


def _as_bytes(frame: Any) -> bytes:
    if isinstance(frame, (bytes, bytearray, memoryview)):
        return bytes(frame)
    buf = io.BytesIO()
    buf.write(frame.tobytes())  # a numpy array on a Pi
    return buf.getvalue()
