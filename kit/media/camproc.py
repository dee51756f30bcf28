"""The camera process: picamera2 in a process of its own, driven over a socket.

libcamera and picamera2 can crash or hang, and they hold numpy and tens of MB: in the
daemon they would take the page, the button and the hotspot down with them. This
process holds them instead, only while something needs the camera (the checks, the
preview, a broadcast), and the daemon (kit.media.camclient) supervises it like ffmpeg.

It encodes where it costs least and copies no pixel: on a Pi 4, picamera2's
``H264Encoder`` hands the camera's own buffers to the hardware encoder; elsewhere (a
Pi 5 has no H.264 hardware) ``LibavH264Encoder`` has x264 read the buffer in place.
The H.264 leaves in NUT through ffmpeg's own ``pipe:`` protocol into the fd the daemon
passed, each frame stamped with the camera's ``SensorTimestamp`` moved to
CLOCK_REALTIME (the clock ffmpeg's ALSA input stamps the sound with), SPS/PPS in the
header and again with every keyframe.

The protocol: SOCK_SEQPACKET, one JSON object per message, file descriptors passed
alongside (SCM_RIGHTS). The daemon sends ``{"op": ...}`` requests one at a time and
reads one ``{"ok": ...}`` reply for each; the process may send ``{"event": ...}`` at
any time (the feed stalled or broke). It exits when the socket closes, so it never
outlives the daemon.

Imports nothing of the kit's but kit.media.sensor: it runs with the Python that has
picamera2 (on a Pi the system's, in the tests the camera rig's).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import socket
import sys
import threading
import time
from fractions import Fraction
from typing import Any

from kit.media.sensor import Mode, choose_mode, plan

log = logging.getLogger("kit.camera")

# No frame for this long (and at least 4 frame times) while a feed runs: the camera
# has stopped (a loose ribbon, a hung sensor). The daemon hears it within a second.
STALL_S = 0.5
MAX_MESSAGE = 1 << 16
# How far ffmpeg may fall behind reading the feed before packets are dropped (to the next
# keyframe): the camera's own thread never waits on ffmpeg (see FrameQueue).
BEHIND_S = 1.0
# A feed may start on a frame taken this long before its ffmpeg run's time 0 (that
# frame's time is then a little below 0: ffmpeg's muxers shift both streams alike).
START_SLACK_US = 500_000


class Failure(Exception):
    """A request that cannot be done; ``reason`` is one of missing, busy, failed."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def realtime_offset_us() -> int:
    """CLOCK_REALTIME minus the sensor's clock (CLOCK_MONOTONIC: the V4L2 buffer
    timestamps libcamera reports as SensorTimestamp on a Pi), in microseconds."""
    # Read the realtime clock between two reads of the monotonic one: the error is
    # at most the gap between those, a few microseconds.
    a = time.monotonic_ns()
    r = time.time_ns()
    b = time.monotonic_ns()
    return (r - (a + b) // 2) // 1000


def split_parameter_sets(data: bytes) -> bytes:
    """The SPS and PPS NAL units (Annex B, start codes kept) at the head of a keyframe."""
    out = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        start = i + 3
        nxt = data.find(b"\x00\x00\x01", start)
        end = len(data) if nxt < 0 else nxt
        nal_type = data[start] & 0x1F if start < len(data) else 0
        if nal_type in (7, 8):
            body = data[start:end].rstrip(b"\x00")
            out.append(b"\x00\x00\x00\x01" + body)
        elif nal_type in (1, 5):
            break  # the picture itself: the parameter sets come before it
        i = nxt
    return b"".join(out)


class FrameQueue:
    """Packets from the camera's thread to the writer's, so that the camera never waits
    on ffmpeg.

    picamera2 calls an Output from the thread that runs the camera (LibavH264Encoder
    encodes there; H264Encoder's output thread holds the V4L2 buffers it returns): an
    Output that blocked on a full pipe, ffmpeg hung or slow, would stop the camera too,
    and the camera would be reported stalled with nothing wrong with it. Here a reader
    more than `limit` packets behind loses packets up to the next keyframe that finds
    room (a decoder can start again only from one); ``dropped`` counts them.
    """

    def __init__(self, limit: int) -> None:
        self._limit = max(2, limit)
        self._items: list[Any] = []
        self._cond = threading.Condition()
        self._closed = False
        self._skipping = False
        self.dropped = 0

    def put(self, item: Any, keyframe: bool) -> bool:
        """Queue ``item``; False if it was dropped. Never blocks."""
        with self._cond:
            if self._closed:
                return False
            if len(self._items) >= self._limit:
                self._skipping = True
            elif keyframe:
                self._skipping = False
            if self._skipping:
                self.dropped += 1
                return False
            self._items.append(item)
            self._cond.notify()
            return True

    def get(self) -> Any:
        """The oldest item, waiting for one; None once closed and drained."""
        with self._cond:
            self._cond.wait_for(lambda: self._items or self._closed)
            return self._items.pop(0) if self._items else None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class SeamOutput:
    """A picamera2 Output: H.264 packets into NUT on a pipe, stamped in CLOCK_REALTIME µs.

    Made a subclass of picamera2's Output at run time (``make_output``), so this module
    imports without picamera2 for its tests of the pure parts.
    """

    def __init__(
        self,
        fd: int,
        t0: float,
        size: tuple[int, int],
        fps: float,
        on_broken: Any,
        on_frame: Any,
    ) -> None:
        self._fd = fd
        self._t0_us = int(t0 * 1_000_000)
        self._size = size
        self._fps = fps
        self._on_broken = on_broken
        self._on_frame = on_frame
        self._offset_us = realtime_offset_us()
        self._container: Any = None
        self._stream: Any = None
        self._started = False
        self._dead = False
        self.encoder: Any = None  # set by the caller: its firsttimestamp anchors ours
        self.frames = 0
        self._queue = FrameQueue(round(fps * BEHIND_S))
        # The writer owns the container and the fd from start() on: it alone blocks on
        # the pipe, and it alone closes them (a hung ffmpeg holds it until it is killed).
        self._writer = threading.Thread(target=self._write, name="seam", daemon=True)

    def frame_time_us(self, timestamp: int) -> int:
        """picamera2 gives times since the encoder's first frame; ours are absolute."""
        first = getattr(self.encoder, "firsttimestamp", None) or 0
        return first + int(timestamp) + self._offset_us

    def outputframe(
        self,
        frame: bytes,
        keyframe: bool = True,
        timestamp: int | None = None,
        packet: Any = None,
        audio: bool = False,
    ) -> None:
        if audio or self._dead or timestamp is None:
            return
        self._on_frame()
        pts = self.frame_time_us(timestamp)
        if not self._started:
            # Start on a keyframe taken about time 0 of the ffmpeg run. A new encoder's
            # first frame is its only keyframe for a GOP (2 s), and it may have been taken
            # a few frames before time 0 (buffers queued in the camera): refusing it left
            # ffmpeg without a picture until the next keyframe, up to 2 s after a restart.
            if not keyframe or pts < self._t0_us - START_SLACK_US:
                return
            self._started = True
        queued = self._queue.put((bytes(frame), pts, keyframe), keyframe)
        if not queued and self._queue.dropped % 30 == 1:
            log.warning("ffmpeg is not reading the feed: %d packets dropped", self._queue.dropped)

    def _write(self) -> None:
        import av

        try:
            while (item := self._queue.get()) is not None:
                frame, pts, keyframe = item
                if self._container is None:
                    self._open(frame)
                pkt = av.Packet(frame)
                pkt.pts = pkt.dts = pts
                pkt.time_base = Fraction(1, 1_000_000)
                pkt.is_keyframe = keyframe
                pkt.stream = self._stream
                self._container.mux(pkt)
                self.frames += 1
        except Exception as e:  # the reader (ffmpeg) went away
            self._queue.close()
            self._broken(e)
        finally:
            if self._container is not None:
                with contextlib.suppress(Exception):
                    self._container.close()
            with contextlib.suppress(OSError):
                os.close(self._fd)

    def _open(self, first_keyframe: bytes) -> None:
        import av

        # ffmpeg's own pipe: protocol writes straight to the fd: no Python file object
        # on the path of every packet. Each packet is flushed: libav would otherwise
        # hold 32 KB before writing, seconds of a still, dark or simple picture at a
        # few hundred bytes a frame, and ffmpeg would start (and restart) that late.
        self._container = av.open(
            f"pipe:{self._fd}", "w", format="nut", container_options={"flush_packets": "1"}
        )
        stream = self._container.add_stream(
            "h264", rate=Fraction(self._fps).limit_denominator(1000)
        )
        stream.width, stream.height = self._size
        stream.time_base = Fraction(1, 1_000_000)
        stream.codec_context.extradata = split_parameter_sets(first_keyframe)
        self._stream = stream

    def _broken(self, e: Exception) -> None:
        self._dead = True
        log.warning("the feed's reader went away (%s)", e)
        self._on_broken(str(e))

    # picamera2's Output interface
    def start(self) -> None:
        self._writer.start()

    def stop(self) -> None:
        self._queue.close()
        if self._writer.is_alive():
            # Drained and closed by the writer; one stuck on a hung ffmpeg ends when the
            # supervisor kills that ffmpeg (the write fails), not here.
            self._writer.join(timeout=1.0)
        elif self._writer.ident is None:  # never started: the fd is still ours
            with contextlib.suppress(OSError):
                os.close(self._fd)


def make_output(*args: Any, **kwargs: Any) -> Any:
    """A SeamOutput that is also a picamera2 Output (its recording flag and pts file)."""
    from picamera2.outputs import Output

    class _Seam(SeamOutput, Output):  # type: ignore[misc]
        def __init__(self) -> None:
            Output.__init__(self)
            SeamOutput.__init__(self, *args, **kwargs)

        def start(self) -> None:
            Output.start(self)
            SeamOutput.start(self)

        def stop(self) -> None:
            Output.stop(self)
            SeamOutput.stop(self)

    return _Seam()


def yuv420_image(array: Any, width: int, height: int) -> Any:
    """A PIL image from picamera2's YUV420 array: the Y plane, then U and V, each row
    padded to the stride (BT.601 limited range, as the Pi's ISP gives for video)."""
    import numpy as np
    from PIL import Image

    stride = array.shape[1]
    y = array[:height, :width].astype(np.float32)
    quarter = height // 4
    u = array[height : height + quarter].reshape(height // 2, stride // 2)[:, : width // 2]
    v = array[height + quarter : height + 2 * quarter].reshape(height // 2, stride // 2)
    v = v[:, : width // 2]
    u = np.repeat(np.repeat(u.astype(np.float32) - 128, 2, axis=0), 2, axis=1)
    v = np.repeat(np.repeat(v.astype(np.float32) - 128, 2, axis=0), 2, axis=1)
    y = (y - 16) * 1.164
    rgb = np.stack([y + 1.596 * v, y - 0.392 * u - 0.813 * v, y + 2.017 * u], axis=-1)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


class Camera:
    """picamera2, one camera, driven by the requests below."""

    def __init__(self, camera_num: int, emit: Any) -> None:
        self._num = camera_num
        self._emit = emit
        self._cam: Any = None
        self._libcamera: Any = None
        self._config: dict[str, Any] | None = None
        self._encoder: Any = None
        self._last_frame = 0.0
        self._frame_s = 1 / 30
        self._stalled = False
        self._lock = threading.Lock()
        self._offset_us = 0
        self._sync_pattern = False
        threading.Thread(target=self._watch, name="camera-watch", daemon=True).start()

    # -- requests ---------------------------------------------------------------

    def open(self) -> dict[str, Any]:
        if self._cam is not None:
            return self._describe()
        try:
            import libcamera
            import picamera2
        except ImportError as e:
            raise Failure("failed", f"picamera2 is not installed ({e.name})") from None
        self._libcamera = libcamera
        try:
            cameras = picamera2.Picamera2.global_camera_info()
        except Exception as e:
            raise Failure("failed", f"libcamera cannot list cameras: {e}") from None
        if len(cameras) <= self._num:
            raise Failure("missing", "no camera found")
        try:
            self._cam = picamera2.Picamera2(self._num)
        except Exception as e:
            # picamera2 says "Camera __init__ sequence did not complete." and chains what
            # went wrong: libcamera refusing a camera another program holds is EBUSY
            # ("Failed to acquire camera: Device or resource busy").
            first = e.__cause__ or e.__context__ or e
            busy = "busy" in str(first).lower() or "acquire" in str(first).lower()
            raise Failure("busy" if busy else "failed", str(first)) from None
        return self._describe()

    def _describe(self) -> dict[str, Any]:
        props = self._cam.camera_properties
        return {"model": str(props.get("Model", "?")), "sensor": list(props["PixelArraySize"])}

    def configure(self, req: dict[str, Any]) -> dict[str, Any]:
        self.open()
        want = {k: req[k] for k in ("width", "height", "fps", "mount", "hflip", "vflip")}
        if self._config is not None and self._config["want"] == want:
            return self._config["said"]
        cam, libcamera = self._cam, self._libcamera
        self._stop_feed()
        cam.stop()
        sensor = tuple(int(v) for v in cam.camera_properties["PixelArraySize"])
        p = plan(sensor, (want["width"], want["height"]), want["mount"])  # type: ignore[arg-type]
        modes = [Mode.from_picamera2(m) for m in cam.sensor_modes if "bit_depth" in m]
        mode = choose_mode(modes, sensor, float(want["fps"]))  # type: ignore[arg-type]
        controls: dict[str, Any] = {"FrameRate": float(want["fps"]), "ScalerCrop": p.crop}
        if "AfMode" in cam.camera_controls:  # Camera Module 3 has autofocus
            controls["AfMode"] = libcamera.controls.AfModeEnum.Continuous
        config = cam.create_video_configuration(
            main={"size": p.capture, "format": "YUV420"},
            sensor={"output_size": mode.size, "bit_depth": mode.bit_depth},
            transform=libcamera.Transform(hflip=int(want["hflip"]), vflip=int(want["vflip"])),
            controls=controls,
        )
        cam.configure(config)
        cam.pre_callback = self._pre_callback
        cam.start()
        # The rate the camera really runs at, from its own frames: never assumed.
        meta = cam.capture_metadata()
        duration = int(meta.get("FrameDuration") or round(1e6 / want["fps"]))
        self._frame_s = duration / 1e6
        said = {
            "width": p.capture[0],
            "height": p.capture[1],
            "rotate": p.rotate,
            "fps": round(1e6 / duration, 3),
            "frame_duration_us": duration,
            "sensor_mode": list(mode.size),
            "mode_fps": mode.fps,
            "crop": list(p.crop),
            "stride": int(cam.camera_configuration()["main"]["stride"]),
        }
        log.info("camera configured: %s", said)
        self._config = {"want": want, "said": said}
        return said

    def feed(self, req: dict[str, Any], fd: int) -> dict[str, Any]:
        said = self.configure(req)
        self._stop_feed()
        from picamera2 import encoders

        fps = float(said["fps"])
        # PyAV takes a rate as a whole number or a fraction, not a float.
        rate = Fraction(fps).limit_denominator(1001)
        gop = max(1, round(fps * int(req["keyframe_seconds"])))
        bitrate = int(req["bitrate_kbps"]) * 1000
        hardware = req.get("encoder", "auto")
        if hardware == "auto":
            hardware = "h264_v4l2m2m" if os.path.exists("/dev/video11") else "libx264"
        if hardware == "h264_v4l2m2m":
            encoder = encoders.H264Encoder(
                bitrate=bitrate, repeat=True, iperiod=gop, framerate=rate, profile="high"
            )
        else:
            encoder = encoders.LibavH264Encoder(
                bitrate=bitrate, repeat=True, iperiod=gop, framerate=rate
            )
            encoder.preset = req.get("x264_preset") or "ultrafast"
        self._sync_pattern = bool(req.get("sync_pattern"))
        output = make_output(
            fd,
            float(req["t0"]),
            (said["width"], said["height"]),
            fps,
            self._broken,
            self._frame_arrived,
        )
        output.encoder = encoder
        self._offset_us = realtime_offset_us()
        with self._lock:
            self._stalled = False
            self._last_frame = time.monotonic() + 2.0  # grace for the encoder to start
        try:
            self._cam.start_encoder(encoder, output)
        except Exception as e:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise Failure("failed", f"the encoder cannot start: {e}") from None
        self._encoder = encoder
        return {**said, "encoder": type(encoder).__name__}

    def stop_feed(self) -> dict[str, Any]:
        self._stop_feed()
        return {}

    def _stop_feed(self) -> None:
        encoder, self._encoder = self._encoder, None
        if encoder is not None:
            with contextlib.suppress(Exception):
                self._cam.stop_encoder(encoder)

    def snapshot(self, fd: int) -> dict[str, Any]:
        """A JPEG of the current frame into the memfd passed, without stopping a feed."""
        if self._config is None:
            raise Failure("failed", "the camera is not configured")
        said = self._config["said"]
        image = yuv420_image(self._cam.capture_array("main"), said["width"], said["height"])
        if said["rotate"]:
            image = image.rotate(-said["rotate"], expand=True)
        with os.fdopen(fd, "wb", closefd=False) as f:
            image.save(f, format="JPEG", quality=80)
        return {}

    def light(self) -> dict[str, Any]:
        if self._config is None:
            raise Failure("failed", "the camera is not configured")
        meta = self._cam.capture_metadata()
        return {k: meta.get(k) for k in ("Lux", "ExposureTime", "AnalogueGain")}

    def close(self) -> None:
        self._stop_feed()
        if self._cam is not None:
            with contextlib.suppress(Exception):
                self._cam.stop()
            with contextlib.suppress(Exception):
                self._cam.close()
            self._cam = None

    # -- frames -----------------------------------------------------------------

    def _pre_callback(self, request: Any) -> None:
        """With the sync pattern on, the frame the sensor took nearest each whole
        second of the wall clock is made white, as if a flash went off in front of it."""
        if not self._sync_pattern:
            return
        ts = request.get_metadata().get("SensorTimestamp")
        if ts is None:
            return
        t = (ts // 1000 + self._offset_us) / 1e6
        if abs(t - round(t)) < self._frame_s / 2:
            from picamera2 import MappedArray

            with MappedArray(request, "main") as m:
                m.array[:] = 255

    def _frame_arrived(self) -> None:
        with self._lock:
            self._last_frame = time.monotonic()
            if self._stalled:
                self._stalled = False
                self._emit({"event": "resumed"})

    def _broken(self, why: str) -> None:
        self._emit({"event": "broken", "error": why})

    def _watch(self) -> None:
        while True:
            time.sleep(0.1)
            with self._lock:
                if self._encoder is None or self._stalled:
                    continue
                quiet = time.monotonic() - self._last_frame
                if quiet <= max(STALL_S, 4 * self._frame_s):
                    continue
                self._stalled = True
            log.warning("no frame from the camera for %.1f s", quiet)
            self._emit({"event": "stalled", "quiet_s": round(quiet, 2)})


def serve(sock: socket.socket, camera_num: int) -> None:
    send_lock = threading.Lock()

    def send(msg: dict[str, Any]) -> None:
        with send_lock, contextlib.suppress(OSError):
            sock.send(json.dumps(msg).encode())

    camera = Camera(camera_num, send)
    try:
        while True:
            data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, 4)
            if not data:
                return  # the daemon is gone: so is the camera
            req = json.loads(data)
            op = req.get("op")
            fd = fds[0] if fds else -1
            try:
                if op == "open":
                    said = camera.open()
                elif op == "configure":
                    said = camera.configure(req)
                elif op == "feed":
                    said = camera.feed(req, fd)
                elif op == "stop_feed":
                    said = camera.stop_feed()
                elif op == "snapshot":
                    said = camera.snapshot(fd)
                elif op == "light":
                    said = camera.light()
                elif op == "close":
                    send({"ok": True})
                    return
                else:
                    raise Failure("failed", f"unknown request {op!r}")
                send({"ok": True, **said})
            except Failure as e:
                send({"ok": False, "reason": e.reason, "error": str(e)})
            except Exception as e:  # one request's failure is told, the process goes on
                log.exception("camera request %s", op)
                send({"ok": False, "reason": "failed", "error": f"{type(e).__name__}: {e}"})
    finally:
        camera.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kit-camera", description=__doc__)
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--camera", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="camera: %(levelname)s %(message)s", stream=sys.stderr
    )
    sock = socket.socket(fileno=args.control_fd)
    serve(sock, args.camera)
    return 0


if __name__ == "__main__":
    sys.exit(main())
